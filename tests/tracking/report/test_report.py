"""``xaiexp report`` against a real SQLite MLflow store, its runs and figure arrays logged by the
real MLflowTrace (driven through its hooks, no training) and sweep bookkeeping."""

import csv
import os
import tempfile
from pathlib import Path

import matplotlib.image
import mlflow
import numpy as np
import pytest

from tests.support.cli import run_cli
from xaiexp.app.cli import main
from xaiexp.system import System
from xaiexp.tracking import MLflowTrace, TrackingTarget, mlflow_run
from xaiexp.tracking.figure_arrays import load_last_epoch
from xaiexp.tracking.report.runs import select_runs
from xaiexp.tracking.report.saliency_grid import saliency_grid
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


def benjamini_hochberg(p_values):
    """Adjusted p-values by the textbook step-up rule, a loop: the i-th smallest p is scaled
    by m / i, and no adjusted value may exceed the one of a larger p (capped at 1)."""
    m, order = len(p_values), sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, smallest_above = [0.0] * m, 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        smallest_above = min(smallest_above, p_values[index] * m / rank)
        adjusted[index] = smallest_above
    return adjusted


def adjusted_in(row):
    """A report.csv row's p-values (``<score>_p``) and its adjusted ones (``<score>_q``)."""
    keys = [key.removesuffix("_p") for key, value in row.items()
            if key.endswith("_p") and not key.endswith("_floor_p") and value]
    return [float(row[f"{key}_p"]) for key in keys], [float(row[f"{key}_q"]) for key in keys]


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
    assert out.out.split()[-3:] == [str(tmp_path / name) for name in ("report.md", "report.csv", "saliency_grid.png")]
    assert out.err.strip() == ("xaiexp: note: run 'schedule.init_lr=0.001,model=cnn' logged no saliency "
                               "arrays (.npz); left out of the grid")
    header, *rows = markdown_rows(tmp_path / "report.md")
    assert header == ["run", "run_id", "status", "model.name", "schedule.init_lr", "accuracy", "eval/accuracy",
                      "xai/saliency/relevance_mass", "xai/saliency/pointing_game",  # the registry's order
                      "xai/smoothed_saliency/relevance_mass", "xai/smoothed_saliency/pointing_game"]
    assert [row[0] for row in rows] == ["schedule.init_lr=0.0003,model=lenet", "schedule.init_lr=0.001,model=lenet",
                                        "schedule.init_lr=0.001,model=cnn"]  # eval accuracy 0.9, 0.8, 0.6
    assert rows[1] == ["schedule.init_lr=0.001,model=lenet", store["lenet_fast"], "FINISHED", "lenet", "0.001",
                       "0.751", "0.8", "0.412", "0.206", "0.55", "0.275"]
    assert rows[2][-4:] == ["", "", "", ""]
    assert "highest eval/accuracy first" in (tmp_path / "report.md").read_text()


def test_the_table_is_printed_readable_at_100_columns(store, tmp_path, capsys):
    """The runs first (whole names, the params that differ by their last part), then one table
    per metric: a row per run, a column per method."""
    printed = report(store, tmp_path, "--sweep", "last", capsys=capsys).out.splitlines()
    assert printed[0] == "# sweep xaiexp: test metrics, highest eval/accuracy first"
    assert max(map(len, printed[:-3])) <= 100
    table = "\n".join(printed)
    assert "schedule.init_lr=0.0003,model=lenet  lenet" in table  # the whole name, then model.name
    assert printed[2].split() == ["run", "name", "init_lr", "accuracy", "eval/accuracy"]
    blocks = table.split("\n\n")
    assert blocks[2].splitlines()[:2] == ["relevance_mass", "run                                  saliency  smoothed"]
    assert blocks[3].splitlines()[0] == "pointing_game" and "0.412" in blocks[2] and store["lenet_fast"] not in table


MEAN_MASS = {"saliency": 0.41, "smoothed_saliency": 0.52, "integrated_saliency": 0.47, "smint_saliency": 0.55}


def log_four_metrics(target, experiment, name, accuracy, ids, shift, parent):
    """A sweep child's test epoch as the Saliency trace logs it: four methods x four metrics,
    means, standard errors and the scores image by image (relevance mass ``shift``ed)."""
    from xaiexp.tracking.best import JOB_TAG
    from xaiexp.xai.image_scores import ImageScores

    rng = np.random.default_rng(7)
    system = System(log_steps=0, mode="test", epoch_idx=2, global_step=20)
    trace = MLflowTrace()
    trace.system = system
    per_image = {}
    with mlflow_run(target, experiment, run_name=name, parent_run_id=parent,
                    params={"schedule.init_lr": name[8:12], "batch_size": name[-2:]}, tags={JOB_TAG: name}) as run:
        trace.on_begin(Data())
        data = Data()
        data.write_with_log("accuracy", accuracy)
        for method, mass in MEAN_MASS.items():
            for metric in ("relevance_mass", "pointing_game", "deletion_auc", "insertion_auc"):
                scores = rng.uniform(0, 2 * mass, len(ids)) + (shift if metric == "relevance_mass" else 0)
                data.write_with_log(f"xai/{method}/{metric}", float(np.mean(scores)))
                data.write_with_log(f"xai/{method}/{metric}_se", float(np.std(scores, ddof=1) / np.sqrt(len(ids))))
                per_image[f"{method}/{metric}"] = scores
        data.write_without_log("saliency_scores", ImageScores(np.asarray(ids), per_image))
        data.write_without_log("saliency", figure(seed=0))
        trace.on_epoch_end(data)
        trace.on_end(Data())
    return run.info.run_id


def test_a_four_run_sweep_reads_within_100_columns_without_warnings(tmp_path):
    """``xaiexp report --sweep last`` (the real command) on a 4-run sweep of four methods and
    four metrics: every line within 100 columns, each table whole (the runs, then one per
    metric), the names whole, no warning line although two runs' scores are nearly identical
    image by image (scipy warns of precision loss in its t-test there)."""
    target = TrackingTarget.embedded(tmp_path)
    parent = start_sweep(target, "four", "sweep lenet · shapes", {"sweep.objective": "test/accuracy"})
    ids = [f"{i:016x}" for i in range(30)]
    names = ["init_lr=1e-3 · batch_size=32", "init_lr=1e-3 · batch_size=64", "init_lr=3e-3 · batch_size=32",
             "init_lr=3e-3 · batch_size=64"]
    for name, accuracy, shift in zip(names, (0.9, 0.8, 0.7, 0.6), (0.0, 1e-12, 0.05, -0.05)):
        log_four_metrics(target, "four", name, accuracy, ids, shift, parent)
    finish_sweep("test/accuracy", "maximize")
    result = run_cli("report", "--uri", target.uri, "--experiment", "four", "--sweep", "last",
                     "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""  # no warning, no note
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)
    headers = [line for line in lines if line.startswith("run ")]
    assert len(headers) == 1 + 4  # the runs, then one table per metric: none cut in two
    assert lines[lines.index(headers[1]) + 2].strip().startswith("[")  # its intervals under the estimates
    assert headers[1].split() == ["run", "saliency", "smoothed", "integrated", "smint"]
    assert sum(line.startswith(tuple(names)) for line in lines) == 4 * 5  # every name whole, in every table
    assert "init_lr" in headers[0] and "batch_size" in headers[0]


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
    assert header == ["run", "run_id", "model.name", "schedule.init_lr", "accuracy", "method", "relevance_mass",
                      "pointing_game"]
    assert [(row[0], row[5]) for row in rows] == [
        ("schedule.init_lr=0.0003,model=lenet", "saliency"),
        ("schedule.init_lr=0.0003,model=lenet", "smoothed_saliency"),
        ("schedule.init_lr=0.001,model=lenet", "saliency"), ("schedule.init_lr=0.001,model=lenet", "smoothed_saliency")]
    assert rows[0][4:] == ["0.7", "saliency", "0.412", "0.206"]
    assert float(read_csv(tmp_path / "report.csv")[0]["relevance_mass"]) == 0.41234567


def test_grid_has_a_row_per_run_with_arrays_and_a_column_per_method(store, tmp_path):
    report(store, tmp_path, "--experiment", "xaiexp", "--probe", "1")
    grid = matplotlib.image.imread(tmp_path / "saliency_grid.png")
    runs, columns = 3, 5  # run name and accuracy, label/prediction, x, saliency, Smoothed saliency
    assert grid.shape[0] == HEADER_PIXELS + CELL_PIXELS * runs and grid.shape[1] >= CELL_PIXELS * columns


def test_the_grids_labels_never_overlap():
    """Each text of the painted grid — run name, accuracy, label, prediction, headers — keeps to
    its own box: no two overlap, none leaves the picture (long sweep-child names included)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    arrays = {key: np.asarray(value) for key, value in figure(seed=1).items() if not isinstance(value, Overlay)}
    names = ["init_lr=1e-3 · batch_size=32", "init_lr=3e-3 · batch_size=64 · model=cnn", "line\nbreak"]
    grid, _ = saliency_grid([(name, 0.5 + i / 10, arrays) for i, name in enumerate(names)], probe=0)
    painted = grid.paint_figure()
    renderer = FigureCanvasAgg(painted).get_renderer()
    boxes = [text.get_window_extent(renderer) for text in painted.texts if text.get_text()]
    assert len(boxes) == 4 + 4 + 3 * 4  # headers, the colour scale; a run's name, accuracy, label, prediction
    width, height = painted.get_size_inches() * painted.dpi
    assert all(0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height for box in boxes)
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    matplotlib.pyplot.close(painted)


def test_grid_takes_the_probe_of_each_run_and_notes_the_runs_left_out():
    first, second = figure(seed=1), figure(seed=2)
    arrays = [{key: np.asarray(value) for key, value in f.items() if not isinstance(value, Overlay)}
              for f in (first, second)]
    small = {"x": np.zeros((2, 4, 4, 3)), "saliency": np.zeros((2, 4, 4, 1))}
    grid, notes = saliency_grid([("a,b", 0.75, arrays[0]), ("none", 0.5, None), ("small", 0.5, small),
                                 ("c", None, {"x": arrays[1]["x"]})], probe=1)
    assert list(grid) == ["run", "accuracy", "y", "y_pred", "x", "saliency", "Smoothed saliency"]
    assert grid["run"] == ["a,b", "c"] and grid["accuracy"] == ["0.750", ""]
    assert grid["y"] == ["ring", ""] and grid["y_pred"] == ["cross", ""]  # probe 1's label and prediction
    np.testing.assert_array_equal(grid["x"], [first["x"][1], second["x"][1]])
    np.testing.assert_array_equal(grid["saliency"][1], np.zeros((8, 8, 1)))  # c has no maps: blank
    assert notes == ["run 'none' logged no saliency arrays (.npz); left out of the grid",
                     "run 'small' has images of another size; left out of the grid"]
    assert saliency_grid([("a", 0.5, arrays[0])], probe=PROBES) == (
        None, [f"run 'a' has {PROBES} probes (0-1), no probe {PROBES}; left out of the grid"])


@pytest.mark.parametrize("args, message", [
    (["--experiment", "nope"], "no experiment 'nope' in sqlite:///"),
    (["--parent", "0123abc"], "no run '0123abc' in sqlite:///"),
    (["--parent", "x'; --"], "no run \"x'; --\" in sqlite:///"),
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
    paths = capsys.readouterr().out.split()[-3:]
    assert all(os.path.exists(p) for p in paths)
    assert os.path.dirname(os.path.abspath(paths[0])).startswith(str(home / "outputs" / "reports" / "sweep_xaiexp_"))
    assert os.path.isabs(paths[0]) != str(home).startswith(os.getcwd())  # relative where it can be


def test_a_child_below_the_objectives_floor_is_not_the_best_and_ranks_last(tmp_path):
    """finish_sweep does not pick a child below the objective's floor, however good its value,
    and the report ranks it last."""
    from xaiexp.tracking.best import OBJECTIVE_UNMET

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


def test_a_tie_has_one_best_on_the_parent_the_console_the_report_and_in_optuna(tmp_path, capsys):
    """Two trials tied at 0.95: the parent's tags and description, the console's ranking, the
    report and the Optuna sweeper's answer all name the one launched first (trial 0), although
    trial 1 started first and MLflow lists the newest run first."""
    import optuna

    from xaiexp.app.sweep.optuna_sweeper import best_trial
    from xaiexp.tracking.best import TRIAL_TAG
    from xaiexp.tracking.sweep_summary import DESCRIPTION_TAG

    target = TrackingTarget.embedded(tmp_path)
    parent = start_sweep(target, "ties", "sweep ties", {"sweep.objective": "eval/accuracy"})
    for name, trial, accuracy in (("init_lr=0.00884", 1, 0.95), ("init_lr=0.00118", 0, 0.95),
                                  ("init_lr=0.0003", 2, 0.9)):  # parallel jobs: trial 1 started first
        with mlflow_run(target, "ties", run_name=name, parent_run_id=parent, tags={TRIAL_TAG: trial}):
            mlflow.log_metric("eval/accuracy", accuracy)
    assert finish_sweep("eval/accuracy", "maximize").info.run_name == "init_lr=0.00118"
    tags = mlflow.MlflowClient(target.uri).get_run(parent).data.tags
    assert tags["xaiexp.best_child_name"] == "init_lr=0.00118"
    assert tags[DESCRIPTION_TAG].startswith("**Best: init_lr=0.00118** (eval/accuracy 0.95)")
    console = capsys.readouterr().err.splitlines()
    assert [line.split()[:2] for line in console[2:5]] == [["1", "init_lr=0.00118"], ["2", "init_lr=0.00884"],
                                                           ["3", "init_lr=0.0003"]]
    ranked = select_runs(target, "ties", parent=parent).runs
    assert [run.info.run_name for run in ranked] == ["init_lr=0.00118", "init_lr=0.00884", "init_lr=0.0003"]

    study = optuna.create_study(direction="maximize")
    first, second = study.ask(), study.ask()
    study.tell(second, 0.95)  # told first: Optuna's own best_trial keeps it
    study.tell(first, 0.95)
    assert study.best_trial.number == 1 and best_trial(study).number == 0


def test_scores_show_their_logged_95_percent_interval_as_the_console_does(tmp_path):
    import pandas as pd

    from xaiexp.tracking.report.table import methods_table, runs_table

    frame = pd.DataFrame([{"run_id": "1", "status": "FINISHED", "tags.mlflow.runName": "a",
                           "metrics.eval/accuracy": 0.93, "metrics.eval/xai/saliency/relevance_mass": 0.41234,
                           "metrics.eval/xai/saliency/relevance_mass_se": 0.02,
                           "metrics.eval/xai/saliency/relevance_mass_ci_low": 0.3712,
                           "metrics.eval/xai/saliency/relevance_mass_ci_high": 0.4534,
                           "metrics.eval/xai/saliency/relevance_mass_n": 40,
                           "metrics.eval/xai/saliency/pointing_game": 0.5,
                           "metrics.eval/xai/saliency/pointing_game_se": 0.1}])  # an older run: no interval
    by_method = methods_table(frame, "eval/accuracy", "eval")
    assert [line.replace(" ", "") for line in by_method.markdown().splitlines()[::2]] == [
        "|run|run_id|accuracy|method|relevance_mass|pointing_game|",
        "|a|1|0.93|saliency|0.412[0.37,0.45]|0.5|"]
    by_method.write_csv(tmp_path / "methods.csv")
    written = read_csv(tmp_path / "methods.csv")[0]
    assert (written["relevance_mass_se"], written["relevance_mass_ci_low"], written["relevance_mass_n"]) == (
        "0.02", "0.3712", "40")
    assert runs_table(frame, "eval/accuracy", "eval").markdown().splitlines()[2].replace(" ", "").endswith(
        "|0.93|0.412[0.37,0.45]|0.5|")


def log_scored(target, experiment, name, accuracy, ids, masses, params=None, figures=True,
               metric="relevance_mass"):
    """A finished run whose test epoch logs, through MLflowTrace, per-image ``metric`` scores
    (``masses``: {method: (n,) scores} of images ``ids``, None: no per-image scores) with their
    means and standard errors, as the Saliency trace did before it logged intervals;
    best-model weights of epoch 1."""
    from xaiexp.xai.image_scores import ImageScores

    system = System(log_steps=0, mode="test", epoch_idx=2, global_step=20)
    trace = MLflowTrace()
    trace.system = system
    with mlflow_run(target, experiment, run_name=name, params=params or {}) as run:
        trace.on_begin(Data())
        data = Data()
        data.write_with_log("accuracy", accuracy)
        for method, scores in (masses or {}).items():
            data.write_with_log(f"xai/{method}/{metric}", float(np.mean(scores)))
            data.write_with_log(f"xai/{method}/{metric}_se", np.std(scores, ddof=1) / np.sqrt(len(scores)))
        if masses is not None:
            data.write_without_log("saliency_scores", ImageScores(
                np.asarray(ids), {f"{m}/{metric}": np.asarray(v) for m, v in masses.items()}, "best", 1))
        if figures:
            data.write_without_log("saliency", figure(seed=0))
        trace.on_epoch_end(data)
        trace.on_end(Data())
    return run.info.run_id


@pytest.fixture(scope="module")
def paired(store):
    """Experiment "paired": 40 images; "best" (accuracy 0.9), "shifted" (vanilla 0.03 higher on
    every image, give or take 0.05), "same" (scores permuted between image pairs: the same mean,
    p = 1 on vanilla), "other seed" (other images), "no maps" (explain=none: no figure, no
    per-image scores)."""
    target = store["target"]  # its own experiment in the module's store: a new store takes seconds
    rng = np.random.default_rng(0)
    ids = [f"{i:016x}" for i in range(40)]
    vanilla, smooth = rng.uniform(0.3, 0.7, 40), rng.uniform(0.3, 0.7, 40)
    noise = rng.normal(0, 0.05, 40)
    params = {"explain.methods": "['smoothgrad', 'vanilla']"}
    runs = {"best": log_scored(target, "paired", "best", 0.9, ids, {"saliency": vanilla, "smoothed_saliency": smooth},
                               params),
            "shifted": log_scored(target, "paired", "shifted", 0.8, ids[::-1],  # order does not matter
                                  {"saliency": (vanilla + 0.03 + noise)[::-1], "smoothed_saliency": smooth[::-1]},
                                  params),
            "same": log_scored(target, "paired", "same", 0.7, ids,
                               {"saliency": vanilla + np.repeat([0.1, -0.1], 20), "smoothed_saliency": smooth},
                               params, figures=False),
            "other seed": log_scored(target, "paired", "other seed", 0.6, [f"{i:016x}" for i in range(40, 80)],
                                     {"saliency": vanilla, "smoothed_saliency": smooth}, params, figures=False),
            "no maps": log_scored(target, "paired", "no maps", 0.4, ids, None,
                                  {"explain": "none"}, figures=False)}
    return target, runs


def sign_flip_reference(first, second):
    """scipy's permutation test of the paired differences, each one's sign flipped at random."""
    from scipy.stats import permutation_test

    differences = np.asarray(second) - np.asarray(first)
    return permutation_test((differences, np.zeros_like(differences)),
                            lambda a, b, axis: np.mean(a - b, axis=axis), vectorized=True,
                            permutation_type="samples", n_resamples=9999,
                            rng=np.random.default_rng(0)).pvalue


def test_the_cards_first_strip_is_at_step_0_and_the_scores_are_a_table_too(store, paired):
    """MLflow opens an image card at step 0: a run's first figure of each key is its stepped
    image there, the later ones at their global step; the stepped image is the figure's strip.
    The per-image scores are also a CSV (what MLflow's artifact view previews as a table) holding
    the .npz's numbers to 4 significant digits."""
    import pandas as pd

    client = mlflow.MlflowClient(store["target"].uri)
    stepped = {}
    for item in client.list_artifacts(store["lenet_fast"], "images"):
        key, _, step = item.path.removeprefix("images/").split("+")[:3]
        if item.path.endswith(".png"):
            stepped.setdefault(key, []).append(int(step))
    assert {key: sorted(steps) for key, steps in stepped.items()} == {"eval~saliency": [0, 20], "test~saliency": [0]}
    with tempfile.TemporaryDirectory() as folder:
        png = [a.path for a in client.list_artifacts(store["lenet_fast"], "images") if a.path.endswith(".png")][0]
        strip = matplotlib.image.imread(client.download_artifacts(store["lenet_fast"], png, folder))
    assert strip.shape[1] >= 4 * strip.shape[0]  # the card's strip, not the whole figure

    target, runs = paired
    client = mlflow.MlflowClient(target.uri)
    logged = load_last_epoch(client, runs["shifted"], "saliency_scores", "test")
    with tempfile.TemporaryDirectory() as folder:
        table = pd.read_csv(client.download_artifacts(runs["shifted"], "saliency_scores/test_epoch_002.csv", folder),
                            dtype={"image_id": str})
    assert list(table.columns) == list(logged) == ["image_id", "saliency/relevance_mass",
                                                   "smoothed_saliency/relevance_mass"]
    assert list(table["image_id"]) == list(logged["image_id"])
    for column in logged.keys() - {"image_id"}:
        np.testing.assert_allclose(table[column], logged[column], rtol=5e-4)


def test_paired_tests_mark_what_differs_from_the_best_run(paired, tmp_path, capsys):
    """The p-values are scipy's permutation test on the logged arrays, paired by image id here
    with a plain dict (the report pairs them with pandas); the intervals the runs did not log
    are the t-intervals of their logged per-image scores."""
    from scipy.stats import ttest_1samp

    target, runs = paired
    main(["report", "--uri", target.uri, "--out", str(tmp_path), "--experiment", "paired"])
    printed = capsys.readouterr()
    rows = {row["run"]: row for row in read_csv(tmp_path / "report.csv")}
    client = mlflow.MlflowClient(target.uri)
    logged = {name: load_last_epoch(client, runs[name], "saliency_scores", "test") for name in ("best", "shifted")}
    by_id = [dict(zip(logged[name]["image_id"], logged[name]["saliency/relevance_mass"])) for name in logged]
    shared = sorted(set(by_id[0]) & set(by_id[1]))
    expected = sign_flip_reference([by_id[0][i] for i in shared], [by_id[1][i] for i in shared])
    assert float(rows["shifted"]["xai/saliency/relevance_mass_p"]) == pytest.approx(expected, rel=1e-12)
    assert expected < 0.05 and float(rows["same"]["xai/saliency/relevance_mass_p"]) > 0.5  # the same mean
    interval = ttest_1samp(logged["shifted"]["saliency/relevance_mass"], 0).confidence_interval()
    assert (float(rows["shifted"]["xai/saliency/relevance_mass_ci_low"]),
            float(rows["shifted"]["xai/saliency/relevance_mass_ci_high"])) == pytest.approx(
        (interval.low, interval.high), rel=1e-12)
    assert float(rows["shifted"]["xai/saliency/relevance_mass_n"]) == 40
    assert [rows[name]["shared"] for name in runs] == ["40", "40", "40", "0", ""]
    family = [adjusted_in(rows[name]) for name in ("same", "shifted")]  # all the report's tests
    p_values, q_values = (sum((row[i] for row in family), []) for i in (0, 1))
    assert len(p_values) == 4 and q_values == pytest.approx(benjamini_hochberg(p_values), rel=1e-12)
    cells = {row[0]: row for row in markdown_rows(tmp_path / "report.md")}
    header = cells["run"]
    # the configured order: smoothgrad before vanilla
    assert header[-3:] == ["xai/smoothed_saliency/relevance_mass", "xai/saliency/relevance_mass", "shared"]
    assert cells["shifted"][-2].endswith(" *") and not cells["same"][-2].endswith("*")
    assert not cells["shifted"][-3].endswith("*")  # the same smoothed scores: p = 1
    text = (tmp_path / "report.md").read_text()
    assert ("*: differs from the first run's on the shared images, p < 0.05 adjusted for all the report's tests\n"
            "   by Benjamini-Hochberg (paired sign-flip permutation test: relevance_mass); CSV:") in text
    assert "each score: mean [95 % CI] (exact Clopper-Pearson for 0/1 scores, Student-t for the others)" in text
    low, high = (float(rows["shifted"][f"xai/saliency/relevance_mass{end}"]) for end in ("_ci_low", "_ci_high"))
    mean = float(rows["shifted"]["xai/saliency/relevance_mass"])
    assert cells["shifted"][-2] == f"{mean:.3g} [{low:.2g}, {high:.2g}] *"
    assert "*: differs from the first run's" in printed.out and max(map(len, printed.out.splitlines()[:-2])) <= 100
    assert ("xaiexp: note: run 'other seed' scored none of the best run's images (another seed or dataset?): "
            "its scores cannot be compared image by image") in printed.err
    assert "xaiexp: note: run 'no maps' logged no per-image scores: not compared with the best run" in printed.err
    assert "xaiexp: note: run 'no maps' ran with explain=none: no saliency maps; left out of the grid" in printed.err
    assert client.get_run(runs["best"]).data.tags["xaiexp.test_weights"] == "best"
    assert client.get_run(runs["best"]).data.tags["xaiexp.test_weights_epoch"] == "1"


def test_a_hit_or_miss_score_gets_exact_mcnemar_and_an_exact_interval(store, tmp_path, capsys):
    """40 pointing-game hits and misses, 2 images gained against 9 lost: a t-test on the 0/1
    differences says p = 0.03; McNemar's exact test, from statsmodels, 0.065: not marked."""
    from scipy.stats import ttest_rel
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.proportion import proportion_confint

    target, ids = store["target"], [f"{i:016x}" for i in range(40)]
    best = np.r_[np.ones(20), np.zeros(20)]
    other = best.copy()
    other[:9], other[20:22] = 0, 1  # 9 hits lost, 2 gained
    for name, accuracy, hits in (("best", 0.9, best), ("other", 0.8, other), ("all", 0.7, np.ones(40))):
        log_scored(target, "hits", name, accuracy, ids, {"saliency": hits}, figures=False,
                   metric="pointing_game")
    main(["report", "--uri", target.uri, "--out", str(tmp_path), "--experiment", "hits"])
    printed = capsys.readouterr()
    row = read_csv(tmp_path / "report.csv")[1]
    table = [[float(((best == a) & (other == b)).sum()) for b in (1, 0)] for a in (1, 0)]
    assert table[0][1] == 9 and table[1][0] == 2
    expected = mcnemar(table, exact=True).pvalue
    assert float(row["xai/saliency/pointing_game_p"]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.0654, abs=1e-4) and ttest_rel(other, best).pvalue < 0.05
    assert not markdown_rows(tmp_path / "report.md")[2][-2].endswith("*")
    low, high = proportion_confint(13, 40, method="beta")  # Clopper-Pearson of 13 hits in 40
    assert (float(row["xai/saliency/pointing_game_ci_low"]),
            float(row["xai/saliency/pointing_game_ci_high"])) == pytest.approx((low, high), rel=1e-9)
    assert "(exact McNemar test: pointing_game)" in printed.out
    assert markdown_rows(tmp_path / "report.md")[3][-2] == "1 [0.91, 1] *"  # 40 of 40: [0.025^(1/40), 1]


def test_without_the_best_runs_scores_nothing_is_paired():
    from xaiexp.tracking.report.command import pairing_notes
    from xaiexp.tracking.report.pairs import Pairing

    assert pairing_notes(["a", "b"], [False, True], [None, None]) == [
        "the best run 'a' logged no per-image scores: no paired tests"]
    assert pairing_notes(["a", "b"], [False, False], [None, None]) == []
    assert pairing_notes(["a", "b", "c"], [True, True, True], [Pairing(5), Pairing(5), Pairing(0)]) == [
        "run 'c' scored none of the best run's images (another seed or dataset?): its scores cannot be "
        "compared image by image"]


def test_a_missing_probe_or_figure_writes_the_table_only_and_says_why(paired, tmp_path, capsys):
    target, runs = paired
    main(["report", "--uri", target.uri, "--out", str(tmp_path), "--experiment", "paired", "--probe", "9"])
    printed = capsys.readouterr()
    assert f"xaiexp: note: run 'best' has {PROBES} probes (0-1), no probe 9; left out of the grid" in printed.err
    assert "xaiexp: note: no grid: no run has saliency/test_epoch_*.npz with probe 9; the table only" in printed.err
    assert printed.out.split()[-2:] == [str(tmp_path / "report.md"), str(tmp_path / "report.csv")]
    assert not (tmp_path / "saliency_grid.png").exists() and "saliency_grid" not in (tmp_path / "report.md").read_text()


def test_parent_accepts_a_unique_prefix_and_refuses_an_ambiguous_one(store, tmp_path, capsys):
    report(store, tmp_path, "--parent", store["parent"][:7])
    assert [row["run_id"] for row in read_csv(tmp_path / "report.csv")][0] == store["lenet_slow"]
    capsys.readouterr()
    client = mlflow.MlflowClient(store["target"].uri)
    ids = [run.info.run_id for run in client.search_runs(
        [e.experiment_id for e in client.search_experiments()])]
    shared = next(prefix for prefix in "0123456789abcdef" if sum(i.startswith(prefix) for i in ids) > 1)
    with pytest.raises(SystemExit) as stop:
        report(store, tmp_path / "out", "--parent", shared)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith(f"xaiexp: error: run id prefix '{shared}' is ambiguous: ")
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_real_sweep_is_paired_on_its_shared_scoring_set(home, tmp_path, capsys):
    """Two tiny runs differing only in the learning rate score the same 24 test images; the
    report's p-values are scipy's on the arrays they logged, and a score is marked exactly when
    its p-value, adjusted for the report's other tests, is below 0.05."""
    from tests.support.cli import TINY, run_cli

    result = run_cli("-m", *TINY, "epochs=1", "name=pairs", "explain.score_samples=24",
                     "explain.methods=[vanilla,smoothgrad]", "explain.metrics=[relevance_mass,deletion_auc]",
                     "schedule.init_lr=1e-3,3e-4")
    assert result.returncode == 0, result.stderr[-3000:]
    main(["report", "--experiment", "pairs", "--sweep", "last", "--out", str(tmp_path)])
    rows = read_csv(tmp_path / "report.csv")
    assert [row["shared"] for row in rows] == ["24", "24"]
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    logged = [load_last_epoch(client, row["run_id"], "saliency_scores", "test") for row in rows]
    assert logged[0]["image_id"].tolist() == logged[1]["image_id"].tolist()  # the same images, in order
    cells = markdown_rows(tmp_path / "report.md")
    p_values, q_values = adjusted_in(rows[1])
    assert q_values == pytest.approx(benjamini_hochberg(p_values), rel=1e-9)
    for key in ("saliency/relevance_mass", "smoothed_saliency/deletion_auc"):
        expected = sign_flip_reference(logged[0][key], logged[1][key])
        assert float(rows[1][f"xai/{key}_p"]) == pytest.approx(expected, rel=1e-9)
        cell = cells[2][cells[0].index(f"xai/{key}")]
        assert cell.endswith(" *") == (float(rows[1][f"xai/{key}_q"]) < 0.05)
        assert float(rows[1][f"xai/{key}"]) == pytest.approx(logged[1][key].mean())
    assert client.get_run(rows[0]["run_id"]).data.tags["xaiexp.test_weights"] in ("best", "final")


@pytest.mark.parametrize("under", ["file", "file/deeper", "read-only"])
def test_an_out_folder_that_cannot_be_made_is_one_line(store, tmp_path, under):
    (tmp_path / "file").write_text("a file")
    out = Path("/proc/xaiexp-report") if under == "read-only" else tmp_path / under / "report"  # /proc: not even root
    result = run_cli("report", "--uri", store["target"].uri, "--out", str(out), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    reason = "cannot make the folder" if under == "read-only" else f"{tmp_path / 'file'} is a file"
    assert line.startswith("xaiexp: error: --out: ") and reason in line, line
