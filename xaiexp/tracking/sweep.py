"""A sweep in MLflow: one parent run, one nested child run per job, the best child summarized.

The parent's id reaches the jobs through ``XAIEXP_PARENT_RUN_ID``: set before the launcher
starts, it is inherited by in-process jobs and by joblib's worker processes alike.
"""

import math
import os

import mlflow

from xaiexp.tracking.run import as_params, as_tags, experiment_id

PARENT_RUN_ID = "XAIEXP_PARENT_RUN_ID"
PARENT_URI = "XAIEXP_PARENT_TRACKING_URI"
SWEPT_KEYS = "XAIEXP_SWEPT_KEYS"
SWEEP_TAG = "xaiexp.sweep"  # "true" on a sweep's parent run
# Tag of a child run below objective.subject_to's floor: it cannot be the sweep's best.
OBJECTIVE_UNMET = "xaiexp.objective_unmet"


def start_sweep(target, experiment, name, definition, swept_keys=()):
    """Create the store (once, before parallel jobs race to create it) and the parent run.
    ``swept_keys`` (the keys that vary between jobs) name the child runs."""
    target.ensure_store()
    client = mlflow.MlflowClient(target.uri)
    run = client.create_run(experiment_id(client, experiment, target.artifact_root), run_name=name,
                            tags={SWEEP_TAG: "true"})
    client.log_batch(run.info.run_id, params=as_params(definition))
    os.environ[PARENT_RUN_ID] = run.info.run_id
    os.environ[PARENT_URI] = target.uri
    os.environ[SWEPT_KEYS] = ",".join(swept_keys)
    return run.info.run_id


def child_run_name(overrides):
    """A job's run name: its values of the swept keys (``schedule.init_lr=0.001,model=cnn``)."""
    swept = set(filter(None, os.environ.get(SWEPT_KEYS, "").split(",")))
    chosen = [o for o in overrides if o.partition("=")[0].lstrip("+~") in swept]
    return ",".join(chosen or overrides)


def is_candidate(run, metric):
    """Whether ``run`` may be ranked by ``metric`` as a sweep's best: it finished, logged a
    finite value, and did not miss the objective's floor."""
    return (run.info.status == "FINISHED" and math.isfinite(run.data.metrics.get(metric, math.nan))
            and OBJECTIVE_UNMET not in run.data.tags)


def finish_sweep(metric, direction):
    """Record the best child by ``metric`` on the parent (metric ``best/<metric>``, tags
    ``xaiexp.best_child_*``) and end the parent FINISHED. Children that failed or missed the
    objective's floor are not candidates. Returns the best child run, if any."""
    parent, uri = os.environ.get(PARENT_RUN_ID), os.environ.get(PARENT_URI)
    if parent is None:
        return None
    client = mlflow.MlflowClient(uri)
    experiment = client.get_run(parent).info.experiment_id
    children = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'",
                                  max_results=10000)
    scored = [c for c in children if is_candidate(c, metric)]
    pick = max if direction == "maximize" else min
    best = pick(scored, key=lambda c: c.data.metrics[metric], default=None)
    tags = {"xaiexp.children": len(children),
            "xaiexp.failed_children": sum(c.info.status != "FINISHED" for c in children)}
    if best is not None:
        client.log_metric(parent, f"best/{metric}", best.data.metrics[metric])
        tags |= {"xaiexp.best_child_run_id": best.info.run_id, "xaiexp.best_child_name": best.info.run_name}
    client.log_batch(parent, tags=as_tags(tags))
    close_sweep("FINISHED")
    return best


def close_sweep(status, reason=None):
    """End the open parent run with ``status`` (the CLI calls this when a sweep dies early)."""
    parent, uri = os.environ.pop(PARENT_RUN_ID, None), os.environ.pop(PARENT_URI, None)
    os.environ.pop(SWEPT_KEYS, None)
    if parent is None:
        return
    client = mlflow.MlflowClient(uri)
    if reason:
        client.set_tag(parent, "xaiexp.error", reason[:5000])
    client.set_terminated(parent, status)
