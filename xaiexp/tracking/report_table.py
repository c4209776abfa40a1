"""The comparison table of a report: one row per run, or per (run, saliency method), with the
params that tell the runs apart, accuracy and the explanation-quality scores; as Markdown
(3 significant digits, each score with its 95 % interval ``mean ± 1.96·se`` where the Saliency
trace logged its standard error ``<metric>_se``) and CSV (full precision, the ``_se`` columns
as logged)."""

import csv
from dataclasses import dataclass, field

SE_SUFFIX = "_se"  # the Saliency trace's standard error of xai/<method>/<metric>
Z_95 = 1.96  # a normal 95 % interval's half-width, in standard errors


@dataclass(frozen=True)
class Table:
    columns: list
    rows: list  # dicts by column; a missing value is left out
    errors: dict = field(default_factory=dict)  # column -> the column of its standard error

    def markdown(self):
        shown = [c for c in self.columns if c not in self.errors.values()]
        lines = ["| " + " | ".join(map(_escape, shown)) + " |", "|" + "---|" * len(shown)]
        lines += ["| " + " | ".join(_escape(self._cell(row, c)) for c in shown) + " |"
                  for row in self.rows]
        return "\n".join(lines) + "\n"

    def _cell(self, row, column):
        error = row.get(self.errors.get(column))
        if error is None or row.get(column) is None:
            return _short(row.get(column))
        return f"{_short(row[column])} ± {Z_95 * error:.2g}"

    def write_csv(self, path):
        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(file, self.columns)
            writer.writeheader()
            writer.writerows(self.rows)


def differing_params(runs):
    """The param keys whose values are not the same in every run (a sweep's swept keys)."""
    keys = sorted(set().union(*(r.data.params for r in runs)))
    return [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]


def runs_table(selection, mode):
    """Run name, id, status, differing params, ``<mode>/accuracy``, the objective (when it is
    another metric) and every ``<mode>/xai/<method>/<metric>``: one row per run."""
    runs, params = selection.runs, differing_params(selection.runs)
    xai = sorted({name.removeprefix(f"{mode}/") for r in runs for name in r.data.metrics
                  if name.startswith(f"{mode}/xai/")})
    metrics = {"accuracy": f"{mode}/accuracy", **{name: f"{mode}/{name}" for name in xai}}
    if selection.objective not in metrics.values():
        metrics = {"accuracy": metrics.pop("accuracy"), selection.objective: selection.objective, **metrics}
    rows = [{**_identity(run, params), "status": run.info.status, **_values(run, metrics)} for run in runs]
    return Table(["run", "run_id", "status", *params, *metrics], rows, _errors(metrics))


def methods_table(selection, mode):
    """One row per (run, saliency method), its quality metrics pivoted out of
    ``<mode>/xai/<method>/<metric>`` into columns."""
    runs, params = selection.runs, differing_params(selection.runs)
    prefix = f"{mode}/xai/"
    scores = {}  # (run index, method) -> {metric: value}
    for index, run in enumerate(runs):
        for name, value in run.data.metrics.items():
            if name.startswith(prefix) and name.count("/") == 3:
                method, metric = name.removeprefix(prefix).split("/")
                scores.setdefault((index, method), {})[metric] = value
    metrics = sorted({metric for values in scores.values() for metric in values})
    rows = [{**_identity(runs[index], params), "method": method, **values}
            for (index, method), values in sorted(scores.items())]
    return Table(["run", "run_id", *params, "method", *metrics], rows, _errors(metrics))


def _errors(columns):
    """{column: its standard error's column} of the columns that have one."""
    return {c: f"{c}{SE_SUFFIX}" for c in columns if f"{c}{SE_SUFFIX}" in columns}


def _identity(run, params):
    return {"run": run.info.run_name, "run_id": run.info.run_id,
            **{key: run.data.params[key] for key in params if key in run.data.params}}


def _values(run, metrics):
    return {column: run.data.metrics[name] for column, name in metrics.items() if name in run.data.metrics}


def _short(value):
    if value is None:
        return ""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")
