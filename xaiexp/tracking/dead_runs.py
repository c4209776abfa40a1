"""Runs whose process died without ending them (kill -9, out of memory, a crash, a power cut),
settled by whoever next starts on them: a new run or sweep in their experiment, or ``resume``.

The run's outbox is part of the run: what the dead process could not send to a server that was
away (``tracking_outbox/pending.jsonl``: metrics, tags, its final status) is sent first, so a
run whose outbox says FINISHED ends FINISHED with all its metrics. A run still RUNNING after that
ends FAILED with the reason as its ``xaiexp.error`` tag; a sweep's parent run too, with its
children counted (``xaiexp.children``, ``xaiexp.failed_children``; a resumed child that finishes
counts them again). Alive means holding the run's lock (see ``RunOwnership``); a run whose
folder is not on this machine is left alone.
"""

import os
import sys

from mlflow.entities import RunTag

from xaiexp.tracking.outbox import PENDING, outbox_folder, send_kept
from xaiexp.tracking.ownership import RunOwnership

OUTPUT_DIR = "xaiexp.output_dir"
SWEEP_TAG = "xaiexp.sweep"  # "true" on a sweep's parent run
PARENT = "mlflow.parentRunId"


def is_sweep_parent(run) -> bool:
    return run.data.tags.get(SWEEP_TAG) == "true"


def sweep_owner(folder, run_id) -> RunOwnership:
    """The ownership of sweep parent ``run_id``: ``sweep-<run id>.lock`` in the sweep's folder,
    which several sweeps of one study may share."""
    return RunOwnership(folder, f"sweep-{run_id}")


def owner_of(run) -> RunOwnership:
    folder = run.data.tags[OUTPUT_DIR]
    return sweep_owner(folder, run.info.run_id) if is_sweep_parent(run) else RunOwnership(folder)


def mark_dead_runs(client, experiment_id):
    """Settle every RUNNING run of the experiment whose process died (children before their
    sweep's parent, which counts them)."""
    running = client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=200)
    for run in sorted(running, key=is_sweep_parent):
        mark_if_dead(client, run)


def mark_if_dead(client, run):
    """``run`` as its dead process leaves it: its outbox sent, then FAILED with the reason if it
    is still RUNNING. A run whose owner is alive is returned as it is."""
    folder = run.data.tags.get(OUTPUT_DIR)
    if not folder or not os.path.isdir(folder):
        return run
    outbox = outbox_folder(folder) / PENDING
    if run.info.status != "RUNNING" and not outbox.exists():
        return run
    owner = owner_of(run)
    with owner.unclaimed() as free:
        if not free or (outbox.exists() and not _sent(client, run, outbox)):
            return run
        # Read the status again, now that the folder is free: a job ends its run before it frees
        # the folder, so a run that ended since ``run`` was listed is not a dead one.
        run = client.get_run(run.info.run_id)
        if run.info.status == "RUNNING":
            what = "sweep" if is_sweep_parent(run) else "run"
            reason = f"its process ({owner.who()}) died without ending the {what}"
            counts = counted(children_of(client, run)) if is_sweep_parent(run) else {}
            _set_tags(client, run.info.run_id, {"xaiexp.error": reason, **counts})
            client.set_terminated(run.info.run_id, "FAILED")
    return client.get_run(run.info.run_id)


def _sent(client, run, outbox):
    """Whether what the dead owner of ``run`` kept in ``outbox`` is sent now (said in one line)."""
    try:
        metrics, status = send_kept(client, run.info.run_id, outbox)
    except Exception as error:  # noqa: BLE001 - the run is left as it is, its file too
        print(f"xaiexp: what run {run.info.run_id}'s process left in {outbox} could not be sent "
              f"({type(error).__name__}: {' '.join(str(error).split())[:200]}); it stays there",
              file=sys.stderr)
        return False
    ended = f"; it ended {status}" if status else ""
    print(f"xaiexp: run {run.info.run_id}: {metrics} metric(s) its process left in {outbox} "
          f"sent{ended}", file=sys.stderr)
    return True


def children_of(client, parent) -> list:
    """The child runs of sweep parent ``parent``."""
    return client.search_runs([parent.info.experiment_id], f"tags.{PARENT} = '{parent.info.run_id}'",
                              max_results=10000)


def counted(children) -> dict:
    """A sweep parent's tags that count its ``children``: all of them, and those not FINISHED."""
    finished = sum(child.info.status == "FINISHED" for child in children)
    return {"xaiexp.children": str(len(children)), "xaiexp.failed_children": str(len(children) - finished)}


def recount_ended_parent(client, run_id):
    """A child run that ended after its sweep's parent did (resumed): the parent counts again."""
    parent_id = client.get_run(run_id).data.tags.get(PARENT)
    parent = client.get_run(parent_id) if parent_id else None
    if parent is not None and parent.info.status != "RUNNING":
        _set_tags(client, parent_id, counted(children_of(client, parent)))


def _set_tags(client, run_id, values):
    client.log_batch(run_id, tags=[RunTag(key, value) for key, value in values.items()])
