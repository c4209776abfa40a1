"""Which runs a report compares, and the order it ranks them in: an experiment's runs, or the
child runs of a sweep's parent, sorted by the sweep's objective (else by accuracy)."""

from dataclasses import dataclass

PARENT_TAG = "mlflow.parentRunId"


class ReportError(Exception):
    """Nothing to report on: the message is the one line the command prints."""


@dataclass(frozen=True)
class Selection:
    """The runs to compare, best first, and the name of what they were selected from."""

    name: str
    runs: list
    objective: str  # the metric they are ranked by, e.g. "eval/accuracy"
    maximize: bool


def select_runs(target, experiment, parent=None, sweep=None, mode="test"):
    """The runs of ``experiment`` (sweep parents left out), or the children of run ``parent``,
    or of the newest sweep of ``experiment`` when ``sweep`` is "last" (with an Optuna study,
    the children of every sweep that shares it)."""
    import mlflow  # ~2.6 s: not for `xaiexp report --help`

    from xaiexp.tracking.sweep import SWEEP_TAG

    if not target.exists():
        raise ReportError(f"no MLflow store at {target.uri}")
    client = mlflow.MlflowClient(target.uri)
    if parent is None and sweep is None:
        found = _experiment(client, experiment, target)
        runs = [r for r in _search(client, found.experiment_id) if r.data.tags.get(SWEEP_TAG) != "true"]
        if not runs:
            raise ReportError(f"experiment {experiment!r} has no runs in {target.uri}")
        return _ranked(experiment, runs, f"{mode}/accuracy", maximize=True)
    if sweep is not None:
        found = _experiment(client, experiment, target)
        sweeps = _search(client, found.experiment_id, f"tags.`{SWEEP_TAG}` = 'true'",
                         order="DESC", max_results=1)
        if not sweeps:
            raise ReportError(f"experiment {experiment!r} has no sweep in {target.uri}")
        parent_run = sweeps[0]
    else:
        parent_run = _run_by_prefix(client, parent, target)
    parent_id = parent_run.info.run_id
    children = [child for parent in _study_parents(client, parent_run)
                for child in _search(client, parent_run.info.experiment_id,
                                     f"tags.`{PARENT_TAG}` = '{parent.info.run_id}'")]
    if not children:
        raise ReportError(f"run {parent_id} ({parent_run.info.run_name}) has no child runs")
    metric = parent_run.data.params.get("sweep.objective", f"{mode}/accuracy")
    direction = parent_run.data.params.get("sweep.direction") or (  # sweeps before sweep.direction
        "minimize" if {c.data.params.get("objective.direction") for c in children} == {"minimize"} else "maximize")
    return _ranked(parent_run.info.run_name or parent_id, children, metric, maximize=direction != "minimize")


def _run_by_prefix(client, prefix, target):
    """The one run whose id starts with ``prefix`` (a whole id, or as much as is unique)."""
    from xaiexp.tracking.lookup import run_by_prefix

    try:
        return run_by_prefix(client, prefix, target.uri)
    except LookupError as error:
        raise ReportError(str(error)) from None


def _study_parents(client, parent_run):
    """``parent_run``, and the other sweeps' parents of its Optuna study (several processes or
    machines sharing one storage): one study's trials are ranked together."""
    from xaiexp.tracking.study_run import STORAGE_TAG, STUDY_TAG

    tags = parent_run.data.tags
    if STUDY_TAG not in tags:
        return [parent_run]
    return _search(client, parent_run.info.experiment_id,
                   f"tags.`{STUDY_TAG}` = '{tags[STUDY_TAG]}' and "
                   f"tags.`{STORAGE_TAG}` = '{tags.get(STORAGE_TAG, '')}'")


def _experiment(client, name, target):
    found = client.get_experiment_by_name(name)
    if found is None:
        raise ReportError(f"no experiment {name!r} in {target.uri}")
    return found


def _search(client, experiment_id, filter_string="", order="ASC", max_results=10000):
    return client.search_runs([experiment_id], filter_string=filter_string, max_results=max_results,
                              order_by=[f"attributes.start_time {order}"])


def _ranked(name, runs, metric, maximize):
    """The runs best first by ``metric``, by the sweep's own rule (``best.ranked``)."""
    from xaiexp.tracking.best import ranked

    return Selection(name, ranked(runs, metric, maximize), metric, maximize)


def runs_frame(runs):
    """``runs`` as ``mlflow.search_runs`` lays them out in a DataFrame, one row each in their
    order: run_id, status, ``params.*``, ``metrics.*``, ``tags.*``. Built from the runs already
    fetched: asking ``mlflow.search_runs`` for them again made a report 2.7x slower (100 runs,
    SQLite, 3 s a query on 2 busy cores), the query being nearly all of its time."""
    import pandas as pd

    return pd.DataFrame([{"run_id": run.info.run_id, "experiment_id": run.info.experiment_id,
                          "status": run.info.status,
                          **{f"metrics.{key}": value for key, value in run.data.metrics.items()},
                          **{f"params.{key}": value for key, value in run.data.params.items()},
                          **{f"tags.{key}": value for key, value in run.data.tags.items()}}
                         for run in runs])
