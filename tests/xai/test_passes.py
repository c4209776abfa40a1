"""Fewer passes for the same maps: quadrature rules, variance-reduced draws, k baselines,
completeness-adaptive steps, and draws that belong to their method. References written
differently: NumPy's Gauss–Legendre, closed-form integrals, PAIR ``saliency``'s integrated
gradients and vanilla gradient looped over the same draws."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest
import saliency.core as pair
import tensorflow as tf

from xaiexp.app.tasks.build import instantiate_group
from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, error_line
from xaiexp.xai import SaliencyNet, integrated_gradients, smooth_grad
from xaiexp.xai.draws import SAMPLERS, Draws
from xaiexp.xai.kinds import PassOptions
from xaiexp.xai.method_set import MethodSet, raw_key
from xaiexp.xai.quadrature import RULES, nodes_and_weights

SHAPE = (6, 6, 3)


def images(batch=3, seed=0, shape=SHAPE):
    return np.random.default_rng(seed).normal(size=(batch, *shape)).astype(np.float32)


def salnet(model, **kwargs):
    return SaliencyNet(model, model_inputs="x", model_outputs="y_pred", **kwargs)


def scalar_model(function, shape=SHAPE):
    """A model whose one output is ``function`` of the image (summed over its elements)."""
    return keras.Sequential([keras.Input(shape), keras.layers.Lambda(
        lambda t: keras.ops.sum(function(t), axis=(1, 2, 3))[:, None])])


def tiny_cnn(seed=0, classes=3):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(classes)])


def pair_gradients(model, target):
    """PAIR's call_model_function: the gradient of ``model``'s ``target`` output."""
    def call(batch, call_model_args=None, expected_keys=None):
        points = tf.constant(np.asarray(batch, np.float32))
        with tf.GradientTape() as tape:
            tape.watch(points)
            score = model(points)[:, target]
        return {pair.INPUT_OUTPUT_GRADIENTS: tape.gradient(score, points).numpy()}
    return call


# --- quadrature and draws, in NumPy ---------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 2, 5, 16])
def test_rules_integrate_what_they_should(steps):
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, gauss = nodes_and_weights("gausslegendre", steps)
    np.testing.assert_allclose(alphas, (nodes + 1) / 2)
    np.testing.assert_allclose(gauss, weights / 2)
    for degree in range(2 * steps):  # exact for polynomials of degree 2n − 1: ∫₀¹ αᵏ = 1/(k+1)
        assert (gauss * alphas ** degree).sum() == pytest.approx(1 / (degree + 1), rel=1e-12)
    for rule in RULES:
        alphas, weights = nodes_and_weights(rule, steps)
        assert len(alphas) == steps and weights.sum() == pytest.approx(1.0)
        assert ((0 <= alphas) & (alphas <= 1)).all()
    alphas, weights = nodes_and_weights("linspace", steps)
    np.testing.assert_array_equal(alphas, np.linspace(0, 1, steps))  # FastEstimator's nodes
    np.testing.assert_array_equal(weights, np.full(steps, 1 / steps))
    if steps > 1:
        for rule in ("riemann_trapezoid", "riemann_middle"):  # exact on linear integrands
            alphas, weights = nodes_and_weights(rule, steps)
            assert (weights * alphas).sum() == pytest.approx(0.5, rel=1e-12)


def test_samplers_draw_in_the_open_interval_and_latin_fills_every_stratum():
    rng = np.random.default_rng(0)
    for name, sampler in SAMPLERS.items():
        values = sampler(rng, 7, 500)
        assert values.shape == (7, 500) and (values >= 0).all() and (values < 1).all(), name
    strata = np.sort(np.floor(SAMPLERS["latin"](rng, 8, 1000) * 8), axis=0)
    np.testing.assert_array_equal(strata, np.arange(8)[:, None] * np.ones((1, 1000)))
    pairs = SAMPLERS["antithetic"](rng, 6, 100)
    np.testing.assert_allclose(pairs[:3] + pairs[3:], 1.0)


def test_draws_belong_to_their_stream_and_image():
    shape = (4, 4, 3)
    draws, again = Draws(7, [0, 1, 2], shape), Draws(7, [2], shape)
    first = draws.normals("a", 2, 5, "latin")
    np.testing.assert_array_equal(again.normals("a", 0, 5, "latin"), first)  # image 2 either way
    assert not np.array_equal(draws.normals("b", 2, 5, "latin"), first)
    assert not np.array_equal(draws.normals("a", 1, 5, "latin"), first)
    assert not np.array_equal(Draws(8, [0, 1, 2], shape).normals("a", 2, 5, "latin"), first)
    assert first.shape == (5, *shape) and first.dtype == np.float32 and np.isfinite(first).all()


# --- the engine against references written differently ---------------------------------------

def test_gauss_legendre_integrates_a_cubic_model_exactly():
    """f(x) = Σ a·x³: the path gradient is quadratic in α, so two Gauss–Legendre nodes give the
    exact integrated gradients a·(x³ − b³) per element; linspace's equal weights do not."""
    a = np.random.default_rng(1).uniform(0.5, 1.5, SHAPE).astype(np.float32)
    model = scalar_model(lambda t: a * t ** 3)
    x = images()
    net = salnet(model, baseline="zeros")
    exact = a * x ** 3
    gauss = net.get_integrated_masks({"x": x}, nsamples=2, rule="gausslegendre", raw=True)
    np.testing.assert_allclose(gauss["saliency"], exact, rtol=1e-4, atol=1e-5)
    linspace = net.get_integrated_masks({"x": x}, nsamples=2, raw=True)["saliency"]
    assert np.abs(linspace - exact).max() > 0.1


def test_completeness_of_a_softmax_is_reached_with_few_gauss_legendre_nodes():
    """softmax(Wx + c): Σ attributions must equal f(x) − f(0), read here from the model."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                              keras.layers.Dense(4, activation="softmax")])
    x = images(batch=4, seed=3)
    classes = model(x).numpy().argmax(1)
    gap = model(x).numpy()[np.arange(4), classes] - model(0 * x).numpy()[np.arange(4), classes]
    net = salnet(model, baseline="zeros")
    errors = {}
    for rule, steps in (("gausslegendre", 8), ("linspace", 8), ("linspace", 100)):
        result = net.explain({"x": x}, {"ig": integrated_gradients(steps, rule)}, raw=True,
                             completeness=True)
        total = result["ig"].reshape(4, -1).sum(1)
        np.testing.assert_allclose(result["ig completeness"], np.abs(total - gap) / np.abs(gap),
                                   rtol=1e-3, atol=1e-6)
        errors[rule, steps] = result["ig completeness"].max()
    assert errors["gausslegendre", 8] < 1e-4 < errors["linspace", 100] < errors["linspace", 8]


@pytest.mark.parametrize("sampling", ["random", "latin"])
def test_k_baselines_are_the_mean_of_pairs_integrated_gradients_over_the_same_draws(sampling):
    """The k-baseline map is PAIR's IG (linspace, FastEstimator's rule) averaged over the k
    uniform baselines the draws give, each image in its own value range."""
    model, x, k, steps = tiny_cnn(), images(batch=2), 3, 5
    result = salnet(model, seed=4, noise_range="image").explain(
        {"x": x}, {"ig": integrated_gradients(steps, baselines=k, sampling=sampling)}, raw=True)
    draws = Draws(4, range(len(x)), SHAPE)
    for i, image in enumerate(x):
        low, high = image.min(), image.max()
        baselines = low + (high - low) * draws.uniforms("ig", i, k, sampling)
        call = pair_gradients(model, result["y_pred"][i])
        expected = np.mean([pair.IntegratedGradients().GetMask(
            image, call, x_baseline=b, x_steps=steps, batch_size=steps) for b in baselines], 0)
        np.testing.assert_allclose(result["ig"][i], expected, rtol=1e-4, atol=1e-6)


def test_latin_smoothgrad_is_the_plain_mean_over_its_draws():
    """Squared PAIR vanilla gradients of the clean image and of x + σ·ε for the stream's
    Latin-hypercube normals ε, averaged: what the engine's one batched call returns."""
    model, x, n = tiny_cnn(), images(batch=2, seed=5), 6
    result = salnet(model, seed=9).explain({"x": x}, {"sg": smooth_grad(n, sampling="latin")},
                                           raw=True)
    sigma = 0.15 * (x.max() - x.min())  # noise_range="batch": the batch's range
    draws = Draws(9, range(len(x)), SHAPE)
    for i, image in enumerate(x):
        noise = draws.normals("sg", i, n - 1, "latin")
        call = pair_gradients(model, result["y_pred"][i])
        grads = [pair.GradientSaliency().GetMask(point, call)
                 for point in [image, *(image + sigma * noise)]]
        np.testing.assert_allclose(result["sg"][i], np.mean(np.square(grads), 0), rtol=1e-4,
                                   atol=1e-8)


def test_latin_noise_halves_smoothgrads_error_on_a_quadratic_model():
    """f = Σx²: SmoothGrad's mean squared gradient estimates 4(x² + σ²); its error is the
    mean of the drawn noise and of its square, which a Latin hypercube spreads evenly."""
    x = images(batch=4, shape=(16, 16, 3))
    model = scalar_model(lambda t: t * t, shape=(16, 16, 3))
    sigma = 0.2 * (x.max() - x.min())
    errors = {}
    for sampling in ("random", "latin"):
        raw = salnet(model, seed=0).get_smoothed_masks({"x": x}, 0.2, 9, raw=True,
                                                       sampling=sampling)["saliency"]
        noisy = (raw * 9 - 4 * x ** 2) / 8  # the 8 noisy draws' mean of 4(x + σε)²
        errors[sampling] = np.sqrt(np.mean((noisy - 4 * (x ** 2 + sigma ** 2)) ** 2))
    assert errors["latin"] < errors["random"] / 2


@pytest.mark.parametrize("sampling", ["random", "latin"])
def test_a_methods_maps_do_not_depend_on_the_methods_beside_it(sampling):
    """Same seed and images, alone or among the other gradient methods (and cut into other
    chunks): the same maps, up to the float32 rounding of differently batched kernels."""
    model, batch = tiny_cnn(), {"x": images(batch=3, seed=6)}
    passes = PassOptions(sampling=sampling, rule="gausslegendre", baselines=2)
    everything = ["vanilla", "smoothgrad", "integrated", "smint", "gradient_x_input", "vargrad"]
    together = MethodSet(everything, smoothing=4, steps=3, smint_samples=3, passes=passes)
    maps = together.explain(salnet(model, seed=11, chunk_size=7), batch)
    for method in everything:
        alone = MethodSet([method], smoothing=4, steps=3, smint_samples=3, passes=passes)
        column = next(iter(alone.columns))
        own = alone.explain(salnet(model, seed=11, chunk_size=64), batch)
        np.testing.assert_allclose(own[raw_key(column)], maps[raw_key(column)], rtol=1e-5,
                                   atol=1e-9, err_msg=method)


def test_adaptive_steps_stop_within_tolerance_and_keep_their_baselines():
    """Each image ends at the fewest doubled step counts whose completeness error is within
    the tolerance, with its own random baseline throughout: its map is the fixed-step map of
    that count, found here by explaining every count separately."""
    model, x = tiny_cnn(seed=3), images(batch=6, seed=7)
    net, tolerance = salnet(model, seed=5), 0.01
    fixed = {steps: net.explain({"x": x}, {"ig": integrated_gradients(steps)}, raw=True,
                                completeness=True) for steps in (2, 4, 8, 16, 32, 64)}
    adaptive = net.explain({"x": x}, {"ig": integrated_gradients(2)}, raw=True,
                           completeness=True, tolerance=tolerance, max_steps=64)
    chosen = [next((s for s, r in fixed.items() if r["ig completeness"][i] <= tolerance), 64)
              for i in range(len(x))]
    assert len(set(chosen)) > 1  # some images need more steps than others
    for i, steps in enumerate(chosen):
        np.testing.assert_allclose(adaptive["ig"][i], fixed[steps]["ig"][i], rtol=1e-5, atol=1e-8)
        assert adaptive["ig completeness"][i] == pytest.approx(fixed[steps]["ig completeness"][i])
    within = adaptive["ig completeness"] <= tolerance
    assert within[np.array(chosen) < 64].all()


# --- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize("override, expected", [
    ("explain.passes.rule=simpson", "explain.passes.rule: must be one of linspace, riemann_left"),
    ("explain.passes.sampling=sobol", "explain.passes.sampling: must be one of random, antithetic, "
                                      "latin, got 'sobol'"),
    ("explain.passes.baselines=0", "explain.passes.baselines: must be >= 1, got 0"),
    ("explain.passes.tolerance=0", "explain.passes.tolerance: must be > 0, got 0"),
    ("explain.passes.samplng=latin", "explain.passes.samplng: unknown key (did you mean sampling?)"),
])
def test_pass_options_are_checked_before_tensorflow(override, expected, home):
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config([override])
    assert expected in error_line(error.value) and "\n" not in error_line(error.value)


def test_the_tutorial_keeps_fastestimators_passes_and_the_default_experiment_does_not():
    tutorial = compose_config(["experiment=cifar10_saliency"]).explain
    assert PassOptions(**tutorial.passes) == PassOptions()
    assert (tutorial.smoothing, list(tutorial.integrating)) == (25, [100, 6])
    default = compose_config([])
    assert PassOptions(**default.explain.passes) == PassOptions(
        rule="gausslegendre", sampling="latin", baselines=2, tolerance=0.05, max_steps=64)
    trace = instantiate_group(default.traces.saliency, "traces", model=tiny_cnn())
    assert trace.method_set.settings.passes == PassOptions(**default.explain.passes)
