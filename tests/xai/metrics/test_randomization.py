"""The randomization sanity check: Spearman correlation and SSIM on the pixels the model can see,
against scipy and scikit-image, and the cascade from the configuration's Scorecard."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from xaiexp.architecture.tensorflow import LeNet
from xaiexp.xai import SaliencyNet
from xaiexp.xai.method_set import MethodSet
from xaiexp.xai.metrics.randomization import cascading_randomization, rank_correlation, visible_pixels
from xaiexp.xai.metrics.scorecard import Scorecard
from xaiexp.xai.metrics.ssim import structural_similarity


def lenet_gradients(count=16, seed=0):
    keras.utils.set_random_seed(seed)
    model = LeNet(input_shape=(32, 32, 3), classes=5)
    images = np.random.default_rng(seed).normal(size=(count, 32, 32, 3)).astype(np.float32)
    return model, images, SaliencyNet(model, "x", "y_pred").get_masks({"x": images}, raw=True)[
        "saliency"]


def test_two_independent_random_maps_on_lenet_correlate_about_zero():
    """LeNet's valid convolutions and pools never reach the last two rows and columns (124
    pixels): every map is 0 there. Random maps with those zeros correlated 0.32 over all
    pixels; on the visible ones, 0."""
    _, _, gradients = lenet_gradients()
    visible = visible_pixels(gradients)
    assert (~visible).sum() == 124 and visible[:30, :30].all()
    rng = np.random.default_rng(1)
    first, second = (rng.random((64, 32, 32, 1)) * visible[..., None] for _ in range(2))
    assert abs(rank_correlation(first, second).mean()) < 0.02
    everywhere = np.ones((32, 32), bool)
    assert rank_correlation(first, second, everywhere).mean() == pytest.approx(0.32, abs=0.03)
    assert abs(structural_similarity(first, second, visible).mean()) < 0.05


def test_spearman_and_ssim_agree_with_scipy_and_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    first = rng.gamma(1.0, 1.0, size=(5, 24, 24, 3))
    second = np.abs(first + rng.normal(0, 1.0, size=first.shape))
    first[:, :, :2] = second[:, :, :2] = 0  # two columns no map reaches
    first[1] = np.round(first[1])  # plateaus: ties averaged, as scipy does
    second[2, 4:12, 4:12] = 7.0
    visible = visible_pixels(first, second)
    assert (~visible).sum() == 48
    collapsed = [np.abs(maps).sum(-1) for maps in (first, second)]
    np.testing.assert_allclose(rank_correlation(first, second), [
        spearmanr(a[visible], b[visible]).statistic for a, b in zip(*collapsed)], rtol=1e-12)

    def unit(image):
        return (image - image[visible].min()) / (image[visible].max() - image[visible].min())

    full = [metrics.structural_similarity(unit(a), unit(b), data_range=1, gaussian_weights=True,
                                          sigma=1.5, use_sample_covariance=False, full=True)
            for a, b in zip(*collapsed)]
    counted = visible.copy()
    counted[:5] = counted[-5:] = counted[:, :5] = counted[:, -5:] = False
    np.testing.assert_allclose(structural_similarity(first, second, visible),
                               [s[counted].mean() for _, s in full], rtol=1e-10)
    everywhere = np.ones((24, 24), bool)
    np.testing.assert_allclose(  # all pixels: scikit-image's own mean SSIM
        structural_similarity(first, second, everywhere), [
            metrics.structural_similarity(a / a.max(), b / b.max(), data_range=1,
                                          gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False)
            for a, b in zip(*collapsed)], rtol=1e-10)


def test_constant_maps_have_no_similarity():
    rng = np.random.default_rng(0)
    maps = rng.random((3, 16, 16, 1))
    flat = np.ones((3, 16, 16, 1))
    flat[1] = 0.0  # all zero, as a dead Grad-CAM map
    assert np.isnan(rank_correlation(maps, flat)).all() and np.isnan(rank_correlation(flat, maps)).all()
    assert np.isnan(structural_similarity(maps, flat)).all()
    assert np.isnan(structural_similarity(maps[:, :8, :8], maps[:, :8, :8])).all()  # under 11 px
    np.testing.assert_allclose(structural_similarity(maps, maps), 1.0)


def test_the_cascade_from_the_scorecard_follows_the_trained_layers_below():
    model, images, _ = lenet_gradients(count=4)
    salnet = SaliencyNet(model, "x", "y_pred", seed=0)
    method_set = MethodSet(["vanilla"])
    batch = {"x": images}
    maps = method_set.explain(salnet, batch)
    keras.utils.set_random_seed(5)
    cascade = Scorecard(["randomization", "randomization_ssim"], salnet, method_set,
                        cascading=True)
    keras.utils.set_random_seed(5)
    full_only = Scorecard(["randomization"], salnet, method_set)
    scores = cascade.per_sample(batch, maps)
    weighted = sum(1 for layer in model.layers if layer.weights)  # 5: from the top, 1 ... 4, all
    assert set(scores) == {("saliency", f"{metric}{step}") for metric in (
        "randomization", "randomization_ssim") for step in ["", *(f"_top{k}" for k in range(
            1, weighted))]}
    np.testing.assert_array_equal(scores["saliency", "randomization"],
                                  full_only.per_sample(batch, maps)["saliency", "randomization"])
    assert (scores["saliency", "randomization_top1"] > scores["saliency", "randomization"]).all()
    # the trained model changes (an epoch of training): the steps' lower layers follow it
    model.layers[0].set_weights([w * 2 for w in model.layers[0].get_weights()])
    later = cascade.per_sample(batch, method_set.explain(salnet, batch))
    top1, _ = cascade._randomized.steps[0]
    np.testing.assert_array_equal(top1.engine.model.layers[0].get_weights()[0],
                                  model.layers[0].get_weights()[0])
    assert not np.array_equal(later["saliency", "randomization_top1"],
                              scores["saliency", "randomization_top1"])


def test_cascading_randomization_takes_another_similarity():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, activation="tanh"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    images = np.random.default_rng(0).normal(size=(3, 12, 12, 1)).astype(np.float32)
    explainers = {}

    def gradients(m):  # one SaliencyNet per model: the cascade re-explains the same clone
        explainer = explainers.setdefault(id(m), SaliencyNet(m, "x", "y_pred", target="label"))
        return explainer.get_masks({"x": images, "label": np.zeros(3, int)}, raw=True)["saliency"]

    keras.utils.set_random_seed(1)
    ssim = cascading_randomization(model, gradients, structural_similarity)
    keras.utils.set_random_seed(1)
    spearman = cascading_randomization(model, gradients)
    assert list(ssim) == list(spearman) and len(ssim) == 2
    for step in [*ssim.values(), *spearman.values()]:
        assert step.shape == (3,) and np.isfinite(step).all() and (step < 0.9).all()
