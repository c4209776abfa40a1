"""Every saliency method on the models users bring: reloaded from a ``.keras`` file (where a
Sequential's layers are not connected to its ``inputs`` until traced again), with a Rescaling
preprocessing layer first, and with a nested backbone model (as pretrained ones are)."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras

import numpy as np
import pytest
import tensorflow as tf

from xaiexp.architecture.tensorflow import LeNet
from xaiexp.xai import SaliencyNet
from xaiexp.xai.class_activation import last_feature_layer
from xaiexp.xai.method_set import MethodSet, raw_key
from xaiexp.xai.registry import method_names

SHAPE = (32, 32, 3)


def lenet():
    keras.utils.set_random_seed(0)
    return LeNet(input_shape=SHAPE, classes=5)


def rescaled_sequential():
    """Raw pixels in [0, 255], scaled by the model's first layer."""
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Rescaling(1 / 255),
                             keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.MaxPooling2D(2),
                             keras.layers.Conv2D(6, 3, activation="relu", name="features"),
                             keras.layers.Flatten(),
                             keras.layers.Dense(5, activation="softmax")])


def backbone_functional():
    """Rescaling, then a nested functional backbone, pooling and a head: a pretrained model's
    shape."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input(SHAPE)
    hidden = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    backbone = keras.Model(inputs, keras.layers.Conv2D(6, 3, activation="relu")(hidden),
                           name="features")
    images = keras.Input(SHAPE)
    pooled = keras.layers.GlobalAveragePooling2D()(
        backbone(keras.layers.Rescaling(1 / 127.5, offset=-1)(images)))
    return keras.Model(images, keras.layers.Dense(5, activation="softmax")(pooled))


def reloaded(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.models.load_model(path, safe_mode=True)


def pixels(seed=0, batch=4):
    return np.random.default_rng(seed).uniform(0, 255, (batch, *SHAPE)).astype(np.float32)


def reference_grad_cam(model, layer, images):
    """Grad-CAM by calling the layers of a chain one by one, holding on to ``layer``'s output."""
    images = tf.constant(images)
    tensor, features = images, None
    with tf.GradientTape() as tape:
        for each in model.layers:
            if isinstance(each, keras.layers.InputLayer):
                continue
            tensor = each(tensor, training=False)
            if each.name == layer:
                features = tensor
                tape.watch(features)
        target = tf.reduce_max(tensor, axis=1)  # the predicted class's score
    weights = tf.reduce_mean(tape.gradient(target, features), axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
    return tf.image.resize(cam, SHAPE[:2], method="bilinear").numpy()


@pytest.mark.parametrize("make, layer", [(lenet, None), (rescaled_sequential, "features")])
def test_grad_cam_of_a_reloaded_sequential_matches_a_layer_by_layer_reference(make, layer,
                                                                               tmp_path):
    model = reloaded(make(), tmp_path)
    assert isinstance(model, keras.Sequential)
    layer = layer or model.layers[4].name  # LeNet's third convolution
    assert last_feature_layer(model) == layer
    images = pixels()
    result = SaliencyNet(model, "x", "y").get_gradcam_masks({"x": images}, raw=True)
    np.testing.assert_allclose(result["saliency"], reference_grad_cam(model, layer, images),
                               rtol=1e-4, atol=1e-6)


def test_grad_cam_reads_a_nested_backbone_in_its_own_graph(tmp_path):
    """The backbone's ``output`` is its own graph's; the outer model's node is the one used."""
    model = backbone_functional()
    assert last_feature_layer(model) == "features"
    images = pixels(1)
    expected = reference_grad_cam(model, "features", images)
    for each in (model, reloaded(model, tmp_path)):
        result = SaliencyNet(each, "x", "y").get_gradcam_masks({"x": images}, raw=True)
        np.testing.assert_allclose(result["saliency"], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("make", [lenet, rescaled_sequential, backbone_functional])
def test_every_method_gives_the_same_maps_after_reloading(make, tmp_path):
    model = make()
    methods = MethodSet(method_names(), smoothing=2, steps=3, smint_samples=2, occlusion=(8, 8))
    batch = {"x": pixels(2, batch=3)}
    original, again = (methods.explain(SaliencyNet(each, "x", "y", seed=5), batch)
                       for each in (model, reloaded(model, tmp_path)))
    columns = [key for column in methods.columns for key in (column, raw_key(column))]
    assert list(original) == list(again) == ["y", *columns]
    for column in columns:
        assert original[column].shape == (3, *SHAPE[:2], 1)
        assert original[column].max() > 0, column
        np.testing.assert_allclose(again[column], original[column], rtol=1e-4, atol=1e-5,
                                   err_msg=column)
