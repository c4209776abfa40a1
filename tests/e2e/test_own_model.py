"""A user's own model, from a module outside the package, chosen from the command line alone."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from PIL import Image

import xaiexp
from tests.support.cli import TINY, run_cli
from tests.support.user_model import MODULE
from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, error_line
from xaiexp.dataset import NumpyDataset
from xaiexp.util.errors import ConfigError

@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's folder: mymodels.py, and conf/model/tiny.yaml and linear.yaml naming it."""
    (tmp_path / "mymodels.py").write_text(MODULE)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "tiny.yaml").write_text("_target_: mymodels.tiny\nfilters: 4\n")
    (tmp_path / "conf" / "model" / "linear.yaml").write_text("_target_: mymodels.linear\n")
    monkeypatch.syspath_prepend(tmp_path)
    return tmp_path


def run_in(project, *args):
    """The ``xaiexp`` command run from the user's folder, which is how it finds mymodels (the
    path holds xaiexp's checkout alone)."""
    env = {**os.environ, "PYTHONPATH": str(Path(xaiexp.__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "xaiexp", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def photos(project):
    """A small folder of 24x24 PNGs, three classes told apart by a tint, with object masks."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(("cat", "dog", "fox")):
        for index in range(12):
            pixels = rng.integers(0, 150, (24, 24, 3), dtype=np.uint8)
            pixels[6:18, 6:18, label] = 255
            mask = np.zeros((24, 24), np.uint8)
            mask[6:18, 6:18] = 1
            for root, image in (("photos", pixels), ("masks", mask)):
                (project / root / name).mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(project / root / name / f"{index}.png")
    return ["dataset=folder", "dataset.path=photos", "dataset.masks=masks", "dataset.image_size=16",
            "dataset.eval_split=0.3", *TINY[2:], "batch_size=8"]


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
    assert message in error_line(error.value)
    assert "mymodels" not in sys.modules


def test_the_model_yaml_is_found_from_config_dir(project):
    cfg = compose_config(["model=tiny", "model.filters=2"], config_dirs=[str(project / "conf")])
    assert (cfg.model._target_, cfg.model.filters) == ("mymodels.tiny", 2)
    assert compose_config(["model._target_=mymodels.tiny", "~model.width"]).model._target_ == "mymodels.tiny"


@pytest.mark.slow
def test_own_model_trains_logs_and_is_explained(project, home):
    trained = run_in(project, "--config-dir", "conf", "model=tiny", *TINY, "explain.methods=[vanilla,gradcam]")
    assert trained.returncode == 0, trained.stderr[-3000:]
    explained = run_in(project, "explain", "explain_run=last")
    assert explained.returncode == 0, explained.stderr[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    source, explanation = client.search_runs([experiment.experiment_id],
                                             order_by=["attributes.start_time ASC"])
    assert source.data.params["model"] == "tiny"
    assert "test/xai/gradcam_saliency/relevance_mass" in explanation.data.metrics
    assert explanation.data.metrics["test/accuracy"] == source.data.metrics["test/accuracy"]


@pytest.mark.slow
def test_a_model_with_a_linear_last_layer_is_refused_in_one_line_unless_it_declares_logits(project, home):
    result = run_in(project, "--config-dir", "conf", "model=linear", *photos(project))
    errors = [line for line in result.stderr.splitlines() if line.startswith("xaiexp: error: ")]
    assert result.returncode == 2 and len(errors) == 1, result.stderr[-3000:]
    assert errors == [result.stderr.strip().splitlines()[-1]]
    assert errors[0].startswith("xaiexp: error: model.logits: mymodels.linear outputs no probabilities "
                                "(values "), errors[0]
    assert "say so with +model.logits=true; else end the model with a softmax" in errors[0]
    assert not (home / "outputs" / "mlflow.db").exists()  # refused before any run


@pytest.mark.slow
def test_a_model_that_declares_logits_trains_on_them_and_scores_their_softmax(project, home):
    result = run_in(project, "--config-dir", "conf", "model=linear", "+model.logits=true",
                    *photos(project), "explain.methods=[vanilla,gradcam,occlusion]")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "xaiexp: data: folder photos: 3 classes (cat, dog, fox), 24×24 → 16×16×3, train 25 · eval 5 · " \
           "test 6\n" in result.stderr, result.stderr
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    (run,) = client.search_runs([experiment.experiment_id])
    metrics = run.data.metrics
    assert run.info.status == "FINISHED" and metrics["eval/ce"] < 2  # the loss of logits: ~ln 3
    scores = {key: value for key, value in metrics.items()
              if key.endswith(("_auc", "relevance_mass", "pointing_game")) and "_floor/" not in key}
    assert len(scores) == 2 * 3 * 4, scores
    # probabilities: localization scores within [0, 1]; deletion and insertion are relative to
    # the clean image's probability (an insertion curve may pass it), finite and non-negative
    assert {key: value for key, value in scores.items()
            if not 0 <= value <= (np.inf if key.endswith("_auc") else 1)} == {}


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
    def head(units):
        return keras.layers.Dense(units, activation="softmax")

    return {
        "wrong shape": save("gray28", image, head(5)(flat(image))),
        "two inputs": save("two", [right, extra], head(5)(
            keras.layers.Concatenate()([keras.layers.Flatten()(right), extra]))),
        "too few outputs": save("three", right, head(3)(keras.layers.Flatten()(right))),
        "any size": save("any", any_size, head(5)(keras.layers.GlobalAveragePooling2D()(any_size))),
    }


@pytest.mark.parametrize("case, message", [
    ("wrong shape", "model.path: {path} takes 28x28x1 inputs, but the dataset's images are 32x32x3"),
    ("two inputs", "model.path: {path} takes 2 inputs (32x32x3, 4); xaiexp feeds a model one, the dataset's 32x32x3"),
    ("too few outputs", "model.path: {path} has 3 outputs, too few for the dataset's 5 classes"),
    ("any size", None),
])
def test_a_saved_model_that_does_not_fit_the_data_is_named_right_after_loading(tmp_path, case, message):
    from xaiexp.app.tasks.build import make_model

    path = saved_models(tmp_path)[case]
    cfg = compose_config(["model=saved", f"model.path={path}"])
    train = NumpyDataset({"x": np.zeros((8, 32, 32, 3), np.uint8), "y": np.arange(8) % 5},
                         label_mapping={name: label for label, name in enumerate("abcde")})
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
