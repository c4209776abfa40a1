"""Interruptions, resume, NaN and determinism, through the real CLI into a real MLflow store."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from tests.support.cli import run_cli
from xaiexp.checkpoint import Checkpoint

pytestmark = pytest.mark.slow

# Long enough to be interrupted mid-epoch: 63 training steps per epoch.
JOB = ["deterministic=true", "dataset.n_train=2000", "dataset.n_eval=256", "epochs=3", "log_steps=20",
       "explain.samples=2", "explain.smoothing=3", "explain.integrating=[4,2]"]


def runs(home):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments, order_by=["attributes.start_time ASC"])


def eval_history(home, run):
    client, _ = runs(home)
    return {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            for key in ("eval/accuracy", "eval/ce", "test/accuracy", "train/ce")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted deterministic run: (home, its MLflow run)."""
    home = tmp_path_factory.mktemp("reference")
    result = run_cli(*JOB, env={"XAIEXP_HOME": str(home)})
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = runs(home)[1]
    return home, run


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_epoch_kills_checkpoints_and_resume_finishes_identically(home, reference, signum):
    process = subprocess.Popen([sys.executable, "-m", "xaiexp", *JOB], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    for line in process.stdout:
        if line.startswith("xaiexp-Train: step: 80;"):  # in the second epoch
            break
    sent = time.monotonic()
    process.send_signal(signum)
    output = process.communicate(timeout=30)[0]
    assert time.monotonic() - sent < 20  # ~3 s idle; 11 s seen at load 7 on 2 cores
    assert process.returncode != 0
    assert f"reason: KeyboardInterrupt: {signal.Signals(signum).name}" in output
    (killed,) = runs(home)[1]
    assert killed.info.status == "KILLED"
    checkpoint = Path(killed.data.tags["xaiexp.output_dir"], "checkpoint")
    assert Checkpoint(str(checkpoint)).exists()

    resumed = run_cli(f"resume={killed.info.run_id}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    (run,) = runs(home)[1]
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    ours, theirs = eval_history(home, run), eval_history(*reference)
    for key in ("eval/accuracy", "eval/ce", "test/accuracy"):
        assert ours[key] == theirs[key]


def test_resume_last_with_nothing_to_resume_is_a_one_line_error(home):
    result = run_cli("resume=last")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"xaiexp: error: resume: no MLflow store at sqlite:///{home}/outputs/"
                                     "mlflow.db: no interrupted run to resume")
    finished = run_cli("dataset.n_train=64", "dataset.n_eval=64", "epochs=1", "explain=none")
    assert finished.returncode == 0
    result = run_cli("resume=last")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"resume: experiment 'xaiexp' has no interrupted run to resume in "
                                          f"sqlite:///{home}/outputs/mlflow.db")


def test_a_nan_loss_fails_the_run_with_the_reason_in_seconds(home):
    start = time.monotonic()
    result = run_cli("dataset.n_train=512", "dataset.n_eval=128", "explain=none", "optimizer=sgd",
                     "schedule.init_lr=1e9", "schedule.min_lr=0")
    assert result.returncode != 0
    assert time.monotonic() - start < 60
    (run,) = runs(home)[1]
    assert run.info.status == "FAILED"
    assert "TrainingDivergedError: training diverged: loss 'ce' is NaN or infinite" in run.data.tags["xaiexp.error"]


def test_two_identical_runs_give_identical_metric_histories(home, reference):
    result = run_cli(*JOB)
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = runs(home)[1]
    assert eval_history(home, run) == eval_history(*reference)
