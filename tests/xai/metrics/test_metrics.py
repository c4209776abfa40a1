"""Explanation-quality metrics and the added attribution methods, on cases with known answers."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest

from xaiexp.architecture.tensorflow import LeNet
from xaiexp.dataset.data import shapes
from xaiexp.xai import SaliencyNet, last_feature_layer
from xaiexp.xai.metrics.completeness import completeness_error
from xaiexp.xai.metrics.faithfulness import deletion_auc, insertion_auc
from xaiexp.xai.metrics.localization import pointing_game, relevance_mass
from xaiexp.xai.metrics.randomization import cascading_randomization


def salnet(model, **kwargs):
    return SaliencyNet(model, model_inputs="x", model_outputs="y_pred", **kwargs)


def images(shape, batch=4, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, *shape)).astype(np.float32)


def pixel_sum_model(pixels, shape=(8, 8, 1), activation=None, bias=0.0):
    """One output: ``activation``(sum of the ``pixels`` (a boolean (H, W) array) + ``bias``)."""
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation=activation)])
    model.layers[-1].set_weights([pixels.reshape(-1, 1).astype(np.float32),
                                  np.array([bias], np.float32)])
    return model


def small_cnn(shape=(8, 8, 3), classes=3, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(classes, activation="softmax"),
    ])


def corner_patch(size=8, patch=4):
    """(size, size) bool: the bottom-left ``patch`` x ``patch`` square."""
    pixels = np.zeros((size, size), bool)
    pixels[size - patch:, :patch] = True
    return pixels


# --- localization --------------------------------------------------------------------------

def test_a_map_equal_to_the_mask_scores_full_mass_and_a_hit():
    masks = np.zeros((3, 10, 10, 1), np.uint8)
    masks[0, 2:5, 3:7] = masks[1, :, :2] = masks[2, 9, 9] = 1
    np.testing.assert_allclose(relevance_mass(masks.astype(float), masks), 1.0)
    np.testing.assert_array_equal(pointing_game(masks.astype(float), masks[..., 0]), 1.0)
    outside = 1.0 - masks  # the complement: no mass inside, and the peak misses
    np.testing.assert_allclose(relevance_mass(outside, masks), 0.0)
    np.testing.assert_array_equal(pointing_game(outside, masks), 0.0)


def test_a_uniform_map_scores_the_masks_area_fraction():
    masks = shapes.load_data(n_train=6, n_eval=1, seed=1)[0].data["mask"]
    uniform = np.ones((6, 32, 32, 3))  # channels are summed
    np.testing.assert_allclose(relevance_mass(uniform, masks), masks.mean(axis=(1, 2, 3)))
    negative = -uniform  # no positive relevance at all: undefined, not a division by zero
    assert np.isnan(relevance_mass(negative, masks)).all()


# --- faithfulness --------------------------------------------------------------------------

def test_deletion_and_insertion_rank_a_perfect_ordering_above_a_random_one():
    pixels = np.zeros((8, 8), bool)
    pixels[[1, 2, 5, 6], [3, 7, 0, 4]] = pixels[[0, 3, 4, 7], [0, 2, 6, 5]] = True  # 8 pixels
    model = pixel_sum_model(pixels, activation="sigmoid", bias=-4.0)
    x = np.ones((5, 8, 8, 1), np.float32)
    perfect = np.broadcast_to(pixels[None, ..., None], x.shape).astype(np.float32)
    random = np.random.default_rng(0).uniform(size=x.shape)
    classes = np.zeros(5, int)
    perfect_deletion = deletion_auc(model, x, perfect, classes, steps=16, baseline=0.0)
    # 4 pixels per step: sigmoid(4), sigmoid(0), then sigmoid(-4) for the remaining 15 steps,
    # relative to the clean image's sigmoid(4).
    sigmoid = 1 / (1 + np.exp(-np.array([4.0, 0.0] + [-4.0] * 15)))
    np.testing.assert_allclose(perfect_deletion, np.trapezoid(sigmoid, dx=1 / 16) / sigmoid[0],
                               rtol=1e-5)
    np.testing.assert_allclose(deletion_auc(model, x, perfect, classes, baseline=0.0,
                                            relative=False), np.trapezoid(sigmoid, dx=1 / 16),
                               rtol=1e-5)
    assert (perfect_deletion < deletion_auc(model, x, random, classes, baseline=0.0) - 0.2).all()
    perfect_insertion = insertion_auc(model, x, perfect, steps=16, baseline=0.0)
    assert (perfect_insertion > insertion_auc(model, x, random, steps=16, baseline=0.0) + 0.2).all()
    blurred = insertion_auc(model, x, perfect, chunk_size=7)  # the RISE default, tiny calls
    assert blurred.shape == (5,) and ((0 <= blurred) & (blurred <= 1)).all()


# --- randomization -------------------------------------------------------------------------

def test_cascading_randomization_flags_maps_that_ignore_the_weights():
    model, x = small_cnn(), images((8, 8, 3), batch=6)
    weights = [w.copy() for w in model.get_weights()]
    classes = model(x).numpy().argmax(-1)

    def gradients(m):
        return salnet(m, target="label").get_masks({"x": x, "label": classes}, raw=True)[
            "saliency"]

    keras.utils.set_random_seed(1)
    input_only = cascading_randomization(model, lambda m: x)
    weighted = [layer.name for layer in model.layers[::-1] if layer.weights]
    assert list(input_only) == weighted  # top layer first
    for correlations in input_only.values():
        np.testing.assert_allclose(correlations, 1.0)
    keras.utils.set_random_seed(1)
    gradient_check = cascading_randomization(model, gradients)
    fully_random = gradient_check[weighted[-1]]
    assert fully_random.shape == (6,) and fully_random.mean() < 0.5
    for before, after in zip(weights, model.get_weights()):  # the caller's model is untouched
        np.testing.assert_array_equal(before, after)


# --- completeness --------------------------------------------------------------------------

def test_integrated_gradients_are_complete_at_300_steps_from_any_baseline():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    batch = {"x": images((6, 6, 3))}
    errors = completeness_error(salnet(model, baseline="zeros"), batch, nsamples=300)
    assert errors.shape == (4,) and errors.dtype == np.float64 and errors.max() < 0.01
    assert completeness_error(salnet(model, baseline="zeros"), batch, nsamples=2).max() > 0.01
    # The default random baseline is drawn inside the compiled call, and scored there too; its
    # rough paths (and one small f(x) − f(b) here) want more steps for the same error.
    assert completeness_error(salnet(model, seed=0), batch, nsamples=1000).max() < 0.005
    with pytest.raises(ValueError, match="nsamples >= 2"):
        completeness_error(salnet(model), batch, nsamples=1)


# --- attribution methods -------------------------------------------------------------------

def test_gradient_x_input_is_the_gradient_times_the_input_on_a_linear_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 5, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(4)])
    x = images((5, 5, 2))
    result = salnet(model).get_gradient_x_input_masks({"x": x}, raw=True)
    kernel = model.layers[-1].get_weights()[0]  # (50, 4): the gradient of each class
    expected = kernel[:, result["y_pred"]].T.reshape(x.shape) * x
    np.testing.assert_allclose(result["saliency"], expected, rtol=1e-5, atol=1e-6)
    masks = salnet(model).get_gradient_x_input_masks({"x": x})["saliency"]
    assert masks.shape == (4, 5, 5, 1) and masks.max() == 1


def test_grad_cam_uses_the_last_feature_maps_and_returns_unit_masks():
    model = LeNet(input_shape=(32, 32, 3), classes=5)
    assert last_feature_layer(model) == model.layers[4].name  # the third convolution
    result = salnet(model, chunk_size=3).get_gradcam_masks({"x": images((32, 32, 3), batch=5)})
    masks = result["saliency"]
    assert masks.shape == (5, 32, 32, 1) and masks.dtype == np.float32
    assert masks.min() >= 0 and masks.max() <= 1 and masks.max() > 0
    with pytest.raises(ValueError, match="4-D"):
        last_feature_layer(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


def test_occlusion_lights_the_one_patch_the_score_depends_on():
    patch = corner_patch()
    model = pixel_sum_model(patch)
    x = np.ones((2, 8, 8, 1), np.float32)
    raw = salnet(model, chunk_size=5).get_occlusion_masks({"x": x}, patch=4, stride=4, raw=True)
    np.testing.assert_allclose(raw["saliency"][..., 0], np.where(patch, 16.0, 0.0)[None].repeat(2, 0))
    overlapping = salnet(model).get_occlusion_masks({"x": x}, patch=2, stride=1)["saliency"]
    assert overlapping[:, patch].min() > overlapping[:, ~patch].max()  # inside the patch brightest


def test_vargrad_is_zero_without_noise_and_not_with_it():
    model, x = small_cnn(), images((8, 8, 3))
    net = salnet(model, seed=0)
    np.testing.assert_array_equal(net.get_vargrad_masks({"x": x}, 5, stdev_spread=0, raw=True)[
        "saliency"], 0)
    np.testing.assert_array_equal(net.get_vargrad_masks({"x": x}, 5, stdev_spread=0)["saliency"], 0)
    noisy = net.get_vargrad_masks({"x": x}, 5, stdev_spread=0.3)["saliency"]
    assert noisy.shape == (4, 8, 8, 1) and noisy.max() == 1
