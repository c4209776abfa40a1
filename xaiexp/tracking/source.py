"""The trained run that ``xaiexp explain explain_run=<run id>|last`` explains: its config and
its logged model, fetched from MLflow."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xaiexp.tracking.lookup import find_run, logged_config
from xaiexp.util.errors import ConfigError

TASK_TAG = "xaiexp.task"  # "explain" on explanation runs; training runs have none
SOURCE_TAG = "xaiexp.source_run_id"  # an explanation run's trained run


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    run_name: str
    config: dict  # the run's resolved config, as logged at its start (data: see xaiexp.app.config.stored)
    model_path: str  # its logged .keras model, downloaded
    params: dict  # its MLflow params: its dataset and model choices, its overridden keys


def _is_training_run(run):
    """Finished, neither an explanation nor a sweep's parent."""
    return (run.info.status == "FINISHED" and TASK_TAG not in run.data.tags
            and "sweep.overrides" not in run.data.params)


def find_source_run(target, experiment, which):
    """The finished training run ``which`` (a run id or a unique prefix of one, or "last": the
    newest in ``experiment``) with its config, params and model; ConfigError naming
    ``explain_run`` when there is none."""
    client, run = find_run(target, experiment, which, "explain_run", _is_training_run,
                           "finished training run")
    models = [a.path for a in client.list_artifacts(run.info.run_id, "model") if a.path.endswith(".keras")]
    if not models:
        raise ConfigError("explain_run", f"run {run.info.run_id} logged no model (was it run with "
                                         f"tracking.log_model=false, or did it fail?)")
    folder = tempfile.mkdtemp(prefix="xaiexp-explain-")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep stderr one line
    model_path = client.download_artifacts(run.info.run_id, models[0], folder)
    return SourceRun(run.info.run_id, run.info.run_name, logged_config(client, run, "explain_run"),
                     str(Path(model_path)), dict(run.data.params))
