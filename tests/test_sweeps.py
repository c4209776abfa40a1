"""Real sweeps through the CLI: Hydra multirun and Optuna into MLflow parent/child runs."""

import csv
from pathlib import Path

import matplotlib.image
import mlflow
import pytest

from conftest import TINY, run_cli
from xaiexp.util.img_data import CELL_PIXELS, TITLE_PIXELS

pytestmark = pytest.mark.slow


def store(home):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments, max_results=1000)


def split(runs):
    parents = [r for r in runs if r.data.tags.get("xaiexp.sweep") == "true"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def test_grid_sweep_with_parallel_jobs(home):
    result = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY, "epochs=1",
                     "schedule.init_lr=1e-3,3e-4", "model=lenet,cnn", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = store(home)
    (parent,), children = split(runs)
    assert len(runs) == 5 and len(children) == 4
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert sorted(c.info.run_name for c in children) == [
        "schedule.init_lr=0.0003,model=cnn", "schedule.init_lr=0.0003,model=lenet",
        "schedule.init_lr=0.001,model=cnn", "schedule.init_lr=0.001,model=lenet"]
    assert sorted(c.data.tags["xaiexp.job_num"] for c in children) == ["0", "1", "2", "3"]
    for child in children:
        assert {"eval/accuracy", "train/ce", "test/accuracy"} <= set(child.data.metrics)
        assert [f.path for f in client.list_artifacts(child.info.run_id, "saliency")] == [
            "saliency/eval_epoch_001.npz", "saliency/eval_epoch_001.png",
            "saliency/test_epoch_001.npz", "saliency/test_epoch_001.png"]
    best = max(children, key=lambda c: c.data.metrics["eval/accuracy"])
    assert parent.data.tags["xaiexp.best_child_run_id"] == best.info.run_id
    assert parent.data.metrics["best/eval/accuracy"] == best.data.metrics["eval/accuracy"]
    assert "model=lenet,cnn" in parent.data.params["sweep.overrides"]
    (sweep_dir,) = Path(home, "outputs", "multiruns").glob("*/*")
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    check_report_of_the_last_sweep(home, children)


def check_report_of_the_last_sweep(home, children):
    """``xaiexp report --sweep last``: the children ranked by the objective, a grid row each."""
    result = run_cli("report", "--sweep", "last")
    assert result.returncode == 0, result.stderr[-3000:]
    paths = [Path(line) for line in result.stdout.split()]
    assert [p.name for p in paths] == ["report.md", "report.csv", "saliency_grid.png"]
    assert paths[0].parent.parent == Path(home, "outputs", "reports")
    with open(paths[1], newline="") as file:
        rows = list(csv.DictReader(file))
    by_id = {c.info.run_id: c for c in children}
    assert sorted(row["run_id"] for row in rows) == sorted(by_id)
    objective = [float(row["eval/accuracy"]) for row in rows]
    assert objective == sorted(objective, reverse=True)
    assert all(float(row["accuracy"]) == by_id[row["run_id"]].data.metrics["test/accuracy"] for row in rows)
    assert {"model._target_", "schedule.init_lr", "eval/accuracy", "xai/smint_saliency/relevance_mass"} <= set(rows[0])
    assert paths[0].read_text().count("\n| ") == 1 + 4  # header and a row per child
    grid = matplotlib.image.imread(paths[2])
    runs, columns = 4, 6  # run, x, saliency, Smoothed, Integrated, SmInt
    assert grid.shape[:2] == (TITLE_PIXELS + CELL_PIXELS * runs, CELL_PIXELS * columns)


FAILING_GRID = """\
# @package _global_
defaults:
  - override /hydra/sweeper: optuna
  - override /hydra/sweeper/sampler: tpe
schedule:
  optimizer: sgd
hydra:
  mode: MULTIRUN
  sweeper:
    direction: maximize
    n_trials: 4
    max_failure_rate: 0.5
    sampler:
      seed: 0  # with optuna 2.10 this draws 1e9 exactly once in 4 trials (the grid sampler
               # crashes when its last trial fails)
    params:
      schedule.init_lr: choice(0.001, 0.002, 0.003, 1e9)
"""


def test_optuna_sweep_records_a_failed_trial_and_goes_on(home, tmp_path):
    (tmp_path / "conf" / "hparams_search").mkdir(parents=True)
    (tmp_path / "conf" / "hparams_search" / "failing_grid.yaml").write_text(FAILING_GRID)
    result = run_cli("-m", f"hydra.searchpath=[file://{tmp_path}/conf]", "hparams_search=failing_grid",
                     *TINY, "epochs=1", "explain=none", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Best value:" in result.stdout + result.stderr
    _, runs = store(home)
    (parent,), children = split(runs)
    statuses = sorted(c.info.status for c in children)
    assert statuses == ["FAILED", "FINISHED", "FINISHED", "FINISHED"]
    (failed,) = [c for c in children if c.info.status == "FAILED"]
    assert failed.data.params["schedule.init_lr"] == "1000000000.0"
    assert "NaN or infinite" in failed.data.tags["xaiexp.error"]
    assert parent.info.status == "FINISHED" and parent.data.tags["xaiexp.failed_children"] == "1"
    assert "best/eval/accuracy" in parent.data.metrics
