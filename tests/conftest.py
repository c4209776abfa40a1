"""Shared fixtures: every test gets its own project root (MLflow store, outputs) and Keras cache."""

import os
import subprocess
import sys

import pytest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty XAIEXP_HOME (outputs/, mlflow.db) and KERAS_HOME for one test."""
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "home"


def run_cli(*args, timeout=600, env=None, cwd=None):
    """Run the real ``xaiexp`` command (``python -m xaiexp``) and capture its output."""
    return subprocess.run([sys.executable, "-m", "xaiexp", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)


# Overrides that make the default experiment take seconds: tiny shapes, one short epoch.
TINY = ["dataset.n_train=256", "dataset.n_eval=128", "epochs=2", "batch_size=32", "log_steps=4",
        "explain.samples=2", "explain.smoothing=3", "explain.integrating=[4,2]"]
