"""The trained run that ``xaiexp explain explain_run=<run id>|last`` explains: its config and
its logged model, fetched from MLflow."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import yaml

from xaiexp.util.errors import ConfigError

TASK_TAG = "xaiexp.task"  # "explain" on explanation runs; training runs have none
SOURCE_TAG = "xaiexp.source_run_id"  # an explanation run's trained run


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    run_name: str
    config: dict  # the run's resolved config, as logged at its start
    model_path: str  # its logged .keras model, downloaded


def find_source_run(target, experiment, which):
    """The finished training run ``which`` (a run id, or "last": the newest in ``experiment``)
    with its config and model; ConfigError naming ``explain_run`` when there is none."""
    if not target.exists():
        raise ConfigError("explain_run", f"no MLflow store at {target.uri}: no run to explain")
    client = mlflow.MlflowClient(target.uri)
    if which == "last":
        found = client.get_experiment_by_name(experiment)
        runs = client.search_runs(
            [found.experiment_id], filter_string="attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"], max_results=200) if found else []
        runs = [r for r in runs if TASK_TAG not in r.data.tags and "sweep.overrides" not in r.data.params]
        if not runs:
            raise ConfigError("explain_run", f"experiment {experiment!r} has no finished training "
                                             f"run in {target.uri}")
        run = runs[0]
    else:
        try:
            run = client.get_run(which)
        except mlflow.exceptions.MlflowException:
            raise ConfigError("explain_run", f"no run {which!r} in {target.uri}") from None
    models = [a.path for a in client.list_artifacts(run.info.run_id, "model") if a.path.endswith(".keras")]
    if not models:
        raise ConfigError("explain_run", f"run {run.info.run_id} logged no model (was it run with "
                                         f"tracking.log_model=false, or did it fail?)")
    folder = tempfile.mkdtemp(prefix="xaiexp-explain-")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep stderr one line
    model_path = client.download_artifacts(run.info.run_id, models[0], folder)
    config = yaml.safe_load(mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.yaml"))
    return SourceRun(run.info.run_id, run.info.run_name, config, str(Path(model_path)))
