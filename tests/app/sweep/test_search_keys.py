"""The Optuna preset searches what the chosen model and dataset have: keys they lack are left out
(said in one line), a key the command line names for the search that the config lacks is refused
before the sweep starts (README "Optuna")."""

import mlflow
import pytest
import yaml
from hydra import compose, initialize_config_dir

from tests.support.browser import user_project
from tests.support.cli import run_cli
from xaiexp.app.cli import COMPOSITION_ERRORS, _setup, compose_config, config_dir, error_line
from xaiexp.app.sweep.search_keys import named_for_search, searchable


@pytest.fixture
def conf(tmp_path, monkeypatch):
    """A user's conf/ with model=mine: a model without ``width`` (``browser.user_project``)."""
    monkeypatch.syspath_prepend(tmp_path / "project")  # mymodels, as the command finds it
    return user_project(tmp_path / "project")[0]


def composed(*overrides, conf=None):
    """The config as Hydra composes it for a sweep, with its ``hydra`` node."""
    _setup()
    searchpath = [f"hydra.searchpath=[file://{conf}]"] if conf else []
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose("config", return_hydra_config=True, overrides=[*overrides, *searchpath])


def test_the_preset_keeps_the_keys_the_chosen_model_has(conf):
    preset = dict(composed("hparams_search=optuna").hydra.sweeper.params)
    assert searchable(preset, composed("hparams_search=optuna")) == (preset, [])
    kept, left_out = searchable(preset, composed("hparams_search=optuna", "model=mine", conf=conf))
    assert left_out == ["model.width"] and list(kept) == ["schedule.init_lr", "batch_size"]
    assert searchable({"model": "choice(lenet, cnn)", "+optimizer.momentum": "interval(0, 1)"},
                      composed("hparams_search=optuna"))[1] == []  # a group; a key the sweep adds


def test_the_keys_a_command_line_names_for_the_search():
    assert named_for_search(["hparams_search=optuna", "schedule.init_lr=interval(1e-4, 1e-2)", "epochs=1,2",
                             "+optimizer.momentum=0.8,0.9", "hydra.sweeper.n_trials=3",
                             '++hydra.sweeper.params='
                             '{dataset.test_split: "interval(0.2, 0.5)", model.width: null}']) == [
        "schedule.init_lr", "epochs", "dataset.test_split"]


def test_null_removes_a_key_from_the_preset(conf):
    from hydra.core.plugins import Plugins

    command = ["hparams_search=optuna", "model=mine", "++hydra.sweeper.params={model.width: null, batch_size: null}"]
    compose_config(command, [str(conf)], searched=command)  # removing a key mine lacks is no mistake
    made = Plugins.instance()._instantiate(composed(*command, conf=conf).hydra.sweeper).sweeper
    assert made.params == {"schedule.init_lr": "tag(log, interval(1e-4, 1e-2))"}


@pytest.mark.parametrize("overrides, message", [
    (["model=mine", '++hydra.sweeper.params={model.width: "choice(1, 2)"}'],
     "model.width: cannot be searched: model=mine has no width (see `xaiexp --cfg job`)"),
    (["schedule.init_lrr=interval(1e-4, 1e-2)"],
     "schedule.init_lrr: cannot be searched: schedule=cosine has no init_lrr (see `xaiexp --cfg job`)"),
])
def test_a_key_the_command_line_searches_and_the_config_lacks_is_refused(conf, overrides, message):
    command = ["hparams_search=optuna", *overrides]
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config([o for o in command if "interval" not in o or "params" in o], [str(conf)],
                       searched=command)
    assert error_line(error.value) == message


@pytest.mark.slow
def test_the_preset_sweeps_a_user_model_without_width(home, conf):
    """``xaiexp -m hparams_search=optuna --config-dir conf model=mine``: model.width is left out
    in one line, the trial runs with the keys that exist."""
    _, env = user_project(conf.parent)
    result = run_cli("-m", "hparams_search=optuna", "--config-dir", str(conf), "model=mine",
                     "hydra.sweeper.n_trials=1", "dataset.n_train=256", "dataset.n_eval=128", "epochs=1",
                     "explain=none", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (result.stdout + result.stderr).splitlines()
    assert [line.split("] ", 1)[1] for line in lines if "Left out" in line] == [
        'Left out of the search: model=mine has no width (README "Optuna": changing the search space)']
    assert "Could not override" not in result.stderr
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    parent, child = sorted(client.search_runs([experiment.experiment_id]),
                           key=lambda run: "mlflow.parentRunId" in run.data.tags)
    assert child.info.status == "FINISHED"
    assert {"schedule.init_lr", "batch_size", "model"} <= child.data.params.keys()
    assert "model.width" not in child.data.params
    assert set(yaml.safe_load(parent.data.params["sweep.params"])) == {"schedule.init_lr", "batch_size"}
