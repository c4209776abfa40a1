"""An Optuna study in MLflow: its name and plots on the sweep's parent run, a pruned trial's tag."""

import os
import tempfile

import mlflow

from xaiexp.tracking.run import as_tags
from xaiexp.tracking.sweep import PARENT_RUN_ID, PARENT_URI

# Tag of a child run that the sweep's pruner stopped early: the reason (metric, value, epoch).
PRUNED_TAG = "xaiexp.pruned"


def describe_study(tags: dict, figures: dict) -> None:
    """Tag the open sweep's parent run with ``tags`` and log ``figures`` (matplotlib figures by
    file name) as its artifacts under ``optuna/``; nothing outside a sweep."""
    parent = os.environ.get(PARENT_RUN_ID)
    if parent is None:
        return
    client = mlflow.MlflowClient(os.environ.get(PARENT_URI))
    client.log_batch(parent, tags=as_tags(tags))
    with tempfile.TemporaryDirectory() as folder:
        for name, figure in figures.items():
            figure.savefig(os.path.join(folder, name), dpi=100, bbox_inches="tight")
        if figures:
            client.log_artifacts(parent, folder, artifact_path="optuna")


def tag_pruned(reason: str) -> None:
    """Mark the active run (if any) as stopped by the pruner, with ``reason``."""
    if mlflow.active_run() is not None:
        mlflow.set_tag(PRUNED_TAG, reason)
