"""Shared fixtures: every test gets its own project root (MLflow store, outputs) and Keras cache."""

import os
import subprocess
import sys
import tempfile

import pytest

from tests.support.browser import _stop_group, free_port

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty XAIEXP_HOME (outputs/, mlflow.db) and KERAS_HOME for one test."""
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """A real ``mlflow server`` on a free port (one worker: 2 cores), started and not waited for
    (~40 s to answer here: a test calls ``browser.wait_healthy`` once it needs it)."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                                   "--artifacts-destination", str(root / "artifacts")],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        yield {"url": f"http://127.0.0.1:{port}", "process": server, "log": log, "store": root / "mlflow.db"}
        _stop_group(server)
