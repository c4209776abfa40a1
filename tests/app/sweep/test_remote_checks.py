"""Pre-flight of what a sweep reaches over the network, where nothing needs to be running: a
database or a Ray address where nobody answers, a Ray launcher with no cluster to find. (The
same checks against real PostgreSQL, MLflow and Ray: tests/e2e/test_team_setup.py.)"""

import socket

import pytest

from tests.support.cli import run_cli
from xaiexp.app.sweep import remote_checks
from xaiexp.app.sweep.remote_checks import check_launcher, check_study_database
from xaiexp.util.errors import ConfigError


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_database_where_nobody_listens_is_named_in_one_line():
    url = f"postgresql+psycopg://team:secret@127.0.0.1:{free_port()}/optuna"
    with pytest.raises(ConfigError) as refused:
        check_study_database(url)
    message = str(refused.value)
    assert message.startswith("hydra.sweeper.storage: cannot reach the database postgresql+psycopg://team:***@")
    assert "Connection refused" in message and "secret" not in message


def test_files_and_memory_are_not_databases_to_reach(tmp_path):
    for storage in (None, "", f"sqlite:///{tmp_path}/optuna.db", "outputs/optuna.journal"):
        check_study_database(storage)  # the file checks are preflight.check_study_storage's


def test_the_ray_launcher_needs_a_cluster_to_join(monkeypatch, tmp_path):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(remote_checks, "RAY_SESSION_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="hydra.launcher.address: auto finds no Ray cluster"):
        check_launcher({"_target_": remote_checks.RAY_LAUNCHER, "address": "auto"})
    with pytest.raises(ConfigError, match="no Ray cluster answers at 127.0.0.1:.* \\(connection refused\\)"):
        check_launcher({"_target_": remote_checks.RAY_LAUNCHER, "address": f"127.0.0.1:{free_port()}"})
    check_launcher({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"})


def test_the_command_refuses_before_any_run(home):
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/optuna"
    result = run_cli("-m", "hparams_search=optuna", f"hydra.sweeper.storage={dead}", timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "hydra.sweeper.storage: cannot reach the database" in result.stderr
    assert not (home / "outputs" / "mlflow.db").exists()  # no run, not even a store
