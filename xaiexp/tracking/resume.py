"""Find the MLflow run that ``resume=<run_id>`` or ``resume=last`` continues."""

import os
from dataclasses import dataclass

import mlflow
import yaml

from xaiexp.checkpoint import Checkpoint
from xaiexp.tracking.lookup import find_run
from xaiexp.util.errors import ConfigError

RESUMABLE = ("KILLED", "FAILED", "RUNNING")


@dataclass(frozen=True)
class ResumePoint:
    run_id: str
    output_dir: str  # the run's Hydra output folder, holding checkpoint/
    config: dict  # the run's resolved config, as logged at its start


def find_resume_point(target, experiment, which):
    """The run to continue: ``which`` is a run id, or "last" for the newest run of
    ``experiment`` that did not finish. Raises ConfigError naming ``resume`` otherwise."""
    _, run = find_run(target, experiment, which, "resume",
                      lambda run: run.info.status in RESUMABLE and "xaiexp.output_dir" in run.data.tags,
                      "interrupted run to resume")
    if run.info.status == "FINISHED":
        raise ConfigError("resume", f"run {run.info.run_id} already FINISHED; nothing to resume")
    output_dir = run.data.tags.get("xaiexp.output_dir")
    if not output_dir:
        raise ConfigError("resume", f"run {run.info.run_id} was not started by xaiexp (no output_dir tag)")
    if not Checkpoint(os.path.join(output_dir, "checkpoint")).exists():
        raise ConfigError("resume", f"run {run.info.run_id} left no checkpoint in {output_dir}/checkpoint")
    text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.yaml")
    return ResumePoint(run.info.run_id, output_dir, yaml.safe_load(text))
