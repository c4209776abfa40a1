"""The comparison table of a report, built on ``mlflow.search_runs``' DataFrame: one row per run,
or per (run, saliency method), with the params that tell the runs apart, accuracy and the
explanation-quality scores, methods and metrics in the configured order (``explain.methods``,
``explain.metrics``). Shown (Markdown, terminal) as the console shows them, ``0.526 [0.5, 0.55]``:
each score's mean and its 95 % interval (``statistics.score_interval``: exact for 0/1 scores,
Student-t for the others) as the Saliency trace logged it (``<metric>_ci_low``, ``_ci_high``),
else from the run's per-image scores; and ``*`` where it differs from the best run's in a paired
test, its p-value adjusted for the report's other tests (``report_pairs``). The CSV keeps full
precision and the companions the trace logged (``_se``, ``_ci_low``, ``_ci_high``, ``_n``,
``_floor_p``) with the ``_p`` and adjusted ``_q`` columns."""

import ast
from dataclasses import dataclass

import pandas as pd

from xaiexp.tracking.report.layout import terminal_text
from xaiexp.tracking.report.pairs import ALPHA
from xaiexp.xai.registry import (EXPLANATION, explanation_key, metric_key, metric_names,
                                 registered_methods)
from xaiexp.xai.statistics import COMPANIONS, score_interval, shown

SE_SUFFIX = "_se"  # the Saliency trace's standard error of xai/<method>/<metric>
LOW, HIGH, COUNT = "_ci_low", "_ci_high", "_n"  # ... its 95 % interval, and how many images
P_SUFFIX = "_p"  # the paired test's p-value against the best run
Q_SUFFIX = "_q"  # that p-value adjusted for the report's other tests (report_pairs.adjusted)
SIGNIFICANT = "*"
SHARED = "shared"  # column: images a run scored in common with the best run


@dataclass(frozen=True)
class Table:
    """``frame``: full precision (report.csv); ``cells``: its shown columns as text."""

    frame: pd.DataFrame
    cells: pd.DataFrame

    def markdown(self) -> str:
        return self.cells.map(_escape).to_markdown(index=False, disable_numparse=True) + "\n"

    def terminal(self, width: int = 100, outputs: str = "saliency") -> str:
        """The shown table laid out for a terminal of ``width`` columns (``report_layout``)."""
        return terminal_text(self.cells, width, outputs)

    def write_csv(self, path):
        self.frame.to_csv(path, index=False)


def runs_table(frame, objective, mode, outputs="saliency", pairings=None):
    """One row per row of ``frame`` (``mlflow.search_runs``, best run first): run name, id,
    status, differing params, ``<mode>/accuracy``, the ``objective`` (when it is another
    metric) and every ``<mode>/xai/<method>/<metric>``. ``pairings``: each row's
    ``report_pairs.Pairing`` against the first row (None where a run logged no scores)."""
    keys = score_keys(frame, mode, outputs)
    metrics = {"accuracy": f"{mode}/accuracy"}
    if objective != metrics["accuracy"]:
        metrics[objective] = objective
    table = _identity(frame)
    table["status"] = frame["status"]
    table = table.join(_params(frame))
    for column, name in metrics.items():
        table[column] = _metric(frame, name)
    for key in keys:
        _add_score(table, f"{EXPLANATION}{key}", frame, f"{mode}/{EXPLANATION}{key}", key, pairings)
    return _finish(table, pairings)


def methods_table(frame, objective, mode, outputs="saliency", pairings=None):
    """One row per (run, saliency method), its quality metrics pivoted out of
    ``<mode>/xai/<method>/<metric>`` into columns, after the run's accuracy."""
    keys = score_keys(frame, mode, outputs)
    methods = list(dict.fromkeys(key.partition("/")[0] for key in keys))
    metrics = list(dict.fromkeys(key.partition("/")[2] for key in keys))
    base = _identity(frame).join(_params(frame))
    base["accuracy"] = _metric(frame, f"{mode}/accuracy")
    parts = []
    for rank, method in enumerate(methods):
        part = base.assign(method=method, _method=rank)
        for metric in metrics:
            _add_score(part, metric, frame, f"{mode}/{explanation_key(method, metric)}", f"{method}/{metric}",
                       pairings)
        parts.append(part[part[metrics].notna().any(axis=1)])
    table = pd.concat(parts) if parts else base.assign(method=None, _method=0)
    return _finish(table.sort_values(["_row", "_method"], kind="stable").drop(columns="_method"),
                   pairings)


def score_keys(frame, mode, outputs="saliency"):
    """The ``<method>/<metric>`` logged under ``<mode>/xai/`` by any run of ``frame``, methods in
    the runs' ``explain.methods`` order (else the registry's), metrics in ``explain.metrics``
    order (else the registry's); keys neither names come last, sorted."""
    prefix = f"metrics.{mode}/{EXPLANATION}"
    found = [c.removeprefix(prefix) for c in frame.columns if c.startswith(prefix)
             and c.count("/") == 3 and not c.endswith(COMPANIONS)]
    methods = _configured(frame, "explain.methods") or list(registered_methods())
    method_rank = {metric_key(m, outputs): i for i, m in enumerate(methods) if m in registered_methods()}
    metric_rank = {m: i for i, m in enumerate(_configured(frame, "explain.metrics") + list(metric_names()))}
    big = len(method_rank) + len(metric_rank)

    def rank(key):
        method, _, metric = key.partition("/")
        return method_rank.get(method, big), metric_rank.get(metric, big), key

    return sorted(found, key=rank)


def _configured(frame, param):
    """The first run's list-valued param (e.g. "['vanilla', 'smoothgrad']"), as a list."""
    column = f"params.{param}"
    for value in frame.get(column, pd.Series(dtype=object)).dropna():
        try:
            return [str(item) for item in ast.literal_eval(value)]
        except (ValueError, SyntaxError):
            continue
    return []


def _identity(frame):
    return pd.DataFrame({"run": frame.get("tags.mlflow.runName", frame["run_id"]).fillna(frame["run_id"]),
                         "run_id": frame["run_id"], "_row": range(len(frame))}, index=frame.index)


def _params(frame):
    """The params whose values are not the same in every run (a sweep's swept keys), sorted."""
    columns = sorted(c for c in frame.columns if c.startswith("params.")
                     and frame[c].nunique(dropna=False) > 1)
    return frame[columns].rename(columns=lambda c: c.removeprefix("params."))


def _metric(frame, name):
    return frame.get(f"metrics.{name}", pd.Series(float("nan"), index=frame.index))


def with_intervals(frame, scores, mode):
    """``frame`` with every ``<mode>/xai/<key>`` interval the runs did not log (runs from before
    the Saliency trace logged ``_ci_low``, ``_ci_high`` and ``_n``) computed from their per-image
    ``scores`` (one {key: (n,) scores} or None per row), as the trace computes it."""
    frame = frame.copy()
    for row, run_scores in zip(frame.index, scores):
        for key, values in (run_scores or {}).items():
            name = f"metrics.{mode}/{EXPLANATION}{key}"
            logged = frame.at[row, name + LOW] if name + LOW in frame else float("nan")
            if name not in frame or not pd.isna(logged):
                continue
            interval = score_interval(values)
            for suffix, value in ((LOW, interval.low), (HIGH, interval.high), (COUNT, interval.n)):
                if name + suffix not in frame:
                    frame[name + suffix] = float("nan")
                frame.loc[row, name + suffix] = value
    return frame


def _add_score(table, column, frame, name, key, pairings):
    """``column``, its companions (those logged: ``_se``, the interval, ...), ``_p`` and ``_q``
    (against the first run, if paired)."""
    table[column] = _metric(frame, name)
    for suffix in COMPANIONS:
        if f"metrics.{name}{suffix}" in frame:
            table[f"{column}{suffix}"] = _metric(frame, f"{name}{suffix}")
    if pairings and any(p is not None and p.shared for p in pairings[1:]):
        paired = [pairings[row] for row in table["_row"]]
        table[f"{column}{P_SUFFIX}"] = [p.p_values.get(key) if p else None for p in paired]
        table[f"{column}{Q_SUFFIX}"] = [p.q_values.get(key) if p else None for p in paired]


def _finish(table, pairings):
    """The ``shared`` column (when any run logged per-image scores), and the cells."""
    if pairings and any(p is not None for p in pairings):
        table[SHARED] = pd.array([None if pairings[row] is None else pairings[row].shared
                                  for row in table["_row"]], dtype="Int64")
    table = table.drop(columns="_row").reset_index(drop=True)
    missing = [None] * len(table)
    cells = pd.DataFrame({column: [_cell(*values) for values in zip(
        table[column], table.get(f"{column}{LOW}", missing), table.get(f"{column}{HIGH}", missing),
        table.get(f"{column}{Q_SUFFIX}", missing))]
        for column in table.columns if not column.endswith((*COMPANIONS, P_SUFFIX, Q_SUFFIX))})
    return Table(table, cells)


def _cell(value, low=None, high=None, q_value=None):
    """"0.412 [0.37, 0.45] *": the value, its 95 % interval, and the mark of a significant
    difference."""
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, float):
        bounds = [float("nan") if bound is None or pd.isna(bound) else bound for bound in (low, high)]
        text = shown(value, *bounds)
    else:
        text = str(value)
    if q_value is not None and not pd.isna(q_value) and q_value < ALPHA:
        text += f" {SIGNIFICANT}"
    return text


def _escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")
