"""How a report's table reads in a terminal: within ``width`` columns, each table whole.

First the runs, one row each: the name (whole where the names differ: the parts every run shares
are said once, above), the params that differ (keys by their last part, numbers by their shortest
spelling), accuracy, the objective, the images shared with the best run. Then the scores: with
``--by runs`` one table per metric, a row per run and a column per saliency method; with ``--by
methods`` a row per run and method, a column per metric. A table wider than ``width`` puts its
intervals under its estimates, and one still wider is cut into tables of fewer columns, each with
the row names. The Markdown and CSV files keep the
report's one wide table (``report_table``).
"""

import re

import pandas as pd

from xaiexp.util.util import short_value
from xaiexp.xai.registry import EXPLANATION, explained_method

SEPARATOR = " · "  # between the parts of a run's name (xaiexp/app/config/params.py)
SHARED = "shared"
RUN_COLUMNS = ("run", "run_id", "status", "accuracy", "method", SHARED)  # not params, not scores
MISSING = ("", "-")  # how a table shows a value a run did not log
INTERVAL = re.compile(r"(\S+) (\[[^]]*\])(.*)")  # a score cell: estimate, interval, mark


def terminal_text(cells: pd.DataFrame, width: int = 100, outputs: str = "saliency") -> str:
    """The report's ``cells`` (``report_table.Table.cells``: one row per run, or per run and
    method with a ``method`` column) as text no wider than ``width``."""
    by_methods = "method" in cells.columns
    runs = cells.drop_duplicates("run_id") if by_methods else cells
    names, shared_parts = distinct_names(list(runs["run"]), list(runs["run_id"]))
    name_of = dict(zip(runs["run_id"], names))
    scores = _score_columns(cells, by_methods)
    summary = runs[[c for c in runs.columns if c not in scores and c not in ("run", "run_id", "method")]]
    summary = summary.drop(columns=[c for c in ("status",) if c in summary and (summary[c] == "FINISHED").all()])
    summary = summary.rename(columns=_short_keys([c for c in summary.columns if c not in RUN_COLUMNS]))
    summary = summary.apply(lambda column: column.map(short_value) if column.name not in RUN_COLUMNS else column)
    parts = [f"every run: {shared_parts}"] if shared_parts else []
    parts.append(fit(pd.concat([pd.Series(names, index=summary.index, name="run"), summary], axis=1), width))
    if by_methods:
        rows = cells.assign(run=[name_of[r] if first else "" for r, first in
                                 zip(cells["run_id"], ~cells["run_id"].duplicated())],
                            method=cells["method"].map(lambda m: _method_name(m, outputs)))
        parts.append(fit(rows[["run", "method", *scores]], width, labels=2))
    else:
        for metric, columns in _by_metric(scores).items():
            block = runs[list(columns)].rename(columns={c: _method_name(columns[c], outputs) for c in columns})
            parts.append(f"{metric}\n" + fit(pd.concat([pd.Series(names, index=block.index, name="run"), block],
                                                       axis=1), width))
    return "\n\n".join(parts)


def distinct_names(names: list, run_ids: list) -> tuple[list, str]:
    """(the runs' names without the parts every name has, those parts joined): a sweep's
    children differ in their swept values, an experiment's runs in what each command line set.
    A name left empty stays whole; names that are the same get their run id's first 8
    characters."""
    split = [str(name).split(SEPARATOR) for name in names]
    common = [part for part in split[0] if all(part in parts for parts in split)] if len(split) > 1 else []
    kept = [SEPARATOR.join(p for p in parts if p not in common) or str(name) for parts, name in zip(split, names)]
    seen = pd.Series(kept).duplicated(keep=False)
    return ([f"{name} ({run_id[:8]})" if twin else name for name, run_id, twin in zip(kept, run_ids, seen)],
            SEPARATOR.join(common))


def fit(frame: pd.DataFrame, width: int, labels: int = 1) -> str:
    """``frame`` as aligned text, its first ``labels`` columns the rows' names. Where it would be
    wider than ``width``, the scores' intervals go on a line of their own under the estimates (as
    a paper's table puts standard errors under coefficients), and only where that is still too
    wide is it cut into several tables of fewer columns, each with the names."""
    text = _text(frame, labels)
    if _widest(text) <= width or frame.shape[1] <= labels + 1:
        return text
    stacked = _stacked(frame, labels)
    if stacked is not None:
        frame, text = stacked, _text(stacked, labels)
        if _widest(text) <= width:
            return text
    names, pieces, current = list(frame.columns[:labels]), [], []
    for column in frame.columns[labels:]:
        if current and _widest(_text(frame[[*names, *current, column]], labels)) > width:
            pieces.append(current)
            current = []
        current.append(column)
    return "\n\n".join(_text(_filled(frame[[*names, *piece]], labels), labels)
                       for piece in [*pieces, current])


def _filled(frame, labels):
    """``frame`` without the rows a cut left with nothing to show (a floor that has no value for
    these metrics), keeping every row that names a run."""
    shown = frame.astype(object).where(frame.notna(), "").astype(str)
    keep = ~shown.iloc[:, labels:].isin(MISSING).all(axis=1) | ~shown.iloc[:, 0].isin(MISSING)
    return frame[keep]


def _stacked(frame, labels):
    """``frame`` with two rows a row: the estimates with their marks, then their intervals
    (``"0.412 [0.37, 0.45] *"`` -> ``"0.412 *"`` over ``"[0.37, 0.45]"``); None without intervals."""
    split = frame.astype(object).map(lambda value: INTERVAL.fullmatch(value) if isinstance(value, str) else None)
    if not split.iloc[:, labels:].notna().any(axis=None):
        return None
    rows = []
    for (_, values), (_, matches) in zip(frame.iterrows(), split.iterrows()):
        rows.append([m[1] + m[3] if m else v for v, m in zip(values, matches)])
        rows.append([m[2] if m else "" for m in matches])
    return pd.DataFrame(rows, columns=frame.columns)


def _text(frame, labels=1):
    """Left-aligned names and text, right-aligned numbers, two spaces between columns."""
    shown = frame.astype(object).where(frame.notna(), "").astype(str)
    widths = [max([len(str(c)), *map(len, shown[c])]) for c in shown.columns]
    numeric = [i >= labels and all(_is_number(v) for v in shown[c] if v not in MISSING)
               for i, c in enumerate(shown.columns)]

    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    rows = (line(list(row)) for row in shown.itertuples(index=False))
    return "\n".join([line([str(c) for c in shown.columns]), *rows])


def _widest(text):
    return max(map(len, text.splitlines()), default=0)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _score_columns(cells, by_methods):
    """The score columns: ``xai/<method>/<metric>`` (by runs), or the metrics after ``method``."""
    if by_methods:
        after = list(cells.columns)[list(cells.columns).index("method") + 1:]
        return [c for c in after if c != SHARED]
    return [c for c in cells.columns if c.startswith(EXPLANATION)]


def _by_metric(scores):
    """{metric: {column: method}} of ``xai/<method>/<metric>`` columns, in their order."""
    grouped = {}
    for column in scores:
        grouped.setdefault(column.split("/", 2)[2], {})[column] = explained_method(column)
    return grouped


def _method_name(method, outputs):
    """``smoothed_saliency`` -> ``smoothed`` (the figure's own maps keep its name)."""
    return method.removesuffix(f"_{outputs}") or method


def _short_keys(keys):
    """{key: its last part} (``schedule.init_lr`` -> ``init_lr``), whole where two would read the
    same."""
    short = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: s if short.count(s) == 1 else key for key, s in zip(keys, short)}
