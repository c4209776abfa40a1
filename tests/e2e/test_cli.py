"""The real ``xaiexp`` command end to end, into a real MLflow store."""

import re
from pathlib import Path

import mlflow
import pytest
import yaml

from tests.support.cli import TINY, run_cli

pytestmark = pytest.mark.slow


def only_run(home):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    (run,) = client.search_runs([experiment.experiment_id])
    return client, experiment, run


def artifacts(client, run_id, path=""):
    """Every artifact file of a run, recursively."""
    found = []
    for item in client.list_artifacts(run_id, path):
        found += artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def test_a_run_logs_everything_to_mlflow(home):
    result = run_cli(*TINY, "name=tiny", "schedule.init_lr=3e-4")
    assert result.returncode == 0, result.stderr[-3000:]
    # the calm console: the main values on one line per epoch, every value in the run's log file
    assert re.search(r"^xaiexp-Test: step: 16; epoch: 2; ce: \S+; accuracy: \S+; "
                     r"xai/smint_saliency/relevance_mass: \S+;$", result.stdout, re.M)
    assert re.search(r"^  smint +~?\S+ \[\S+, \S+\]", result.stdout, re.M)  # the closing table
    assert "xai/saliency/pointing_game" not in result.stdout and "since_best" not in result.stdout
    assert result.stderr.count("TensorFlow with oneDNN") == 1 and "absl::InitializeLog" not in result.stderr
    client, experiment, run = only_run(home)
    assert experiment.name == "tiny" and run.info.status == "FINISHED"
    assert f"xaiexp: run {run.info.run_id} finished" in result.stderr
    assert f"#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}" in result.stderr
    params = run.data.params
    assert params["schedule.init_lr"] == "0.0003"
    assert params["epochs"] == "2" and params["dataset.n_train"] == "256"
    assert "model._target_" not in params  # the whole config is the config.yaml artifact
    assert not {"model", "dataset", "precision", "seed", "name"} & params.keys()  # defaults; where it goes
    assert run.info.run_name == "lenet · shapes · n_train=256 · n_eval=128 · epochs=2 · batch_size=32 · log_step…"
    assert run.data.tags["xaiexp.overrides"].endswith("name=tiny schedule.init_lr=3e-4")
    assert run.data.tags["xaiexp.version"]
    assert run.data.tags["xaiexp.devices"] == "CPU"
    assert re.search(r"^xaiexp: devices: CPU \(\d+ cores\)$", result.stderr, re.M)
    history = client.get_metric_history(run.info.run_id, "train/ce")
    assert [m.step for m in history] == [1, 4, 8, 12, 16]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/accuracy")] == [8, 16]
    assert {"train/model_lr", "train/steps/sec", "test/accuracy", "test/ce"} <= set(run.data.metrics)
    quality = [m.value for m in client.get_metric_history(run.info.run_id, "eval/xai/smint_saliency/relevance_mass")]
    assert len(quality) == 2 and all(0 <= value <= 1 for value in quality)
    files = artifacts(client, run.info.run_id)
    assert {"config.yaml", ".hydra/config.yaml", ".hydra/overrides.yaml", "model/model_best_accuracy.keras",
            "saliency/eval_epoch_001.png", "saliency/eval_epoch_002.png", "saliency/test_epoch_002.png"} <= set(files)
    config = yaml.safe_load(mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.yaml"))
    assert config["schedule"]["init_lr"] == 3e-4 and config["dataset"]["_target_"].endswith("shapes.load_data")
    outputs = list(Path(home, "outputs", "runs").glob("*/*/.hydra/config.yaml"))
    assert len(outputs) == 1
    console_log = (outputs[0].parent.parent / "console.log").read_text()
    assert "xaiexp: building data (shapes) and model (lenet)…" in console_log
    assert re.search(r"^xaiexp-Eval \(all\): step: 16; .*xai/saliency/pointing_game_se: ", console_log, re.M)
    logged = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/console.log")
    assert logged.startswith("xaiexp: starting TensorFlow…\n") and "xaiexp-Test: step: 16" in logged


@pytest.mark.parametrize("override", ["schedule.init_lrr=3e-4", "epochs=0", "model=lenett"])
def test_bad_input_creates_no_run(home, override):
    result = run_cli(override)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert not Path(home, "outputs", "mlflow.db").exists()


def test_the_default_experiment_learns_shapes_in_minutes(home):
    """The README's first command: the default experiment, offline, untouched."""
    result = run_cli(timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    _, _, run = only_run(home)
    assert run.data.metrics["eval/accuracy"] >= 0.9
    assert run.data.metrics["test/accuracy"] >= 0.9
    total = float(re.search(r"xaiexp-Finish: step: 1250; total_time: (\S+) sec;", result.stdout).group(1))
    assert total < 180
    console = (result.stdout + result.stderr).splitlines()  # not a terminal: no progress bar
    widths = [len(line) for line in console if str(home) not in line]  # (pytest's long tmp path)
    assert len(console) <= 45 and max(widths) <= 160, "\n".join(console)


def test_options_may_follow_the_overrides(home, tmp_path):
    """``xaiexp -m hparams_search=optuna --config-dir conf model=mine``: argparse alone stops at the
    first option after an override; the command reads as if the options came first."""
    from xaiexp.app.cli import options_first

    argv = ["-m", "hparams_search=optuna", "--config-dir", "conf", "model=mine", "epochs=1"]
    assert options_first(argv, ["hparams_search=optuna", "model=mine", "epochs=1"]) == [
        "-m", "--config-dir", "conf", "hparams_search=optuna", "model=mine", "epochs=1"]
    (tmp_path / "conf" / "model").mkdir(parents=True)
    result = run_cli("-m", "hparams_search=optuna", "--config-dir", str(tmp_path / "conf"), "model=mine")
    assert result.returncode == 2  # one command, not an argparse usage error: Hydra looked for mine
    assert result.stderr.startswith("xaiexp: error: model=mine: no such option; choose from ")
