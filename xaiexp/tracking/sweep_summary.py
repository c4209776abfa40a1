"""The answer of a sweep: its children ranked by the objective, with accuracy and the explanation
scores (named by split, maps and metric: ``eval/saliency/relevance_mass``), as a pandas
DataFrame; printed on the console within 100 columns, and in Markdown on the parent run (its
MLflow description, the ``mlflow.note.content`` tag, and the artifact ``sweep_summary.md``)."""

import pandas

from xaiexp.tracking.best import ranked
from xaiexp.tracking.report.layout import fit
from xaiexp.xai.registry import EXPLANATION, explained_method, explanation_parts, metric_names
from xaiexp.tracking.report.table import SE_SUFFIX

DESCRIPTION_TAG = "mlflow.note.content"  # what the MLflow UI shows as a run's description
SUMMARY_ARTIFACT = "sweep_summary.md"


def explanation_metrics(children, objective):
    """The ``<mode>/xai/<maps>/<metric>`` names shown: those of the objective's maps when the
    objective is an explanation score, else those of the first maps the children logged in the
    objective's mode (the Saliency trace's plain gradient, ``xai/saliency/...``, by default)."""
    mode, _, name = objective.partition("/")
    logged = [key for child in children for key in child.data.metrics
              if key.startswith(f"{mode}/{EXPLANATION}") and key.count("/") == 3 and not key.endswith(SE_SUFFIX)]
    if not logged:
        return []
    parts = {key: explanation_parts(key.partition("/")[2]) for key in logged}  # (maps, metric)
    maps = explained_method(name) or sorted(
        {method for method, _ in parts.values()}, key=lambda m: (m != "saliency", m))[0]
    order = {metric: rank for rank, metric in enumerate(metric_names())}  # the registry's order
    return sorted({key for key in logged if parts[key][0] == maps},
                  key=lambda key: (order.get(parts[key][1], len(order)), key))


def ranking(children, objective, maximize):
    """One row per child, best first by ``objective`` (``best.ranked``: those that cannot be the
    best last, in launch order)."""
    scores = explanation_metrics(children, objective)
    columns = list(dict.fromkeys([objective, "eval/accuracy", "test/accuracy", *scores]))  # objective once
    rows = [{"run": child.info.run_name, "status": child.info.status,
             **{column: child.data.metrics.get(column) for column in columns}}
            for child in ranked(children, objective, maximize)]
    table = pandas.DataFrame(rows, columns=["run", "status", *columns])
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.rename(columns=score_name)


def score_name(column):
    """``eval/xai/saliency/relevance_mass`` -> ``eval/saliency/relevance_mass``: split, maps,
    metric."""
    return column.replace(f"/{EXPLANATION}", "/", 1) if column.count("/") == 3 else column


def parent_description(table, link, objective, maximize):
    """The Markdown description of the sweep's parent run: the best child, then the ranking (the
    MLflow UI shows a description's first lines until "Show more" is clicked)."""
    finished = int((table["status"] == "FINISHED").sum())
    best = table.iloc[0] if finished else None
    head = (f"**Best: {best['run']}** ({objective} {best[score_name(objective)]:.4g})" if best is not None
            else "**No job finished**")
    order = "highest" if maximize else "lowest"
    return "\n".join([f"{head}; {finished} of {len(table)} jobs finished.", "",
                      table.astype(object).where(table.notna(), None).to_markdown(
                          index=False, floatfmt=".4g", missingval="-"), "",
                      f"Ranked by {objective}, {order} first. [This sweep]({link})", ""])


def console_text(table, width=100):
    """The ranking as aligned text, 4 significant digits, within ``width`` columns: the runs with
    their status and accuracy, then their explanation scores under the split and maps they are
    of (``eval · saliency maps``)."""
    if table.empty:
        return " (no job ran)"
    shown = table.astype(object).map(lambda v: "-" if pandas.isna(v) else f"{v:.4g}" if isinstance(v, float) else v)
    scores = [column for column in shown.columns if column.count("/") == 2]
    runs = fit(shown.drop(columns=scores), width, labels=2)
    if not scores:
        return runs
    split, maps, _ = scores[0].split("/")
    named = shown[["rank", "run", *scores]].rename(columns=lambda column: column.rsplit("/", 1)[-1])
    return f"{runs}\n\n{split} · {maps} maps\n{fit(named, width, labels=2)}"
