"""A user's own model, from a module outside the package, chosen from the command line alone."""

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import mlflow
import pytest

from conftest import TINY, run_cli
from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, describe
from xaiexp.util.errors import ConfigError

MODULE = textwrap.dedent('''
    import keras


    def tiny(input_shape, classes, filters=8):
        """A one-convolution classifier; xaiexp passes input_shape and classes."""
        return keras.Sequential([keras.Input(input_shape),
                                 keras.layers.Conv2D(filters, 3, activation="relu", name="features"),
                                 keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(classes, activation="softmax")])
''')


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's folder: mymodels.py, and conf/model/tiny.yaml naming it."""
    (tmp_path / "mymodels.py").write_text(MODULE)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "tiny.yaml").write_text("_target_: mymodels.tiny\nfilters: 4\n")
    monkeypatch.syspath_prepend(tmp_path)
    return tmp_path


@pytest.mark.parametrize("overrides, message", [
    (["model._target_=mymodels.tiny"], "model.width: not an argument of mymodels.tiny; it takes: "
                                       "input_shape, classes, filters"),
    (["model._target_=mymodels.tiny", "~model.width", "+model.filter=3"],
     "model.filter: not an argument of mymodels.tiny (did you mean filters?)"),
    (["model._target_=mymodels.tinyy"], "model._target_: cannot find mymodels.tinyy: mymodels has no 'tinyy'"),
])
def test_a_wrong_argument_or_target_is_named_before_tensorflow(project, overrides, message):
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config(overrides)
    assert message in describe(error.value)
    assert "mymodels" not in sys.modules


def test_the_model_yaml_is_found_from_config_dir(project):
    cfg = compose_config(["model=tiny", "model.filters=2"], config_dirs=[str(project / "conf")])
    assert (cfg.model._target_, cfg.model.filters) == ("mymodels.tiny", 2)
    assert compose_config(["model._target_=mymodels.tiny", "~model.width"]).model._target_ == "mymodels.tiny"


@pytest.mark.slow
def test_own_model_trains_logs_and_is_explained(project, home):
    def xaiexp(*args):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # found from the cwd
        return subprocess.run([sys.executable, "-m", "xaiexp", *args], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)

    trained = xaiexp("--config-dir", "conf", "model=tiny", *TINY, "explain.methods=[vanilla,gradcam]")
    assert trained.returncode == 0, trained.stderr[-3000:]
    explained = xaiexp("explain", "explain_run=last")
    assert explained.returncode == 0, explained.stderr[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    source, explanation = client.search_runs([experiment.experiment_id],
                                             order_by=["attributes.start_time ASC"])
    assert source.data.params["model"] == "tiny"
    assert "test/xai/gradcam_saliency/relevance_mass" in explanation.data.metrics
    assert explanation.data.metrics["test/accuracy"] == source.data.metrics["test/accuracy"]


def saved_models(folder):
    """.keras files that do not fit shapes' 32x32x3 images of 5 classes, and one that does."""
    import keras

    def save(name, inputs, outputs):
        keras.Model(inputs, outputs).save(folder / f"{name}.keras")
        return folder / f"{name}.keras"

    image, extra = keras.Input((28, 28, 1)), keras.Input((4,))
    flat = keras.layers.Flatten()
    right = keras.Input((32, 32, 3))
    any_size = keras.Input((None, None, 3))
    return {
        "wrong shape": save("gray28", image, keras.layers.Dense(5)(flat(image))),
        "two inputs": save("two", [right, extra], keras.layers.Dense(5)(
            keras.layers.Concatenate()([keras.layers.Flatten()(right), extra]))),
        "too few outputs": save("three", right, keras.layers.Dense(3)(keras.layers.Flatten()(right))),
        "any size": save("any", any_size, keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(any_size))),
    }


@pytest.mark.parametrize("case, message", [
    ("wrong shape", "model.path: {path} takes 28x28x1 inputs, but the dataset's images are 32x32x3"),
    ("two inputs", "model.path: {path} takes 2 inputs (32x32x3, 4); xaiexp feeds a model one, the dataset's 32x32x3"),
    ("too few outputs", "model.path: {path} has 3 outputs, too few for the dataset's 5 classes"),
    ("any size", None),
])
def test_a_saved_model_that_does_not_fit_the_data_is_named_right_after_loading(tmp_path, case, message):
    from xaiexp.app.build import make_model

    path = saved_models(tmp_path)[case]
    cfg = compose_config(["model=saved", f"model.path={path}"])
    train = SimpleNamespace(shape=lambda key: (32, 32, 3), label_mapping=dict.fromkeys("abcde"))
    if message is None:
        assert make_model(cfg, train).inputs
        return
    with pytest.raises(ConfigError) as error:
        make_model(cfg, train)
    assert str(error.value).startswith(message.format(path=path))


@pytest.mark.slow
def test_a_saved_model_of_another_shape_stops_the_run_with_one_error_line(tmp_path, home):
    path = saved_models(tmp_path)["wrong shape"]
    result = run_cli("model=saved", f"model.path={path}", *TINY)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("xaiexp: error:")]
    assert errors == [result.stderr.strip().splitlines()[-1]], result.stderr[-3000:]
    assert errors[0] == (f"xaiexp: error: model.path: {path} takes 28x28x1 inputs, but the dataset's images are "
                         f"32x32x3 (dataset.image_size resizes them)")
    assert "Traceback" not in result.stderr and not (home / "outputs" / "mlflow.db").exists()
