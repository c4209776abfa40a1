"""Issue 12's edges: data checked as values, eval losses guarded, and a real ``mlflow server``
that stalls, comes back and dies mid-run."""

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.browser import wait_healthy
from tests.support.cli import TINY, run_cli
from xaiexp.dataset.data import npz, values


def plain_first_bad(x):
    """The first (image, value) that is NaN, infinite or beyond values.MAX_PIXEL: a plain loop."""
    for index, image in enumerate(x):
        for value in image.flat:
            if not (abs(float(value)) <= values.MAX_PIXEL):
                return index, float(value)
    return None


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_the_streamed_pixel_check_finds_what_a_plain_loop_finds(tmp_path, monkeypatch, dtype):
    monkeypatch.setattr(values, "CHUNK_BYTES", 4096)  # many chunks, bad values near their edges
    rng = np.random.default_rng(1)
    for trial in range(12):
        x = rng.uniform(0, 255, (30, 9, 7, 3)).astype(dtype)
        if trial % 4:  # trial 0, 4, 8: clean
            bad = [np.nan, np.inf, -np.inf, 2e6] if dtype != np.int64 else [2 * 10 ** 6, -(2 ** 62)]
            for _ in range(trial % 4):
                x[tuple(rng.integers(0, n) for n in x.shape)] = bad[rng.integers(len(bad))]
        expected = plain_first_bad(x)
        path = tmp_path / "x.npz"
        np.savez(path, x=x, y=np.arange(30) % 3)
        in_memory = values.first_bad_pixel(values.array_chunks(x), 9 * 7 * 3)
        with npz.zipfile.ZipFile(path) as archive, archive.open("x.npy") as member:
            streamed = values.first_bad_pixel(values.npy_chunks(member), 9 * 7 * 3)
        for found in (in_memory, streamed):
            assert (found is None) == (expected is None)
            if expected:
                assert found[0] == expected[0] and (found[1] == expected[1] or np.isnan(found[1]))


def _limit_memory():
    limit = 1500 * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_label_of_2_to_the_40_is_refused_in_well_under_1_5_gib(tmp_path):
    x, y = np.zeros((20, 20, 20, 3), np.uint8), np.arange(20) % 2
    y[7] = 2 ** 40
    np.savez(tmp_path / "labels.npz", x=x, y=y)
    result = subprocess.run([sys.executable, "-m", "xaiexp", "dataset=npz",
                             f"dataset.path={tmp_path / 'labels.npz'}"], capture_output=True,
                            text=True, timeout=60, preexec_fn=_limit_memory,
                            env={**os.environ, "XAIEXP_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip() == (
        f"xaiexp: error: dataset.path: {tmp_path / 'labels.npz'}: y[7] = {2 ** 40}: without "
        f"class_names the labels must be 0..2 (3 distinct labels, each class with an image); "
        f"name the classes with class_names to have more")


def test_the_experiment_name_limit_is_mlflows():
    from mlflow.utils.validation import MAX_EXPERIMENT_NAME_LENGTH

    from xaiexp.tracking.limits import MAX_EXPERIMENT_NAME

    assert MAX_EXPERIMENT_NAME == MAX_EXPERIMENT_NAME_LENGTH


# A user's loader and model: clean training images, NaN eval images, and no ReLU (oneDNN's ReLU
# turns NaN into 0) between them and the loss.
NAN_EVAL = '''
import keras
import numpy as np
from xaiexp.dataset.numpy_dataset import NumpyDataset


def load(**_):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (64, 20, 20, 3)).astype(np.float32), np.arange(64) % 3
    evaluation = np.full((16, 20, 20, 3), np.nan, np.float32)
    mapping = {"a": 0, "b": 1, "c": 2}
    return NumpyDataset({"x": x, "y": y}, mapping), NumpyDataset({"x": evaluation, "y": y[:16]}, mapping)


def dense(input_shape, classes, **_):
    inputs = keras.Input(input_shape)
    outputs = keras.layers.Dense(classes, activation="softmax")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs)
'''


@pytest.mark.slow
def test_a_nan_eval_loss_fails_the_run_naming_it(tmp_path, home, tracking_server):
    # tracking_server: requested here only to start it while this test trains
    (tmp_path / "nan_eval.py").write_text(NAN_EVAL)
    result = subprocess.run([sys.executable, "-m", "xaiexp", "dataset._target_=nan_eval.load",
                             "model._target_=nan_eval.dense", "epochs=2", "explain=none"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "xaiexp: error: TrainingDivergedError: the eval loss 'ce' is NaN or infinite (non-finite "
        "eval images, or a model whose outputs overflow?) at step 2 (debug=true shows the traceback)")
    with sqlite3.connect(home / "outputs" / "mlflow.db") as db:
        assert db.execute("select status from runs").fetchall() == [("FAILED",)]
        assert db.execute("select count(*) from metrics where key like 'eval/%'").fetchone() == (0,)


def _eval_epoch(line):
    return int(line.split("epoch: ")[1].split(";")[0]) if line.startswith("xaiexp-Eval:") else None


def _train_epoch_end(line):
    if line.startswith("xaiexp-Train:") and "epoch: " in line:
        return int(line.split("epoch: ")[1].split(";")[0])
    return None


@pytest.mark.slow
def test_a_server_that_stalls_comes_back_and_dies_costs_no_metric(home, tracking_server):
    """SIGSTOP when training epoch 2 ends (the metrics sent after eval epoch 2's checkpoint time
    out), SIGCONT when training epoch 3 ends (what waited is sent after eval epoch 3), SIGKILL
    when training epoch 4 ends: training goes on throughout, the run ends within a minute of the
    loss, and every eval metric is in the server's store or in the file the last line names."""
    server = tracking_server["process"]
    wait_healthy(tracking_server["url"], server, tracking_server["log"], timeout=120)
    signals = {2: signal.SIGSTOP, 3: signal.SIGCONT, 4: signal.SIGKILL}
    job = subprocess.Popen([sys.executable, "-m", "xaiexp", f"tracking.uri={tracking_server['url']}",
                            "name=outage", *TINY[3:], "dataset.n_train=160", "dataset.n_eval=32",
                            "epochs=4", "explain.every=4"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env={**os.environ, "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",  # the user's
                                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})  # settings win
    lines, lost = [], None
    for line in job.stdout:
        lines.append(line.rstrip())
        if _train_epoch_end(line) in signals:  # metrics are sent after each eval's checkpoint
            os.killpg(server.pid, signals.pop(_train_epoch_end(line)))
            lost = time.monotonic()
    job.wait(timeout=120)
    output = "\n".join(lines)
    assert lost is not None and time.monotonic() - lost < 60, output[-3000:]
    assert job.returncode == 0 and "Traceback" not in output, output[-3000:]
    ours = [line for line in lines if line.startswith("xaiexp: the tracking server")]
    said = [line.split(tracking_server["url"])[1].split(";")[0].split(":")[0] for line in ours]
    assert said[:2] == [" went away (no answer in time)", " is back"], ours
    assert said[2] in (" went away (connection refused)", " went away (connection lost)"), ours
    assert said[3:] == [" is still unreachable"], ours
    pending = Path(ours[-1].split(" is kept in ")[1].split(" (")[0])
    kept = [json.loads(line) for line in pending.read_text().splitlines()]
    assert "FINISHED" in [record.get("status") for record in kept]
    printed = {_eval_epoch(line): float(line.split("; accuracy: ")[1].split(";")[0])
               for line in lines if _eval_epoch(line)}
    with sqlite3.connect(tracking_server["store"]) as db:
        stored = dict(db.execute("select step / 5, value from metrics where key = 'eval/accuracy'"))
    waiting = {record["metric"][3] // 5: record["metric"][1] for record in kept
               if "metric" in record and record["metric"][0] == "eval/accuracy"}
    # 5 steps an epoch; epoch 2's waited and were sent with epoch 3's, epoch 4's wait in the file
    assert set(stored) >= {1, 2, 3} and 4 in waiting and set(stored) | set(waiting) == set(printed)
    assert {**stored, **waiting} == pytest.approx(printed, abs=1e-6)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MiB tmpfs: room for the MLflow store, not for the first checkpoint (needs root)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


@pytest.mark.slow
def test_a_full_disk_is_one_line_naming_it(tiny_disk):
    result = run_cli(*TINY[3:], "dataset.n_train=256", "dataset.n_eval=64", "epochs=2", "explain=none",
                     env={"XAIEXP_HOME": str(tiny_disk)}, timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("xaiexp: error: ")]
    assert result.returncode == 1 and len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith(f"xaiexp: error: no space left on the disk mounted at {tiny_disk} ")
    assert "Traceback" not in result.stderr and "SQL" not in result.stderr
