"""A sweep in MLflow: one parent run, one nested child run per job, the best child summarized.

The parent's id reaches the jobs through ``XAIEXP_PARENT_RUN_ID``: set before the launcher
starts, it is inherited by in-process jobs and by joblib's worker processes alike. The sweep's
process owns the parent like a job owns its run (a lock in the sweep's folder, see
``dead_runs``), so a parent whose sweep was killed outright is ended by the next start.
"""

import os
import sys

import mlflow

from xaiexp.tracking.best import best_run
from xaiexp.tracking.dead_runs import OUTPUT_DIR, SWEEP_TAG, children_of, counted, mark_dead_runs, sweep_owner
from xaiexp.tracking.run import as_params, as_tags, experiment_id

PARENT_RUN_ID = "XAIEXP_PARENT_RUN_ID"
PARENT_URI = "XAIEXP_PARENT_TRACKING_URI"
SWEPT_KEYS = "XAIEXP_SWEPT_KEYS"
_owners = {}  # parent run id: its RunOwnership, held until close_sweep


def start_sweep(target, experiment, name, definition, swept_keys=(), folder=None):
    """Create the store (once, before parallel jobs race to create it) and the parent run, after
    settling the experiment's dead runs. ``swept_keys`` (the keys that vary between jobs) name
    the child runs. With ``folder`` (the sweep's), this process owns the parent until
    ``close_sweep``, as a job owns its run."""
    target.ensure_store()
    client = mlflow.MlflowClient(target.uri)
    experiment = experiment_id(client, experiment, target.artifact_root)
    mark_dead_runs(client, experiment)
    run = client.create_run(experiment, run_name=name, tags={SWEEP_TAG: "true"})
    client.log_batch(run.info.run_id, params=as_params(definition))
    if folder:  # the folder tag comes once the lock is held: a parent without it is never judged
        folder = os.path.abspath(folder)
        owner = _owners[run.info.run_id] = sweep_owner(folder, run.info.run_id)
        owner.acquire()  # a lock of its own name: free
        tags = {OUTPUT_DIR: folder, "xaiexp.owner": owner.who()}
        client.log_batch(run.info.run_id, tags=as_tags(tags))
    os.environ[PARENT_RUN_ID] = run.info.run_id
    os.environ[PARENT_URI] = target.uri
    os.environ[SWEPT_KEYS] = ",".join(swept_keys)
    return run.info.run_id


def swept_keys() -> set:
    """The keys that vary between the open sweep's jobs (they name its child runs)."""
    return set(filter(None, os.environ.get(SWEPT_KEYS, "").split(",")))


def finish_sweep(metric, direction):
    """Record the best child by ``metric`` on the parent (metric ``best/<metric>``, tags
    ``xaiexp.best_child_*``), rank the children there (its description and ``sweep_summary.md``)
    and on the console, and end the parent: FINISHED when a child finished, else FAILED.
    The best child is ``best.best_run``'s. Returns it, if any."""
    from xaiexp.tracking.sweep_summary import (DESCRIPTION_TAG, SUMMARY_ARTIFACT, console_text,
                                               parent_description, ranking)
    from xaiexp.tracking.ui.links import how_to_open, run_link

    parent, uri = os.environ.get(PARENT_RUN_ID), os.environ.get(PARENT_URI)
    if parent is None:
        return None
    client = mlflow.MlflowClient(uri)
    parent_run = client.get_run(parent)
    experiment = parent_run.info.experiment_id
    children = children_of(client, parent_run)
    best = best_run(children, metric, maximize=direction == "maximize")
    finished = sum(c.info.status == "FINISHED" for c in children)
    tags = counted(children)
    if best is not None:
        client.log_metric(parent, f"best/{metric}", best.data.metrics[metric])
        tags |= {"xaiexp.best_child_run_id": best.info.run_id, "xaiexp.best_child_name": best.info.run_name}
    link = run_link(uri, experiment, parent)
    table = ranking(children, metric, maximize=direction == "maximize")
    summary = parent_description(table, link, metric, maximize=direction == "maximize")
    client.log_batch(parent, tags=as_tags({**tags, DESCRIPTION_TAG: summary}))
    client.log_text(parent, summary, SUMMARY_ARTIFACT)
    print(f"xaiexp: sweep {parent} ended: {finished} of {len(children)} jobs finished; ranked by "
          f"{metric}:\n{console_text(table)}\nxaiexp: {how_to_open(uri, link)}", file=sys.stderr)
    close_sweep("FINISHED" if finished else "FAILED", None if finished else "no job finished")
    return best


def fail_lost_job(job_num, reason):
    """End FAILED, with ``reason`` as its ``xaiexp.error`` tag, the open sweep's child run of job
    ``job_num`` if it is still RUNNING: its process was lost with its machine and cannot."""
    parent, uri = os.environ.get(PARENT_RUN_ID), os.environ.get(PARENT_URI)
    if parent is None:
        return
    client = mlflow.MlflowClient(uri)
    experiment = client.get_run(parent).info.experiment_id
    lost = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}' and "
                                                          f"tags.`xaiexp.job_num` = '{job_num}' and "
                                                          f"attributes.status = 'RUNNING'")
    for run in lost:
        client.set_tag(run.info.run_id, "xaiexp.error", reason[:5000])
        client.set_terminated(run.info.run_id, "FAILED")


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
    owner = _owners.pop(parent, None)  # None: a parent this process did not start
    if owner:
        owner.release()
