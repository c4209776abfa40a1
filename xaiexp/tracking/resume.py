"""Find the MLflow run that ``resume=<run_id>`` or ``resume=last`` continues, and end the runs
whose process died without ending them."""

import os
from dataclasses import dataclass

from xaiexp.checkpoint import Checkpoint
from xaiexp.tracking.lookup import find_run, logged_config, open_store
from xaiexp.util.errors import ConfigError
from xaiexp.util.ownership import RunOwnership

RESUMABLE = ("KILLED", "FAILED")  # and RUNNING, once its owner turns out to be dead
OUTPUT_DIR = "xaiexp.output_dir"


@dataclass(frozen=True)
class ResumePoint:
    run_id: str
    output_dir: str  # the run's Hydra output folder, holding checkpoint/
    config: dict  # the run's resolved config, as logged at its start


def mark_dead_runs(client, experiment_id):
    """End FAILED every RUNNING run of the experiment whose output folder is here and whose
    owning process is gone (kill -9, OOM, a crash); a run on another machine is left alone."""
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=200):
        mark_if_dead(client, run)


def mark_if_dead(client, run):
    """``run``, FAILED with the reason as its ``xaiexp.error`` tag if its owner died."""
    folder = run.data.tags.get(OUTPUT_DIR)
    if run.info.status != "RUNNING" or not folder or not os.path.isdir(folder):
        return run
    owner = RunOwnership(folder)
    if owner.is_alive():
        return run
    # A job ends its run before it frees the folder: read the status again, now that the folder
    # is free, or a run that ended since ``run`` was listed would be taken for a dead one.
    run = client.get_run(run.info.run_id)
    if run.info.status != "RUNNING":
        return run
    client.set_tag(run.info.run_id, "xaiexp.error",
                   f"its process ({owner.describe()}) died without ending the run")
    client.set_terminated(run.info.run_id, "FAILED")
    return client.get_run(run.info.run_id)


def _is_resumable(run):
    folder = run.data.tags.get(OUTPUT_DIR)
    return (run.info.status in RESUMABLE and folder is not None
            and Checkpoint(os.path.join(folder, "checkpoint")).exists())


def find_resume_point(target, experiment, which):
    """The run to continue: ``which`` is a run id, or "last" for the newest run of
    ``experiment`` that stopped with a checkpoint. Raises ConfigError naming ``resume``
    otherwise, and for a run whose process is still alive."""
    wanted = "interrupted run to resume"
    client = open_store(target, "resume", wanted)  # before find_run: fits() marks the dead
    _, run = find_run(target, experiment, which, "resume",
                      lambda run: _is_resumable(mark_if_dead(client, run)), wanted)
    run = mark_if_dead(client, client.get_run(run.info.run_id))
    output_dir = run.data.tags.get(OUTPUT_DIR)
    if run.info.status == "FINISHED":
        raise ConfigError("resume", f"run {run.info.run_id} already FINISHED; nothing to resume")
    if not output_dir:
        raise ConfigError("resume", f"run {run.info.run_id} was not started by xaiexp (no output_dir tag)")
    if run.info.status == "RUNNING" and os.path.isdir(output_dir):  # else on another machine
        raise ConfigError("resume", f"run {run.info.run_id} is still running "
                                    f"({RunOwnership(output_dir).describe()}); stop it first")
    if not Checkpoint(os.path.join(output_dir, "checkpoint")).exists():
        raise ConfigError("resume", f"run {run.info.run_id} left no checkpoint in {output_dir}/checkpoint")
    return ResumePoint(run.info.run_id, output_dir, logged_config(client, run, "resume"))
