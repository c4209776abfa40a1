"""Pretrained backbones (MobileNetV2, ResNet50) on tiny inputs, and their offline weights checks."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import xaiexp as xe
from xaiexp.architecture import pretrained
from xaiexp.architecture.tensorflow import ImagenetPreprocessing, MobileNetV2, ResNet50
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.xai import last_feature_layer

TINY = {"input_shape": (32, 32, 3), "classes": 3, "weights": None, "alpha": 0.35}


def pixels(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("mode, reference", [
    ("tf", keras.applications.mobilenet_v2.preprocess_input),
    ("caffe", keras.applications.resnet50.preprocess_input),
])
def test_preprocessing_matches_keras_and_round_trips(mode, reference, tmp_path):
    rgb, gray = pixels((4, 8, 8, 3)), pixels((4, 8, 8, 1), seed=1)
    layer = ImagenetPreprocessing(mode)
    np.testing.assert_allclose(layer(rgb), reference(rgb.copy()), atol=1e-4)
    np.testing.assert_allclose(layer(gray), reference(np.repeat(gray, 3, axis=-1)), atol=1e-4)
    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, layer(inputs)).save(tmp_path / "p.keras")
    loaded = keras.models.load_model(tmp_path / "p.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded(rgb), layer(rgb))


def test_builds_softmax_over_classes_from_raw_pixels():
    model = MobileNetV2(**TINY)
    assert model.layers[1].name == "preprocessing" and model.layers[1].mode == "tf"
    probabilities = model.predict(pixels((5, 32, 32, 3)), verbose=0)
    assert probabilities.shape == (5, 3) and (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert last_feature_layer(model) == "out_relu"  # Grad-CAM sees the backbone's features


def test_resnet50_and_grayscale():
    model = ResNet50(input_shape=(32, 32, 1), classes=2, weights=None)
    assert model.layers[1].mode == "caffe"
    assert model.predict(pixels((2, 32, 32, 1)), verbose=0).shape == (2, 2)
    assert last_feature_layer(model) == "conv5_block3_out"


def test_save_and_reload_keras_gives_identical_outputs(tmp_path):
    model = MobileNetV2(**TINY)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    x = pixels((3, 32, 32, 3))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert len(loaded.trainable_weights) == len(model.trainable_weights) == 2  # still frozen


@pytest.mark.parametrize("freeze", [True, False])
def test_a_training_step_moves_only_what_is_not_frozen(freeze):
    model = xe.build(model_fn=lambda: MobileNetV2(**TINY, freeze_backbone=freeze, dropout=0.0),
                     optimizer_fn="adam")
    network = xe.Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                              CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                              UpdateOp(model=model, loss_name="ce")])
    x = pixels((8, 32, 32, 3))
    # Frozen BatchNorm runs in inference mode, so training=True changes nothing either.
    same = np.allclose(model(x, training=True), model(x, training=False), atol=1e-6)
    assert same == freeze
    watched = ["Conv1", "bn_Conv1", "predictions"]
    before = {name: [w.numpy().copy() for w in model.get_layer(name).weights] for name in watched}
    batch = {"x": x, "y": np.arange(8) % 3}
    results = network.run_step(iter(tf.data.Dataset.from_tensors(batch).repeat()), "train")
    assert np.isfinite(results["ce"].numpy()).all()
    for name in watched:
        moved = [not np.array_equal(b, w.numpy())
                 for b, w in zip(before[name], model.get_layer(name).weights)]
        # bn_Conv1: gamma, beta (trained) and moving mean, variance (updated in training mode)
        assert all(moved) == (name == "predictions" or not freeze), name
    moving_stats = 2 * sum(isinstance(layer, keras.layers.BatchNormalization)
                           for layer in model.layers)
    assert len(model.trainable_weights) == (2 if freeze else len(model.weights) - moving_stats)


def test_missing_imagenet_weights_name_the_file_place_and_url(keras_home):
    file = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    with pytest.raises(ValueError) as error:
        MobileNetV2(**{**TINY, "weights": "imagenet"})
    message = str(error.value)
    assert "\n" not in message
    assert str(keras_home / "models" / file) in message
    url = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
    assert f"from {url}{file}" in message
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in pretrained.weights_problem(
        "resnet50", "imagenet", (224, 224, 3))


def test_cached_imagenet_weights_are_loaded_offline(keras_home):
    source = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                            include_top=False, weights=None, pooling="avg")
    (keras_home / "models").mkdir()
    # The cache's legacy .h5 format, the one Keras downloads.
    source.save(keras_home / "models"
                / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")
    assert pretrained.weights_problem("mobilenet_v2", "imagenet", (32, 32, 3), alpha=0.35) is None
    with pytest.warns(UserWarning, match="loading 224x224's for 32x32"):
        model = MobileNetV2(**{**TINY, "weights": "imagenet"})
    for name in ("Conv1", "block_16_project_BN", "Conv_1"):
        for loaded, saved in zip(model.get_layer(name).weights, source.get_layer(name).weights):
            np.testing.assert_array_equal(loaded.numpy(), saved.numpy())


def test_weights_problems(keras_home, tmp_path):
    problem = pretrained.weights_problem
    assert problem("mobilenet_v2", None, (224, 224, 3)) is None
    assert "at least 32x32" in problem("resnet50", None, (28, 28, 1))
    assert "1 or 3 channels" in problem("mobilenet_v2", None, (64, 64, 4))
    assert "alpha in" in problem("mobilenet_v2", "imagenet", (224, 224, 3), alpha=0.6)
    assert "is not a file" in problem("resnet50", str(tmp_path / "none.h5"), (224, 224, 3))
    square, oblong = (pretrained.imagenet_file("mobilenet_v2", shape, 0.5).name
                      for shape in [(160, 160, 3), (160, 200, 3)])
    assert square.endswith("_0.5_160_no_top.h5") and oblong.endswith("_0.5_224_no_top.h5")
    file = pretrained.imagenet_file("resnet50")
    file.path.parent.mkdir()
    file.path.write_bytes(b"not the weights")
    assert "do not match Keras' md5" in problem("resnet50", "imagenet", (224, 224, 3))


def test_the_weights_checks_import_no_tensorflow():
    code = ("import sys, xaiexp.architecture.pretrained; "
            "print([m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
