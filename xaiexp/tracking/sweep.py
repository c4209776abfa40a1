"""A sweep in MLflow: one parent run, one nested child run per job, the best child summarized.

The parent's id reaches the jobs through ``XAIEXP_PARENT_RUN_ID``: set before the launcher
starts, it is inherited by in-process jobs and by joblib's worker processes alike. The sweep's
process owns the parent like a job owns its run (a lock in the sweep's folder, see
``dead_runs``), so a parent whose sweep was killed outright is ended by the next start.
"""

import math
import os
import sys

import mlflow

from xaiexp.tracking.dead_runs import OUTPUT_DIR, SWEEP_TAG, children_of, counted, mark_dead_runs, sweep_owner
from xaiexp.tracking.run import as_params, as_tags, experiment_id

PARENT_RUN_ID = "XAIEXP_PARENT_RUN_ID"
PARENT_URI = "XAIEXP_PARENT_TRACKING_URI"
SWEPT_KEYS = "XAIEXP_SWEPT_KEYS"
_owners = {}  # parent run id: its RunOwnership, held until close_sweep
# Tag of a child run below objective.subject_to's floor: it cannot be the sweep's best.
OBJECTIVE_UNMET = "xaiexp.objective_unmet"


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
        tags = {OUTPUT_DIR: folder, "xaiexp.owner": owner.describe()}
        client.log_batch(run.info.run_id, tags=as_tags(tags))
    os.environ[PARENT_RUN_ID] = run.info.run_id
    os.environ[PARENT_URI] = target.uri
    os.environ[SWEPT_KEYS] = ",".join(swept_keys)
    return run.info.run_id


def child_run_name(overrides):
    """A job's run name: its swept values, keys shortened to their last part and numbers to their
    shortest spelling (``init_lr=3e-4 · model=cnn``), so that names cut short in MLflow's runs
    table still differ."""
    swept = set(filter(None, os.environ.get(SWEPT_KEYS, "").split(",")))
    chosen = [o.partition("=") for o in overrides if o.partition("=")[0].lstrip("+~") in swept]
    if not chosen:
        return ",".join(overrides)
    keys = [key.lstrip("+~") for key, _, _ in chosen]
    short = [key.rsplit(".", 1)[-1] for key in keys]
    names = short if len(set(short)) == len(short) else keys
    return " · ".join(f"{name}={short_value(value)}" for name, (_, _, value) in zip(names, chosen))


def short_value(text):
    """``0.0003`` -> ``3e-4``, ``1000000.0`` -> ``1e6``, ``0.00123`` stays; other text as it is."""
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and abs(number) < 1e4 or not math.isfinite(number):
        return text
    mantissa, _, exponent = f"{number:.2e}".partition("e")
    scientific = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return min(f"{number:.3g}", scientific, key=len)


def is_candidate(run, metric):
    """Whether ``run`` may be ranked by ``metric`` as a sweep's best: it finished, logged a
    finite value, and did not miss the objective's floor."""
    return (run.info.status == "FINISHED" and math.isfinite(run.data.metrics.get(metric, math.nan))
            and OBJECTIVE_UNMET not in run.data.tags)


def finish_sweep(metric, direction):
    """Record the best child by ``metric`` on the parent (metric ``best/<metric>``, tags
    ``xaiexp.best_child_*``), rank the children there (its description and ``sweep_summary.md``)
    and on the console, and end the parent: FINISHED when a child finished, else FAILED.
    Children that failed or missed the objective's floor are not candidates. Returns the best
    child run, if any."""
    from xaiexp.tracking.sweep_summary import DESCRIPTION_TAG, SUMMARY_ARTIFACT, console_text, describe, ranking
    from xaiexp.tracking.ui import how_to_open, run_link

    parent, uri = os.environ.get(PARENT_RUN_ID), os.environ.get(PARENT_URI)
    if parent is None:
        return None
    client = mlflow.MlflowClient(uri)
    parent_run = client.get_run(parent)
    experiment = parent_run.info.experiment_id
    children = children_of(client, parent_run)
    scored = [c for c in children if is_candidate(c, metric)]
    pick = max if direction == "maximize" else min
    best = pick(scored, key=lambda c: c.data.metrics[metric], default=None)
    finished = sum(c.info.status == "FINISHED" for c in children)
    tags = counted(children)
    if best is not None:
        client.log_metric(parent, f"best/{metric}", best.data.metrics[metric])
        tags |= {"xaiexp.best_child_run_id": best.info.run_id, "xaiexp.best_child_name": best.info.run_name}
    link = run_link(uri, experiment, parent)
    table = ranking(children, metric, maximize=direction == "maximize")
    summary = describe(table, link, metric, maximize=direction == "maximize")
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
