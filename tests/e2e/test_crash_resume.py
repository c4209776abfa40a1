"""Kill -9 at every injected point of checkpoint and metric writes, resume each time: the run
ends with exactly the uninterrupted run's metrics and weights. And a run's live owner keeps
``resume`` away; a dead one's run is marked FAILED. Real processes, real SQLite store."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import tensorflow as tf

from tests.support import SUPPORT
from tests.support.cli import run_cli
from xaiexp.checkpoint import VARIABLES, Checkpoint

pytestmark = pytest.mark.slow

KILL_CHAIN = str(SUPPORT / "kill_chain.py")
# 3 epochs of 2 training steps and 1 eval step; every step logged.
JOB = ["dataset.n_train=64", "dataset.n_eval=32", "epochs=3", "batch_size=32", "log_steps=1",
       "explain=none", "deterministic=true", "tracking.log_model=false"]
RESUME = ["resume=last"]
CHAIN = [  # (fault, command): each kill is resumed by the next command
    ("estimator.step:3", JOB),  # mid epoch 2: its metrics buffered, epoch 1 checkpointed
    ("estimator.epoch_end:1", RESUME),  # epoch 2 evaluated, not checkpointed
    ("checkpoint.staged:1", RESUME),  # inside the save of epoch 2 ...
    ("checkpoint.variables:1", RESUME),
    ("checkpoint.state:1", RESUME),
    ("checkpoint.synced:1", RESUME),  # ... all before the rename that commits it
    ("checkpoint.renamed:1", RESUME),  # committed, the old one still there, metrics unsent
    ("metrics.sending:1", RESUME),  # the resumed run sends them: killed before ...
    ("metrics.sent:1", RESUME),  # ... and after they reached the store
    ("checkpoint.pruned:1", RESUME),  # epoch 3 committed, the old one removed, metrics unsent
    ("estimator.step:1", JOB),  # a NEWER run, dead before its first checkpoint, must not keep
    (None, RESUME),  # resume=last from the older one: it sends epoch 3's metrics, then tests
]
TIMINGS = ("steps/sec", "epoch_time", "total_time")  # differ from run to run by nature


def histories(client, run):
    """{metric key: [(step, value), ...] in step order}."""
    return {key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
            for key in run.data.metrics}


def final_variables(run):
    folder = Checkpoint(os.path.join(run.data.tags["xaiexp.output_dir"], "checkpoint")).latest()
    reader = tf.train.load_checkpoint(os.path.join(folder, VARIABLES))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "variables" in name}


def test_kill_at_every_injected_point_then_resume_gives_the_uninterrupted_run(home):
    jobs = [(None, JOB), *CHAIN]  # the first: the uninterrupted reference
    result = subprocess.run([sys.executable, KILL_CHAIN, json.dumps(jobs)], capture_output=True,
                            text=True, timeout=900)
    exits = [json.loads(line)["exit"] for line in result.stdout.splitlines() if line.startswith('{"fault"')]
    expected = [0, *[-signal.SIGKILL for _ in CHAIN[:-1]], 0]
    assert exits == expected, result.stdout[-3000:] + result.stderr[-3000:]

    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    experiment = client.get_experiment_by_name("xaiexp").experiment_id
    reference, resumed, newer = client.search_runs([experiment], order_by=["attributes.start_time ASC"])
    assert (reference.info.status, resumed.info.status, newer.info.status) == ("FINISHED", "FINISHED", "FAILED")
    assert "died without ending the run" in newer.data.tags["xaiexp.error"]

    ours, theirs = histories(client, resumed), histories(client, reference)
    assert sorted(ours) == sorted(theirs) and "test/accuracy" in ours and "train/ce" in ours
    for key in theirs:
        assert [step for step, _ in ours[key]] == [step for step, _ in theirs[key]], key
        if not key.endswith(TIMINGS):
            assert ours[key] == theirs[key], key
    weights, expected_weights = final_variables(resumed), final_variables(reference)
    assert weights.keys() == expected_weights.keys() and len(weights) > 10
    for name, value in expected_weights.items():
        np.testing.assert_array_equal(weights[name], value, err_msg=name)
    folder = Path(resumed.data.tags["xaiexp.output_dir"], "checkpoint")
    assert [p.name for p in folder.iterdir()] == ["ckpt-000003"]  # no half-written leftovers


HOLDER = """
import sys, time
from xaiexp.tracking import TrackingTarget, mlflow_run
from xaiexp.util.project import project_root
with mlflow_run(TrackingTarget.embedded(project_root()), "xaiexp", run_name="holder",
                tags={"xaiexp.output_dir": sys.argv[1]}, output_dir=sys.argv[1]) as run:
    print(run.info.run_id, flush=True)
    time.sleep(600)
"""


def test_resume_refuses_a_live_run_and_marks_it_failed_once_its_process_died(home, tmp_path):
    """The owner is a real process on the start-up path of a run (store, lock, MLflow run)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "run")],
                              stdout=subprocess.PIPE, text=True)
    try:
        run_id = holder.stdout.readline().strip()
        owner = json.loads((tmp_path / "run" / "owner.json").read_text())
        assert owner["pid"] == holder.pid
        described = f"pid {holder.pid} on {owner['host']} since {owner['since']}"
        refused = run_cli(f"resume={run_id}")
        assert refused.returncode == 2
        assert refused.stderr.strip() == (f"xaiexp: error: resume: run {run_id} is still running "
                                          f"({described}); stop it first")
    finally:
        holder.kill()
        holder.wait()
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    assert client.get_run(run_id).info.status == "RUNNING"  # as kill -9 leaves it
    nothing = run_cli("resume=last")
    assert nothing.returncode == 2 and "has no interrupted run to resume" in nothing.stderr
    dead = client.get_run(run_id)
    assert dead.info.status == "FAILED"
    assert dead.data.tags["xaiexp.error"] == f"its process ({described}) died without ending the run"
