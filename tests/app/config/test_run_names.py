"""What tells a run apart: its MLflow params and its name, from the config Hydra composed, the
group choices Hydra recorded and the overrides (README "Browsing results")."""

import pytest

from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, error_line
from xaiexp.app.config.params import flatten, run_name, run_params, sweep_name
from xaiexp.util.util import short_value

CHOICES = {"dataset": "shapes", "model": "lenet", "optimizer": "adam", "schedule": "cosine",
           "tracking": "mlflow", "sweeper": "grid", "hydra/launcher": "basic", "hparams_search": None}


def config(**changes):
    """The flattened default config, with ``changes`` (dotted keys) applied."""
    flat = flatten({"name": "xaiexp", "run_name": None, "seed": 0, "epochs": 5,
                    "model": {"_target_": "xaiexp.architecture.tensorflow.LeNet", "width": 1},
                    "dataset": {"_target_": "xaiexp.dataset.data.shapes.load_data", "n_train": 8000},
                    "schedule": {"init_lr": 1e-3}})
    return {**flat, **changes}


def test_a_default_run_is_named_by_its_model_and_dataset_and_logs_no_params():
    assert run_name(config(), CHOICES, []) == "lenet · shapes"
    assert run_params(config(), CHOICES, []) == {}


def test_what_the_command_line_set_follows_in_its_order_shortened():
    overrides = ["schedule.init_lr=3e-4", "optimizer=sgd", "epochs=10", "name=lr", "tracking.uri=x",
                 "dataset.path=~/data/pets/"]
    flat = config(**{"schedule.init_lr": 3e-4, "epochs": 10, "dataset.path": "/home/u/data/pets/"})
    choices = {**CHOICES, "optimizer": "sgd"}
    assert run_name(flat, choices, overrides) == "lenet · shapes · init_lr=3e-4 · optimizer=sgd · epochs=10 · path=pets"
    assert run_params(flat, choices, overrides) == {  # where the run goes is not what it is
        "optimizer": "sgd", "schedule.init_lr": 3e-4, "epochs": 10, "dataset.path": "/home/u/data/pets/"}


def test_a_user_model_goes_by_its_target_not_by_the_option_it_replaced():
    overrides = ["model._target_=mymodels.small_cnn", "~model.width"]
    flat = config(**{"model._target_": "mymodels.small_cnn"})
    del flat["model.width"]
    assert run_name(flat, CHOICES, overrides) == "small_cnn · shapes"
    assert run_params(flat, CHOICES, overrides) == {"model._target_": "mymodels.small_cnn"}
    mine = config(**{"model._target_": "mymodels.small_cnn"})  # conf/model/mine.yaml names it
    assert run_params(mine, {**CHOICES, "model": "mine"}, ["model=mine"]) == {"model": "mine"}
    assert run_name(mine, {}, []) == "small_cnn · shapes"  # no Hydra: the targets' names


def test_run_name_names_the_run_and_leaves_the_experiment_alone():
    flat = config(run_name="baseline")
    assert run_name(flat, CHOICES, ["run_name=baseline"]) == "baseline"
    assert "run_name" not in run_params(flat, CHOICES, ["run_name=baseline"])
    assert sweep_name(flat, CHOICES, ["run_name=baseline", "epochs=1,2"], {"epochs"}) == "sweep baseline"


def test_a_sweep_child_is_named_by_its_swept_values_its_parent_by_what_they_share():
    overrides = ["schedule.init_lr=3e-4", "model=cnn", "epochs=1", "hparams_search=optuna"]
    swept = {"schedule.init_lr", "model"}
    assert run_name(config(), {**CHOICES, "model": "cnn"}, overrides, swept) == "init_lr=3e-4 · model=cnn"
    parent = ["schedule.init_lr=1e-3,3e-4", "model=lenet,cnn", "epochs=1", "hparams_search=optuna"]
    assert sweep_name(config(), CHOICES, parent, swept) == "sweep shapes · epochs=1"
    assert run_name(config(), CHOICES, ["epochs=1"], swept={"batch_size"}) == ""  # the caller says "job N"


def test_keys_that_would_read_the_same_keep_their_whole_path():
    overrides = ["model.width=2", "dataset.width=64"]
    assert run_name(config(), CHOICES, overrides, {"model.width", "dataset.width"}) == \
        "model.width=2 · dataset.width=64"


@pytest.mark.parametrize("text, short", [("0.0003", "3e-4"), ("1e-3", "1e-3"), ("1000000.0", "1e6"),
                                         ("0.00123", "0.00123"), ("0.0011781448719376517", "0.00118"),
                                         ("32", "32"), ("nan", "nan"), ("[4, 2]", "[4, 2]"), ("cnn", "cnn")])
def test_numbers_take_their_shortest_spelling(text, short):
    assert short_value(text) == short


def test_a_run_name_longer_than_mlflow_keeps_is_refused_in_one_line():
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config([f"run_name={'x' * 251}"])
    assert error_line(error.value) == ("run_name: names the MLflow run: 1 to 250 characters (null: named by what "
                                     "sets the run apart), got 251")
    assert compose_config(["run_name=baseline"]).run_name == "baseline"
