"""The embedded SQLite store under concurrent first use: created once, under a lock, whoever
comes first; a half-migrated store repaired (nothing in it yet) or named with what to do."""

import shutil
import sqlite3
import subprocess
import sys
import threading

import mlflow
import pytest

from tests.support.cli import TINY
from xaiexp.tracking.resume import OUTPUT_DIR, mark_if_dead
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.errors import ConfigError

pytestmark = pytest.mark.slow

# The start-up path of `xaiexp` (tracking/run.py): create or check the store, take the run's
# folder, create the experiment, end dead runs, start the MLflow run, log, end it FINISHED.
# Each process imports first, then waits for the same instant to touch the store.
START = """
import os, sys, time
from xaiexp.tracking import TrackingTarget, mlflow_run
from xaiexp.tracking.run import log_metrics
from xaiexp.util.project import project_root
folder, go = sys.argv[1], sys.argv[2]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
with mlflow_run(TrackingTarget.embedded(project_root()), "xaiexp", run_name=os.path.basename(folder),
                params={"folder": folder}, tags={"xaiexp.output_dir": folder}, output_dir=folder):
    log_metrics({"started": 1.0})
"""


def store(home):
    return mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")


def finished_runs(home):
    client = store(home)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return [run for run in client.search_runs(experiments) if run.info.status == "FINISHED"]


def test_four_processes_starting_at_once_on_a_fresh_store_all_finish(home, tmp_path):
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", START, str(tmp_path / f"run{i}"), str(go)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for i in range(4)]
    ready = [process.stdout.readline() for process in processes]  # mlflow imported
    go.touch()
    outputs = [line + process.communicate(timeout=300)[0] for line, process in zip(ready, processes)]
    assert [process.returncode for process in processes] == [0] * 4, "\n".join(outputs)[-4000:]
    assert sorted(run.info.run_name for run in finished_runs(home)) == ["run0", "run1", "run2", "run3"]
    with sqlite3.connect(home / "outputs" / "mlflow.db") as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master")]
    assert not [name for name in tables if name.startswith("_alembic_tmp_")]


def test_two_runs_started_together_on_a_fresh_store_both_finish(home):
    job = [sys.executable, "-m", "xaiexp", *TINY, "epochs=1", "explain=none", "tracking.log_model=false"]
    processes = [subprocess.Popen(job, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], "\n".join(outputs)[-4000:]
    runs = finished_runs(home)
    assert len(runs) == 2
    folders = {run.data.tags["xaiexp.output_dir"] for run in runs}
    assert len(folders) == 2  # each its own folder, so its own checkpoint


def half_migrated(path, leftover, version):
    """What an interrupted migration leaves: a copy of a table and an older schema version."""
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE {leftover} AS SELECT * FROM {leftover.removeprefix('_alembic_tmp_')}")
        connection.execute("UPDATE alembic_version SET version_num = ?", (version,))
    connection.close()


def test_a_half_migrated_store_is_repaired_when_empty_and_named_when_not(tmp_path):
    target = TrackingTarget.embedded(tmp_path / "home")
    path = tmp_path / "home" / "outputs" / "mlflow.db"
    target.ensure_store()
    pristine = tmp_path / "pristine.db"
    shutil.copy(path, pristine)
    head = sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchone()[0]

    half_migrated(path, "_alembic_tmp_tags", "0584bdc529eb")  # an old revision of MLflow's
    target.ensure_store()  # no run in it yet: made again
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head
        assert not connection.execute("SELECT name FROM sqlite_master WHERE name LIKE '_alembic_tmp_%'").fetchall()
    connection.close()

    used = tmp_path / "used" / "mlflow.db"
    used.parent.mkdir()
    shutil.copy(pristine, used)
    client = mlflow.MlflowClient(f"sqlite:///{used}")
    client.create_run(client.create_experiment("kept"))
    half_migrated(used, "_alembic_tmp_runs", "0584bdc529eb")
    for target in (TrackingTarget(uri=f"sqlite:///{used}"),  # a user's store: never touched
                   TrackingTarget(uri=f"sqlite:///{used}", artifact_root=(tmp_path / "art").as_uri())):
        with pytest.raises(ConfigError) as refused:
            target.ensure_store()
        message = str(refused.value)
        assert message.startswith(f"tracking.uri: the MLflow store {used} is half-migrated or from "
                                  f"another MLflow version (")
        assert message.endswith(f"back it up, then run `mlflow db upgrade sqlite:///{used}`")
        assert "\n" not in message
    with sqlite3.connect(used) as connection:  # left as it was
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    connection.close()


def test_a_store_in_use_is_waited_for_never_made_again(tmp_path):
    """What lost a run in CI: a job's start found the store busy (another job writing), took the
    busy error for a half-created store and made it again, dropping the other job's rows."""
    target = TrackingTarget.embedded(tmp_path / "home")
    path = tmp_path / "home" / "outputs" / "mlflow.db"
    target.ensure_store()
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")  # no reader gets in until the commit, 6 s from now
    writer.execute("INSERT INTO experiments (name, lifecycle_stage) VALUES ('kept', 'active')")
    committer = threading.Timer(6.0, writer.execute, ["COMMIT"])
    committer.start()
    target.ensure_store()
    committer.join()
    writer.close()
    assert store(tmp_path / "home").get_experiment_by_name("kept") is not None


def test_a_run_that_ends_while_a_new_job_looks_at_it_stays_finished(tmp_path):
    """The other race CI caught: a starting job lists the RUNNING runs, one of them ends FINISHED
    and frees its folder, and only then is its owner looked at: gone, but not dead."""
    target = TrackingTarget.embedded(tmp_path / "home")
    target.ensure_store()
    client = mlflow.MlflowClient(target.uri)
    folder = tmp_path / "run0"
    folder.mkdir()
    run = client.create_run(client.create_experiment("race"), tags={OUTPUT_DIR: str(folder)})
    (listed,) = client.search_runs([run.info.experiment_id], "attributes.status = 'RUNNING'")
    client.set_terminated(run.info.run_id, "FINISHED")  # its job ends, then releases the folder
    assert mark_if_dead(client, listed).info.status == "FINISHED"
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert "xaiexp.error" not in client.get_run(run.info.run_id).data.tags
