"""A user's own model, from a module outside the package, chosen from the command line alone."""

import os
import subprocess
import sys
import textwrap

import mlflow
import pytest

from conftest import TINY
from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, describe

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
