"""``xaiexp report`` against a real SQLite MLflow store, its runs and figure arrays logged by the
real MLflowTrace (driven through its hooks, no training) and sweep bookkeeping."""

import csv
import os

import matplotlib.image
import mlflow
import numpy as np
import pytest

from xaiexp.app.cli import main
from xaiexp.system import System
from xaiexp.tracking import MLflowTrace, TrackingTarget, mlflow_run
from xaiexp.tracking.figure_arrays import load_last_epoch
from xaiexp.tracking.report_runs import select_runs
from xaiexp.tracking.saliency_grid import saliency_grid
from xaiexp.tracking.sweep import finish_sweep, start_sweep
from xaiexp.util.data import Data
from xaiexp.util.img_data import CELL_PIXELS, HEADER_PIXELS, ImgData, Overlay

PROBES = 2


def figure(seed):
    """A saliency figure shaped like the Saliency trace's (8x8 images, two methods)."""
    rng = np.random.default_rng(seed)
    images, maps = rng.random((PROBES, 8, 8, 3), np.float32), rng.random((PROBES, 8, 8, 1), np.float32)
    return ImgData(y=np.array(["circle", "ring"]), y_pred=np.array(["circle", "cross"]), x=images,
                   **{"x saliency": Overlay(images, maps), "saliency": maps, "Smoothed saliency": maps ** 2})


def log_job(target, name, params, eval_accuracy, test_accuracy, quality=None, figures=True,
            parent=None, experiment="xaiexp"):
    """A finished run as a job logs it: two eval epochs and a test epoch through MLflowTrace.
    ``quality`` is {method: relevance mass}; the pointing game is its half."""
    system = System(log_steps=0, mode="eval")
    trace = MLflowTrace()
    trace.system = system
    with mlflow_run(target, experiment, run_name=name, params=params, parent_run_id=parent) as run:
        trace.on_begin(Data())
        for mode, epoch, accuracy in [("eval", 1, eval_accuracy / 2), ("eval", 2, eval_accuracy),
                                      ("test", 2, test_accuracy)]:
            system.mode, system.epoch_idx, system.global_step = mode, epoch, 10 * epoch
            data = Data()
            data.write_with_log("accuracy", accuracy)
            for method, mass in (quality or {}).items():
                data.write_with_log(f"xai/{method}/relevance_mass", mass)
                data.write_with_log(f"xai/{method}/pointing_game", mass / 2)
            if figures:
                data.write_without_log("saliency", figure(seed=epoch + 10 * (mode == "test")))
            trace.on_epoch_end(data)
        trace.on_end(Data())
    return run.info.run_id


def config_params(init_lr, model, direction="maximize"):
    return {"name": "xaiexp", "seed": 0, "schedule.init_lr": init_lr, "model.name": model,
            "objective.metric": "eval/accuracy", "objective.direction": direction}


def sweep(target, experiment, jobs, objective="eval/accuracy", direction="maximize"):
    """A sweep as the CLI's callback records it: the parent, its jobs, then the best child."""
    parent = start_sweep(target, experiment, f"sweep {experiment}", {"sweep.objective": objective})
    ids = [log_job(target, *job, parent=parent, experiment=experiment) for job in jobs]
    finish_sweep(objective, direction)
    return parent, ids


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Experiment "xaiexp": a sweep of three jobs (the cnn job without figures) and a plain run;
    experiment "losses": a sweep that minimizes its objective, its jobs without figures."""
    root = tmp_path_factory.mktemp("store")
    target = TrackingTarget.embedded(root)
    quality = {"saliency": 0.41234567, "smoothed_saliency": 0.55}
    parent, (lenet_fast, lenet_slow, cnn) = sweep(target, "xaiexp", [
        ("schedule.init_lr=0.001,model=lenet", config_params(1e-3, "lenet"), 0.8, 0.7512345678901234, quality),
        ("schedule.init_lr=0.0003,model=lenet", config_params(3e-4, "lenet"), 0.9, 0.7, quality),
        ("schedule.init_lr=0.001,model=cnn", config_params(1e-3, "cnn"), 0.6, 0.8, None, False)])
    plain = log_job(target, "xaiexp", config_params(1e-3, "lenet") | {"epochs": 3}, 0.5, 0.95, quality)
    losses_parent, _ = sweep(target, "losses", [
        ("schedule.init_lr=0.001", config_params(1e-3, "lenet", "minimize"), 0.6, 0.5, None, False),
        ("schedule.init_lr=0.01", config_params(1e-2, "lenet", "minimize"), 0.3, 0.5, None, False)],
        direction="minimize")
    return {"root": root, "target": target, "parent": parent, "lenet_fast": lenet_fast,
            "lenet_slow": lenet_slow, "cnn": cnn, "plain": plain, "losses_parent": losses_parent}


def report(store, tmp_path, *args, capsys=None):
    """Run ``xaiexp report`` in this process; the three paths it printed."""
    main(["report", "--uri", store["target"].uri, "--out", str(tmp_path), *args])
    return capsys.readouterr() if capsys else None


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def markdown_rows(path):
    """The table of report.md as lists of cells, the header first."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_a_figure_is_logged_as_png_and_npz_columns_overlay_left_out(store):
    client = mlflow.MlflowClient(store["target"].uri)
    paths = [item.path for item in client.list_artifacts(store["lenet_fast"], "saliency")]
    assert paths == ["saliency/eval_epoch_001.npz", "saliency/eval_epoch_001.png",
                     "saliency/eval_epoch_002.npz", "saliency/eval_epoch_002.png",
                     "saliency/test_epoch_002.npz", "saliency/test_epoch_002.png"]
    arrays = load_last_epoch(client, store["lenet_fast"], "saliency", "eval")
    logged = figure(seed=2)
    assert list(arrays) == ["y", "y_pred", "x", "saliency", "Smoothed saliency"]
    assert arrays["y"].tolist() == ["circle", "ring"] and arrays["y"].dtype.kind == "U"
    np.testing.assert_array_equal(arrays["x"], logged["x"])
    np.testing.assert_array_equal(arrays["Smoothed saliency"], logged["Smoothed saliency"])
    assert load_last_epoch(client, store["cnn"], "saliency", "eval") is None


def test_sweep_table_ranks_by_the_objective_with_swept_params(store, tmp_path, capsys):
    out = report(store, tmp_path, "--sweep", "last", capsys=capsys)
    assert out.out.split() == [str(tmp_path / name) for name in ("report.md", "report.csv", "saliency_grid.png")]
    assert out.err.strip() == ("xaiexp: note: run 'schedule.init_lr=0.001,model=cnn' logged no saliency "
                               "arrays (.npz); left out of the grid")
    header, *rows = markdown_rows(tmp_path / "report.md")
    assert header == ["run", "run_id", "status", "model.name", "schedule.init_lr", "accuracy", "eval/accuracy",
                      "xai/saliency/pointing_game", "xai/saliency/relevance_mass",
                      "xai/smoothed_saliency/pointing_game", "xai/smoothed_saliency/relevance_mass"]
    assert [row[0] for row in rows] == ["schedule.init_lr=0.0003,model=lenet", "schedule.init_lr=0.001,model=lenet",
                                        "schedule.init_lr=0.001,model=cnn"]  # eval accuracy 0.9, 0.8, 0.6
    assert rows[1] == ["schedule.init_lr=0.001,model=lenet", store["lenet_fast"], "FINISHED", "lenet", "0.001",
                       "0.751", "0.8", "0.206", "0.412", "0.275", "0.55"]
    assert rows[2][-4:] == ["", "", "", ""]
    assert "highest eval/accuracy first" in (tmp_path / "report.md").read_text()


def test_csv_has_the_same_rows_at_full_precision(store, tmp_path):
    report(store, tmp_path, "--parent", store["parent"])
    rows = read_csv(tmp_path / "report.csv")
    assert [row["run_id"] for row in rows] == [store["lenet_slow"], store["lenet_fast"], store["cnn"]]
    assert float(rows[1]["accuracy"]) == 0.7512345678901234
    assert float(rows[1]["xai/saliency/relevance_mass"]) == 0.41234567
    assert rows[2]["xai/saliency/relevance_mass"] == ""


def test_experiment_table_leaves_sweep_parents_out_and_ranks_by_accuracy(store, tmp_path):
    report(store, tmp_path, "--experiment", "xaiexp", "--mode", "eval")
    rows = read_csv(tmp_path / "report.csv")
    assert [row["run_id"] for row in rows] == [store["lenet_slow"], store["lenet_fast"], store["cnn"],
                                               store["plain"]]  # eval accuracy 0.9, 0.8, 0.6, 0.5
    assert list(rows[0])[3:6] == ["epochs", "model.name", "schedule.init_lr"]
    assert [row["epochs"] for row in rows] == ["", "", "", "3"]
    assert "eval/accuracy" not in rows[0]  # the objective is the accuracy column itself


def test_a_minimizing_sweep_ranks_lowest_first(store):
    selection = select_runs(store["target"], "losses", parent=store["losses_parent"])
    assert [run.info.run_name for run in selection.runs] == ["schedule.init_lr=0.01", "schedule.init_lr=0.001"]
    assert selection.objective == "eval/accuracy" and not selection.maximize


def test_by_methods_pivots_the_quality_metrics(store, tmp_path):
    report(store, tmp_path, "--sweep", "last", "--by", "methods")
    header, *rows = markdown_rows(tmp_path / "report.md")
    assert header == ["run", "run_id", "model.name", "schedule.init_lr", "method", "pointing_game", "relevance_mass"]
    assert [(row[0], row[4]) for row in rows] == [
        ("schedule.init_lr=0.0003,model=lenet", "saliency"), ("schedule.init_lr=0.0003,model=lenet", "smoothed_saliency"),
        ("schedule.init_lr=0.001,model=lenet", "saliency"), ("schedule.init_lr=0.001,model=lenet", "smoothed_saliency")]
    assert rows[0][5:] == ["0.206", "0.412"]
    assert float(read_csv(tmp_path / "report.csv")[0]["relevance_mass"]) == 0.41234567


def test_grid_has_a_row_per_run_with_arrays_and_a_column_per_method(store, tmp_path):
    report(store, tmp_path, "--experiment", "xaiexp", "--probe", "1")
    grid = matplotlib.image.imread(tmp_path / "saliency_grid.png")
    runs, columns = 3, 4  # run name, x, saliency, Smoothed saliency
    assert grid.shape[0] == HEADER_PIXELS + CELL_PIXELS * runs and grid.shape[1] >= CELL_PIXELS * columns


def test_grid_takes_the_probe_of_each_run_and_notes_the_runs_left_out():
    first, second = figure(seed=1), figure(seed=2)
    arrays = [{key: np.asarray(value) for key, value in f.items() if not isinstance(value, Overlay)}
              for f in (first, second)]
    small = {"x": np.zeros((2, 4, 4, 3)), "saliency": np.zeros((2, 4, 4, 1))}
    grid, notes = saliency_grid([("a,b", arrays[0]), ("none", None), ("small", small),
                                 ("c", {"x": arrays[1]["x"]})], probe=1)
    assert list(grid) == ["run", "x", "saliency", "Smoothed saliency"]
    assert grid["run"] == ["a\nb", "c"]
    np.testing.assert_array_equal(grid["x"], [first["x"][1], second["x"][1]])
    np.testing.assert_array_equal(grid["saliency"][1], np.zeros((8, 8, 1)))  # c has no maps: blank
    assert notes == ["run 'none' logged no saliency arrays (.npz); left out of the grid",
                     "run 'small' has images of another size; left out of the grid"]
    assert saliency_grid([("a", arrays[0])], probe=PROBES) == (
        None, [f"run 'a' has no probe {PROBES} in its saliency arrays; left out of the grid"])


@pytest.mark.parametrize("args, message", [
    (["--experiment", "nope"], "no experiment 'nope' in sqlite:///"),
    (["--parent", "0123abc"], "no run '0123abc' in sqlite:///"),
    (["--experiment", "losses", "--probe", "0"], "no saliency/test_epoch_*.npz with probe 0 in the 2 run(s)"),
    (["--experiment", "xaiexp", "--probe", "5"], "no saliency/test_epoch_*.npz with probe 5 in the 4 run(s)"),
])
def test_nothing_to_report_exits_2_with_one_line(store, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as stop:
        report(store, tmp_path / "out", *args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err
    assert [line for line in err.splitlines() if line.startswith("xaiexp: error:")] == [err.splitlines()[-1]]
    assert not (tmp_path / "out").exists()


def test_a_run_without_children_or_an_experiment_without_runs(store, tmp_path, capsys):
    client = mlflow.MlflowClient(store["target"].uri)
    client.create_experiment("empty", artifact_location=tmp_path.as_uri())
    for args, message in [(["--parent", store["plain"]], f"run {store['plain']} (xaiexp) has no child runs"),
                          (["--experiment", "empty", "--sweep", "last"], "experiment 'empty' has no sweep in"),
                          (["--experiment", "empty"], "experiment 'empty' has no runs in")]:
        with pytest.raises(SystemExit) as stop:
            report(store, tmp_path, *args)
        assert stop.value.code == 2
        assert capsys.readouterr().err.startswith(f"xaiexp: error: {message}")


def test_no_store_is_an_error_and_creates_none(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "mlflow.db"
    with pytest.raises(SystemExit) as stop:
        main(["report", "--uri", f"sqlite:///{missing}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"xaiexp: error: no MLflow store at sqlite:///{missing}\n"
    assert not missing.parent.exists()


def test_default_store_and_output_folder_are_under_the_project_root(store, home, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # not read, as by `xaiexp`
    (home / "outputs").mkdir(parents=True)
    os.symlink(store["root"] / "outputs" / "mlflow.db", home / "outputs" / "mlflow.db")
    main(["report", "--sweep", "last"])
    paths = capsys.readouterr().out.split()
    assert len(paths) == 3 and all(os.path.exists(p) for p in paths)
    assert os.path.dirname(paths[0]).startswith(str(home / "outputs" / "reports" / "sweep_xaiexp_"))


def test_a_child_below_the_objectives_floor_is_not_the_best_and_ranks_last(tmp_path):
    """finish_sweep does not pick a child below the objective's floor, however good its value,
    and the report ranks it last."""
    from xaiexp.tracking.sweep import OBJECTIVE_UNMET

    target = TrackingTarget.embedded(tmp_path)
    metric = "eval/xai/saliency/relevance_mass"
    parent = start_sweep(target, "floors", "sweep floors", {"sweep.objective": metric})
    for name, mass, unmet in (("focused but wrong", 0.9, "eval/accuracy 0.4 < 0.9"),
                              ("good", 0.6, None), ("fair", 0.5, None)):
        with mlflow_run(target, "floors", run_name=name, parent_run_id=parent):
            mlflow.log_metric(metric, mass)
            if unmet:
                mlflow.set_tag(OBJECTIVE_UNMET, unmet)
    assert finish_sweep(metric, "maximize").info.run_name == "good"
    assert mlflow.MlflowClient(target.uri).get_run(parent).data.metrics[f"best/{metric}"] == 0.6
    ranked = select_runs(target, "floors", parent=parent).runs
    assert [run.info.run_name for run in ranked] == ["good", "fair", "focused but wrong"]


def test_scores_with_a_standard_error_show_a_95_percent_interval(tmp_path):
    from types import SimpleNamespace

    from xaiexp.tracking.report_table import methods_table, runs_table

    metrics = {"eval/accuracy": 0.93, "eval/xai/saliency/relevance_mass": 0.41234,
               "eval/xai/saliency/relevance_mass_se": 0.02, "eval/xai/saliency/pointing_game": 0.5}
    run = SimpleNamespace(info=SimpleNamespace(run_name="a", run_id="1", status="FINISHED"),
                          data=SimpleNamespace(metrics=metrics, params={}))
    selection = SimpleNamespace(runs=[run], objective="eval/accuracy")
    by_method = methods_table(selection, "eval")
    assert by_method.markdown().splitlines()[::2] == [
        "| run | run_id | method | pointing_game | relevance_mass |",
        "| a | 1 | saliency | 0.5 | 0.412 ± 0.039 |"]
    by_method.write_csv(tmp_path / "methods.csv")
    assert read_csv(tmp_path / "methods.csv")[0]["relevance_mass_se"] == "0.02"
    assert runs_table(selection, "eval").markdown().splitlines()[2].endswith(
        "| 0.93 | 0.5 | 0.412 ± 0.039 |")
