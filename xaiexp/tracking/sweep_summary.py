"""The answer of a sweep: its children ranked by the objective, with accuracy and the explanation
scores, as a pandas DataFrame; printed on the console, and in Markdown on the parent run (its
MLflow description, the ``mlflow.note.content`` tag, and the artifact ``sweep_summary.md``)."""

import pandas

from xaiexp.tracking.best import ranked
from xaiexp.tracking.report_table import SE_SUFFIX

DESCRIPTION_TAG = "mlflow.note.content"  # what the MLflow UI shows as a run's description
SUMMARY_ARTIFACT = "sweep_summary.md"


def explanation_metrics(children, objective):
    """The ``<mode>/xai/<maps>/<metric>`` names shown: those of the objective's maps when the
    objective is an explanation score, else those of the first maps the children logged in the
    objective's mode (the Saliency trace's plain gradient, ``xai/saliency/...``, by default)."""
    mode, _, name = objective.partition("/")
    logged = [key for child in children for key in child.data.metrics
              if key.startswith(f"{mode}/xai/") and key.count("/") == 3 and not key.endswith(SE_SUFFIX)]
    if not logged:
        return []
    maps = name.split("/")[1] if name.startswith("xai/") else sorted(
        {key.split("/")[2] for key in logged}, key=lambda m: (m != "saliency", m))[0]
    return sorted({key for key in logged if key.split("/")[2] == maps})


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
    table = table.rename(columns=short_name)
    table.attrs["maps"] = scores[0].split("/")[2] if scores else None  # whose scores are shown
    return table


def short_name(column):
    """``eval/xai/saliency/relevance_mass`` -> ``relevance_mass``: the maps are named once, in
    the heading."""
    return column.rsplit("/", 1)[1] if column.count("/") == 3 else column


def describe(table, link, objective, maximize):
    """The Markdown description of the sweep's parent run: the best child, then the ranking (the
    MLflow UI shows a description's first lines until "Show more" is clicked)."""
    finished = int((table["status"] == "FINISHED").sum())
    best = table.iloc[0] if finished else None
    head = (f"**Best: {best['run']}** ({objective} {best[short_name(objective)]:.4g})" if best is not None
            else "**No job finished**")
    order = "highest" if maximize else "lowest"
    maps = f"; explanation scores of the `{table.attrs['maps']}` maps" if table.attrs.get("maps") else ""
    return "\n".join([f"{head}; {finished} of {len(table)} jobs finished.", "",
                      table.astype(object).where(table.notna(), None).to_markdown(
                          index=False, floatfmt=".4g", missingval="-"), "",
                      f"Ranked by {objective}, {order} first{maps}. [This sweep]({link})", ""])


def console_text(table):
    """The ranking as aligned text (pandas' own layout, 4 significant digits)."""
    if table.empty:
        return " (no job ran)"
    return table.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
