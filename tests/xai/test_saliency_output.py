"""What is explained (the probability or the pre-softmax logit) and whose value range scales the
noise (the batch's or each image's)."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.xai.test_saliency_models import SHAPE, backbone_functional, lenet, pixels, reloaded
from xaiexp.architecture.tensorflow import CNN, MobileNetV2
from xaiexp.xai import SaliencyNet, smooth_grad
from xaiexp.xai.logits import explained_model


def softmax_layer_model():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(4),
                             keras.layers.Softmax()])


def mobilenet():
    keras.utils.set_random_seed(4)
    return MobileNetV2(input_shape=SHAPE, classes=5, weights=None, alpha=0.35)


def cnn():
    keras.utils.set_random_seed(5)
    return CNN(input_shape=SHAPE, classes=5)


@pytest.mark.parametrize("make", [lenet, cnn, softmax_layer_model, backbone_functional,
                                  mobilenet])
def test_the_logit_model_is_the_softmax_input_of_the_same_weights(make, tmp_path):
    model = make()
    images = pixels(1, batch=3)
    for each in (model, reloaded(model, tmp_path)):
        logits = explained_model(each, "logit")(images, training=False)
        np.testing.assert_allclose(tf.nn.softmax(logits), model(images, training=False),
                                   rtol=1e-4, atol=1e-6)
    assert explained_model(model) is model


def test_the_logit_model_follows_training():
    model = lenet()
    logits = explained_model(model, "logit")
    weights = model.layers[-1].get_weights()
    model.layers[-1].set_weights([w + 1 for w in weights])
    images = pixels(2, batch=2)
    np.testing.assert_allclose(tf.nn.softmax(logits(images)), model(images), rtol=1e-4, atol=1e-6)


def test_a_model_without_softmax_is_refused_in_one_line():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"^output='logit' needs model .* to end in a softmax"):
        explained_model(model, "logit")
    with pytest.raises(ValueError, match=r"output must be one of \['probability', 'logit'\]"):
        SaliencyNet(model, "x", "y", output="logits")
    linear = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert explained_model(linear, "logit") is linear


def test_logit_gradients_are_the_logits_gradients():
    model = lenet()
    images = pixels(3, batch=2)
    salnet = SaliencyNet(model, "x", "y", output="logit")
    maps = salnet.get_masks({"x": images}, raw=True)["saliency"]
    classes = model(images).numpy().argmax(-1)
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = explained_model(model, "logit")(x)
        chosen = tf.gather(logits, classes, axis=1, batch_dims=1)
    np.testing.assert_allclose(maps, tape.gradient(chosen, x), rtol=1e-4, atol=1e-7)
    cam = salnet.get_gradcam_masks({"x": images}, raw=True)["saliency"]
    assert cam.shape == (2, *SHAPE[:2], 1) and cam.max() > 0


def logits_twin(model):
    """A model of ``model``'s architecture and weights whose last Dense has no softmax: what a
    user's own model with a linear last layer outputs."""
    layers = [keras.layers.Dense.from_config({**layer.get_config(), "activation": "linear"})
              if layer is model.layers[-1] else layer.__class__.from_config(layer.get_config())
              for layer in model.layers]
    twin = keras.Sequential([keras.Input(SHAPE), *layers])
    twin.set_weights(model.get_weights())
    return twin


def test_a_model_that_outputs_logits_is_explained_on_their_softmax_or_themselves():
    model = lenet()
    twin, images = logits_twin(model), pixels(4, batch=3)
    np.testing.assert_allclose(tf.nn.softmax(twin(images)), model(images), rtol=1e-4, atol=1e-6)
    classes = model(images).numpy().argmax(-1)
    x = tf.constant(images)
    for output, explained in (("probability", lambda v: tf.nn.softmax(twin(v))), ("logit", twin)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            chosen = tf.gather(explained(x), classes, axis=1, batch_dims=1)
        salnet = SaliencyNet(twin, "x", "y", output=output, from_logits=True)
        maps = salnet.get_masks({"x": images}, raw=True)
        np.testing.assert_array_equal(maps["y"], classes)
        np.testing.assert_allclose(maps["saliency"], tape.gradient(chosen, x), rtol=1e-4, atol=1e-9)
        ours = SaliencyNet(model, "x", "y", output=output).get_gradcam_masks({"x": images}, raw=True)
        np.testing.assert_allclose(salnet.get_gradcam_masks({"x": images}, raw=True)["saliency"],
                                   ours["saliency"], rtol=1e-4, atol=1e-7)
    # what is occluded and scored is the probability, as for the softmax model
    np.testing.assert_allclose(SaliencyNet(twin, "x", "y", from_logits=True).engine.predict(images),
                               model(images), rtol=1e-4, atol=1e-6)


def test_noise_range_image_makes_a_map_independent_of_the_other_images():
    model = lenet()
    dim, bright = pixels(4, batch=1) * 0.1, pixels(5, batch=1)
    method = {"saliency": smooth_grad(4, magnitude=False)}

    def maps(noise_range, batch):
        net = SaliencyNet(model, "x", "y", seed=1, noise_range=noise_range)
        return net.explain({"x": batch}, method, raw=True)["saliency"][0]

    alone, beside = maps("image", dim), maps("image", np.concatenate([dim, bright]))
    np.testing.assert_allclose(alone, beside, rtol=1e-4, atol=1e-7)
    assert not np.allclose(maps("batch", dim), maps("batch", np.concatenate([dim, bright])),
                           rtol=1e-3)
    with pytest.raises(ValueError, match=r"noise_range must be one of \['batch', 'image'\]"):
        SaliencyNet(model, "x", "y", noise_range="dataset")
