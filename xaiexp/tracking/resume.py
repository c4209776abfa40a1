"""Find the MLflow run that ``resume=<run_id>`` or ``resume=last`` continues."""

import os
from dataclasses import dataclass

from xaiexp.checkpoint import Checkpoint
from xaiexp.tracking.dead_runs import OUTPUT_DIR, mark_dead_runs, mark_if_dead
from xaiexp.tracking.lookup import find_run, logged_config, open_store
from xaiexp.tracking.ownership import RunOwnership
from xaiexp.util.errors import ConfigError

RESUMABLE = ("KILLED", "FAILED")  # and RUNNING, once its owner turns out to be dead


@dataclass(frozen=True)
class ResumePoint:
    run_id: str
    output_dir: str  # the run's Hydra output folder, holding checkpoint/
    config: dict  # the run's resolved config, as logged at its start


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
    mark_dead_runs(client, run.info.experiment_id)  # e.g. the parent of a killed sweep's job
    run = mark_if_dead(client, client.get_run(run.info.run_id))
    output_dir = run.data.tags.get(OUTPUT_DIR)
    if run.info.status == "FINISHED":
        raise ConfigError("resume", f"run {run.info.run_id} already FINISHED; nothing to resume")
    if not output_dir:
        raise ConfigError("resume", f"run {run.info.run_id} was not started by xaiexp (no output_dir tag)")
    if run.info.status == "RUNNING" and os.path.isdir(output_dir):  # else on another machine
        raise ConfigError("resume", f"run {run.info.run_id} is still running "
                                    f"({RunOwnership(output_dir).who()}); stop it first")
    if not Checkpoint(os.path.join(output_dir, "checkpoint")).exists():
        raise ConfigError("resume", f"run {run.info.run_id} left no checkpoint in {output_dir}/checkpoint")
    return ResumePoint(run.info.run_id, output_dir, logged_config(client, run, "resume"))
