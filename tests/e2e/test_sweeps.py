"""Real sweeps through the CLI: Hydra multirun and Optuna into MLflow parent/child runs, Optuna
studies shared by processes, resumed, and pruned."""

import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import mlflow
import optuna
import pytest

from tests.support.cli import TINY, run_cli
from xaiexp.app.sweep.study import open_storage
from xaiexp.tracking.report.runs import select_runs
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.img_data import CELL_PIXELS, HEADER_PIXELS

pytestmark = pytest.mark.slow


def store(home):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments, max_results=1000)


def split(runs):
    parents = [r for r in runs if r.data.tags.get("xaiexp.sweep") == "true"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def test_grid_sweep_with_parallel_jobs_goes_on_past_a_diverging_one(home):
    """A grid under joblib whose 1e6 learning rate diverges: those jobs are FAILED children, the
    others run, the parent ends FINISHED with the best finished child and the ranking."""
    result = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY, "epochs=1",
                     "schedule.init_lr=1e-3,1e6", "model.width=1,2", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = store(home)
    (parent,), children = split(runs)
    assert len(runs) == 5 and len(children) == 4
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    names = {c.info.run_name: c for c in children}
    assert sorted(names) == ["init_lr=1e-3 · width=1", "init_lr=1e-3 · width=2",
                             "init_lr=1e6 · width=1", "init_lr=1e6 · width=2"]
    assert {n: c.info.status for n, c in names.items() if "1e6" in n} == {
        "init_lr=1e6 · width=1": "FAILED", "init_lr=1e6 · width=2": "FAILED"}
    assert all("NaN or infinite" in names[n].data.tags["xaiexp.error"] for n in names if "1e6" in n)
    assert (result.stdout + result.stderr).count("failed (TrainingDivergedError") == 2  # one line each
    finished = [c for c in children if c.info.status == "FINISHED"]
    assert sorted(c.data.tags["xaiexp.job_num"] for c in children) == ["0", "1", "2", "3"]
    for child in finished:
        assert {"eval/accuracy", "train/ce", "test/accuracy"} <= set(child.data.metrics)
        assert [f.path for f in client.list_artifacts(child.info.run_id, "saliency")] == [
            "saliency/eval_epoch_001.npz", "saliency/eval_epoch_001.png",
            "saliency/test_epoch_001.npz", "saliency/test_epoch_001.png"]
    best = max(finished, key=lambda c: c.data.metrics["eval/accuracy"])
    assert parent.info.status == "FINISHED" and parent.data.tags["xaiexp.failed_children"] == "2"
    assert parent.data.tags["xaiexp.best_child_run_id"] == best.info.run_id
    assert parent.data.metrics["best/eval/accuracy"] == best.data.metrics["eval/accuracy"]
    assert "model.width=1,2" in parent.data.params["sweep.overrides"]
    check_the_ranking(client, parent, children, result.stderr)
    (sweep_dir,) = Path(home, "outputs", "multiruns").glob("*/*")
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    check_report_of_the_last_sweep(home, finished)


def check_the_ranking(client, parent, children, console):
    """The ranking, best first and the failed last, on the console and as the parent's
    description (Markdown) and artifact; the parent's link on the console."""
    ranked = sorted(children, key=lambda c: (c.info.status != "FINISHED", -c.data.metrics.get("eval/accuracy", 0),
                                             c.info.start_time))  # ties: the earlier first
    lines = console[console.index("ranked by eval/accuracy:"):].splitlines()
    assert lines[1].split()[:3] == ["rank", "run", "status"]
    for rank, (line, child) in enumerate(zip(lines[2:6], ranked), start=1):
        assert re.match(rf" *{rank} +{re.escape(child.info.run_name)} +{child.info.status} ", line), line
    assert lines[7] == "eval · saliency maps" and lines[8].split() == [  # split, maps, then metrics
        "rank", "run", "relevance_mass", "pointing_game", "deletion_auc", "insertion_auc"]
    link = next(line for line in lines if "browse it with" in line)
    assert max(map(len, lines[:lines.index(link)])) <= 100
    assert f"/#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}" \
           f"?workflowType=machine_learning" in link
    description = parent.data.tags["mlflow.note.content"]
    assert description.startswith(f"**Best: {ranked[0].info.run_name}** (eval/accuracy ")
    rows = [line for line in description.splitlines() if line.startswith("|")][2:]
    assert [row.split("|")[2].strip() for row in rows] == [c.info.run_name for c in ranked]
    assert [row.split("|")[3].strip() for row in rows] == ["FINISHED", "FINISHED", "FAILED", "FAILED"]
    assert client.download_artifacts(parent.info.run_id, "sweep_summary.md") and description in Path(
        client.download_artifacts(parent.info.run_id, "sweep_summary.md")).read_text()


def check_report_of_the_last_sweep(home, children):
    """``xaiexp report --sweep last``: the finished children ranked by the objective, a grid row
    each."""
    result = run_cli("report", "--sweep", "last")
    assert result.returncode == 0, result.stderr[-3000:]
    paths = [Path(word) for word in result.stdout.split()[-3:]]  # after the table it prints
    assert [p.name for p in paths] == ["report.md", "report.csv", "saliency_grid.png"]
    assert paths[0].parent.parent == Path(home, "outputs", "reports")
    with open(paths[1], newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["status"] == "FINISHED"]
    by_id = {c.info.run_id: c for c in children}
    assert sorted(row["run_id"] for row in rows) == sorted(by_id)
    objective = [float(row["eval/accuracy"]) for row in rows]
    assert objective == sorted(objective, reverse=True)
    assert all(float(row["accuracy"]) == by_id[row["run_id"]].data.metrics["test/accuracy"] for row in rows)
    assert {"model.width", "eval/accuracy", "xai/smint_saliency/relevance_mass"} <= set(rows[0])
    assert paths[0].read_text().count("\n| ") == 1 + 4  # header and a row per child
    grid = matplotlib.image.imread(paths[2])
    runs, columns = 2, 6  # run, x, saliency, Smoothed, Integrated, SmInt
    assert grid.shape[0] == HEADER_PIXELS + CELL_PIXELS * runs and grid.shape[1] >= CELL_PIXELS * columns


FAILING_SEARCH = """\
# @package _global_
defaults:
  - override /hydra/sweeper: optuna
  - override /optimizer: sgd
hydra:
  mode: MULTIRUN
  sweeper:
    direction: maximize
    n_trials: 4
    max_failure_rate: 0.5
    sampler:
      seed: 3  # draws 1e9 once in 4 trials (the third)
    params:
      schedule.init_lr: choice(0.001, 0.002, 0.003, 1e9)
"""


def test_optuna_sweep_records_a_failed_trial_and_goes_on(home, tmp_path):
    (tmp_path / "conf" / "hparams_search").mkdir(parents=True)
    (tmp_path / "conf" / "hparams_search" / "failing_search.yaml").write_text(FAILING_SEARCH)
    result = run_cli("-m", f"hydra.searchpath=[file://{tmp_path}/conf]", "hparams_search=failing_search",
                     *TINY, "epochs=1", "explain=none", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Best value:" in result.stdout + result.stderr
    client, runs = store(home)
    (parent,), children = split(runs)
    statuses = sorted(c.info.status for c in children)
    assert statuses == ["FAILED", "FINISHED", "FINISHED", "FINISHED"]
    (failed,) = [c for c in children if c.info.status == "FAILED"]
    assert failed.data.params["schedule.init_lr"] == "1000000000.0"
    assert "NaN or infinite" in failed.data.tags["xaiexp.error"]
    assert parent.info.status == "FINISHED" and parent.data.tags["xaiexp.failed_children"] == "1"
    assert "best/eval/accuracy" in parent.data.metrics
    assert parent.data.tags["xaiexp.optuna.study"] == "xaiexp"
    assert {f.path for f in client.list_artifacts(parent.info.run_id, "optuna")} >= {
        "optuna/optimization_history.png", "optuna/param_importances.png"}


def optuna_sweep(storage, n_trials, *extra):
    return ["-m", "hparams_search=optuna", f"hydra.sweeper.storage={storage}",
            f"hydra.sweeper.n_trials={n_trials}", *TINY, "epochs=1", "explain=none", *extra]


def study(home, storage):
    os.environ["XAIEXP_HOME"] = str(home)  # the fixture's, for the relative storage path
    return optuna.load_study(study_name="xaiexp", storage=open_storage(storage))


def test_two_processes_share_one_study_and_the_same_command_resumes_it(home):
    """Two sweeps started together on one SQLite study run 6 distinct trials, each one child run
    under its own process's parent; the same command again adds to the study."""
    storage = "sqlite:///outputs/optuna.db"
    (home / "outputs").mkdir(parents=True)
    store(home)  # MLflow's store exists before the two processes race to create it
    command = [sys.executable, "-m", "xaiexp", *optuna_sweep(storage, 3)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    trials = study(home, storage).trials
    assert sorted(t.number for t in trials) == list(range(6))
    assert {t.state.name for t in trials} == {"COMPLETE"}
    client, runs = store(home)
    parents, children = split(runs)
    assert len(parents) == 2 and len(children) == 6
    assert {c.info.status for c in children} == {"FINISHED"}
    by_parent = [sum(c.data.tags["mlflow.parentRunId"] == p.info.run_id for c in children) for p in parents]
    assert by_parent == [3, 3]
    # each trial ran once: its sampled rate is one child's, and no child has another's
    rates = sorted(float(c.data.params["schedule.init_lr"]) for c in children)
    assert rates == sorted(t.params["schedule.init_lr"] for t in trials) and len(set(rates)) == 6

    result = run_cli(*optuna_sweep(storage, 1), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    again = study(home, storage).trials
    assert [(t.number, t.params) for t in again[:6]] == [(t.number, t.params) for t in trials]
    assert len(again) == 7 and again[6].state.name == "COMPLETE"
    # `xaiexp report --sweep last` ranks the whole study: all three sweeps' children
    selection = select_runs(TrackingTarget.embedded(home), "xaiexp", sweep="last")
    assert sorted(run.info.run_id for run in selection.runs) == sorted(
        c.info.run_id for c in split(store(home)[1])[1])


def test_a_killed_sweep_resumed_keeps_its_finished_trials(home):
    """A sweep killed outright (SIGKILL: the machine died) during its second trial; the same
    command again keeps the first trial and goes on."""
    storage = "outputs/optuna.journal"
    sweep = subprocess.Popen([sys.executable, "-m", "xaiexp", *optuna_sweep(storage, 3, "epochs=3")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, trials = time.monotonic() + 600, []
    while time.monotonic() < deadline and sweep.poll() is None and len(trials) < 2:
        time.sleep(0.2)
        trials = study(home, storage).trials if (home / storage).exists() else []
    sweep.kill()
    sweep.wait(60)
    before = study(home, storage).trials
    assert [t.state.name for t in before] == ["COMPLETE", "RUNNING"]

    result = run_cli(*optuna_sweep(storage, 1), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    after = study(home, storage).trials
    assert [(t.params, t.value) for t in after[:1]] == [(t.params, t.value) for t in before[:1]]
    assert [t.state.name for t in after] == ["COMPLETE", "RUNNING", "COMPLETE"]


def test_a_median_pruner_stops_hopeless_trials_after_their_first_epoch(home):
    storage = "sqlite:///outputs/optuna.db"
    result = run_cli(*optuna_sweep(storage, 4, "epochs=3", "dataset.n_train=512", "schedule.min_lr=0",
                                   "hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_startup_trials=1",
                                   "hydra/sweeper/sampler=random", "hydra.sweeper.sampler.seed=1",
                                   "hydra.sweeper.params={schedule.init_lr: 'choice(1e-6, 3e-3)'}",
                                   "model.width=1"),
                     timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = study(home, storage).trials
    assert [t.params["schedule.init_lr"] for t in trials] == [3e-3, 1e-6, 3e-3, 1e-6]  # seed 1's draws
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED", "COMPLETE", "PRUNED"]
    assert [list(t.intermediate_values) for t in trials] == [[1, 2, 3], [1], [1, 2, 3], [1]]
    client, runs = store(home)
    (parent,), children = split(runs)
    pruned = [c for c in children if "xaiexp.pruned" in c.data.tags]
    assert len(pruned) == 2 and all(c.data.params["schedule.init_lr"] == "1e-06" for c in pruned)
    assert all(c.data.tags["xaiexp.pruned"].startswith("accuracy ") for c in pruned)
    assert sorted(c.data.tags["xaiexp.optuna.trial"] for c in children) == ["0", "1", "2", "3"]
    assert parent.data.tags["xaiexp.best_child_run_id"] not in {c.info.run_id for c in pruned}
    plots = {f.path for f in client.list_artifacts(parent.info.run_id, "optuna")}
    assert "optuna/intermediate_values.png" in plots
