"""An Optuna study in MLflow: its name and plots on the sweep's parent run, tags on a trial's run."""

import os
import tempfile

import mlflow

from xaiexp.tracking.run import as_tags
from xaiexp.tracking.sweep import PARENT_RUN_ID, PARENT_URI

STUDY_TAG, STORAGE_TAG = "xaiexp.optuna.study", "xaiexp.optuna.storage"  # on a sweep's parent


def log_study(tags: dict, figures: dict) -> None:
    """Tag the open sweep's parent run with ``tags`` and log ``figures`` (matplotlib figures by
    file name) as its artifacts under ``optuna/``; nothing outside a sweep."""
    from matplotlib import pyplot

    parent = os.environ.get(PARENT_RUN_ID)
    if parent is None:
        return
    client = mlflow.MlflowClient(os.environ.get(PARENT_URI))
    client.log_batch(parent, tags=as_tags(tags))
    with tempfile.TemporaryDirectory() as folder:
        for name, figure in figures.items():
            figure.savefig(os.path.join(folder, name), dpi=100, bbox_inches="tight")
            pyplot.close(figure)
        if figures:
            client.log_artifacts(parent, folder, artifact_path="optuna")


def tag_active_run(tags: dict) -> None:
    """Tag the active run, if there is one (a job's, e.g. with its Optuna trial number)."""
    if mlflow.active_run() is not None:
        mlflow.set_tags(tags)
