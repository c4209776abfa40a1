"""Find the MLflow run that ``resume=<run_id>`` or ``resume=last`` continues."""

import os
from dataclasses import dataclass

import mlflow
import yaml

from xaiexp.checkpoint import Checkpoint
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
    if not target.exists():
        raise ConfigError("resume", f"no MLflow store at {target.uri}: nothing to resume")
    client = mlflow.MlflowClient(target.uri)
    if which == "last":
        found = client.get_experiment_by_name(experiment)
        runs = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"],
                                  filter_string="tags.`xaiexp.output_dir` != ''",
                                  max_results=50) if found else []
        runs = [r for r in runs if r.info.status in RESUMABLE]
        if not runs:
            raise ConfigError("resume", f"experiment {experiment!r} has no interrupted run to resume "
                                        f"in {target.uri}")
        run = runs[0]
    else:
        try:
            run = client.get_run(which)
        except mlflow.exceptions.MlflowException:
            raise ConfigError("resume", f"no run {which!r} in {target.uri}") from None
    if run.info.status == "FINISHED":
        raise ConfigError("resume", f"run {run.info.run_id} already FINISHED; nothing to resume")
    output_dir = run.data.tags.get("xaiexp.output_dir")
    if not output_dir:
        raise ConfigError("resume", f"run {run.info.run_id} was not started by xaiexp (no output_dir tag)")
    if not Checkpoint(os.path.join(output_dir, "checkpoint")).exists():
        raise ConfigError("resume", f"run {run.info.run_id} left no checkpoint in {output_dir}/checkpoint")
    text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.yaml")
    return ResumePoint(run.info.run_id, output_dir, yaml.safe_load(text))
