"""Saliency engine (parity with a slow reference, invariances, performance contracts), the
Saliency trace, ImgData and the image I/O traces."""

import logging

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest
from tests.support import saliency_reference as reference
import tensorflow as tf

from xaiexp.system import System
from xaiexp.trace.io import ImageSaver, ImageViewer, TensorBoard
from xaiexp.trace.xai import Saliency
from xaiexp.xai.statistics import COMPANIONS
from xaiexp.util.data import Data
from xaiexp.util.img_data import ImgData, Overlay
from xaiexp.xai import (SaliencyNet, Term, integrated_gradients, smooth_grad, smooth_integrated,
                        vanilla_gradient)
from xaiexp.xai.baselines import BASELINES
from xaiexp.xai.masks import to_masks

ALL_METHODS = {
    "saliency": vanilla_gradient(),
    "smoothed": smooth_grad(5),
    "integrated": integrated_gradients(7),
    "smint": smooth_integrated(3, 6),
}


def tiny_cnn(shape, classes=3, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(4, 3, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(classes, activation="softmax"),
    ])


def linear_model(shape, classes=4, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                             keras.layers.Dense(classes)])


def smooth_mlp(shape, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Flatten(),
        keras.layers.Dense(16, activation="tanh"),
        keras.layers.Dense(3, activation="softplus"),
    ])


def images(shape, batch=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, *shape)).astype(np.float32)


def salnet(model, **kwargs):
    return SaliencyNet(model, model_inputs="x", model_outputs="y_pred", **kwargs)


# --- parity with the reference -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 3)], ids=["gray", "rgb"])
def test_masks_match_reference(shape):
    model, x = tiny_cnn(shape), images(shape)
    result = salnet(model).get_masks({"x": tf.constant(x)})
    classes = reference.predicted_classes(model, x)
    np.testing.assert_array_equal(result["y_pred"], classes)
    raw = salnet(model).get_masks({"x": x}, raw=True)["saliency"]
    np.testing.assert_allclose(raw, reference.vanilla(model, x, classes), rtol=1e-4, atol=1e-7)
    assert result["saliency"].shape == (3, *shape[:2], 1) and result["saliency"].dtype == np.float32
    np.testing.assert_allclose(result["saliency"], reference.masks(raw), atol=1e-5)


@pytest.mark.parametrize("baseline", ["zeros", "midpoint", "mean"])
def test_integrated_matches_reference(baseline):
    shape = (8, 8, 3)
    model, x = tiny_cnn(shape), images(shape)
    classes = reference.predicted_classes(model, x)
    starts = {
        "zeros": np.zeros_like(x),
        "midpoint": np.full_like(x, (x.min() + x.max()) / 2),
        "mean": np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape),
    }[baseline]
    net = salnet(model, baseline=baseline, chunk_size=5)
    raw = net.get_integrated_masks({"x": x}, nsamples=6, raw=True)["saliency"]
    expected = reference.integrated(model, x, classes, starts, steps=6)
    np.testing.assert_allclose(raw, expected, rtol=1e-4, atol=1e-7)
    masks = net.get_integrated_masks({"x": x}, nsamples=6)["saliency"]
    np.testing.assert_allclose(masks, reference.masks(expected), atol=1e-4)


def test_smoothing_without_noise_matches_reference():
    """stdev_spread=0 removes the randomness, leaving FastEstimator's arithmetic to compare:
    SmoothGrad = mean of squared (or raw) clean gradients; SmInt = mean of the squared clean
    gradient and squared *summed* integrated maps."""
    shape = (8, 8, 3)
    model, x = tiny_cnn(shape), images(shape)
    classes = reference.predicted_classes(model, x)
    net = salnet(model, baseline="zeros")
    vanilla = reference.vanilla(model, x, classes)
    squared = net.get_smoothed_masks({"x": x}, stdev_spread=0, nsamples=4, raw=True)["saliency"]
    np.testing.assert_allclose(squared, vanilla ** 2, rtol=1e-4, atol=1e-12)
    plain = net.get_smoothed_masks({"x": x}, stdev_spread=0, magnitude=False, raw=True)
    np.testing.assert_allclose(plain["saliency"], vanilla, rtol=1e-4, atol=1e-7)
    smint = net.get_smoothed_masks({"x": x}, stdev_spread=0, nsamples=3, nintegration=5,
                                   raw=True)["saliency"]
    expected = reference.smooth_integrated(model, x, classes, [np.zeros_like(x)] * 2, steps=5)
    np.testing.assert_allclose(smint, expected, rtol=1e-4, atol=1e-12)


def test_linear_model_attribution_is_the_class_weights():
    shape = (6, 5, 2)
    model, x = linear_model(shape), images(shape, batch=4)
    weights = model.layers[-1].kernel.numpy()  # (H·W·C, classes)
    result = salnet(model).get_masks({"x": x}, raw=True)
    predicted = model(x).numpy().argmax(axis=1)
    np.testing.assert_array_equal(result["y_pred"], predicted)
    expected = weights[:, predicted].T.reshape(x.shape)
    np.testing.assert_allclose(result["saliency"], expected, rtol=1e-5, atol=1e-7)
    # A label key as target explains that class instead; one-hot labels work too.
    labels = (predicted + 1) % 4
    for given in (labels[:, None], np.eye(4)[labels]):
        raw = salnet(model, target="y").get_masks({"x": x, "y": given}, raw=True)["saliency"]
        np.testing.assert_allclose(raw, weights[:, labels].T.reshape(x.shape), rtol=1e-5)


def test_noisy_smoothing_of_a_linear_model_is_the_squared_weights():
    """The gradient of a linear model does not depend on its input, so noise must not change
    SmoothGrad: this catches noisy passes explaining another class than the clean one."""
    shape = (6, 5, 2)
    model, x = linear_model(shape), images(shape, batch=4)
    clean = salnet(model).get_masks({"x": x}, raw=True)["saliency"]
    smoothed = salnet(model).get_smoothed_masks({"x": x}, stdev_spread=3.0, nsamples=8, raw=True)
    np.testing.assert_allclose(smoothed["saliency"], clean ** 2, rtol=1e-5, atol=1e-12)


# --- the random parts, by their statistics ---------------------------------------------------

def sum_of_squares_model(shape):
    return keras.Sequential([keras.Input(shape), keras.layers.Lambda(
        lambda t: keras.ops.sum(t * t, axis=(1, 2, 3))[:, None])])


def test_noise_spread_is_a_fraction_of_the_batch_range_and_drawn_afresh():
    """For f(x) = Σx² the gradient is 2(x + noise): SmoothGrad's mean squared gradient is
    4x² + 4σ²·(n−1)/n, and the mean gradient 2x + 2·(sum of n−1 independent draws)/n."""
    shape, n = (16, 16, 3), 50
    x = images(shape, batch=2)
    net = salnet(sum_of_squares_model(shape), seed=0)
    sigma = 0.1 * (x.max() - x.min())
    squared = net.get_smoothed_masks({"x": x}, stdev_spread=0.1, nsamples=n, raw=True)
    variance = np.mean(squared["saliency"] / 4 - x ** 2) * n / (n - 1)
    assert np.sqrt(variance) == pytest.approx(sigma, rel=0.03)
    mean = net.get_smoothed_masks({"x": x}, stdev_spread=0.1, nsamples=n, magnitude=False,
                                  raw=True)["saliency"]
    noise_mean = (mean / 2 - x) * n / (n - 1)
    assert noise_mean.std() == pytest.approx(sigma / np.sqrt(n - 1), rel=0.1)


def test_uniform_baselines_span_the_batch_range_afresh():
    """For f(x) = Σx the integrated map is x − b, which exposes the baselines."""
    shape = (16, 16, 3)
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    x = images(shape, batch=2)
    net = salnet(model, seed=0)
    first, second = (x - net.get_integrated_masks({"x": x}, nsamples=3, raw=True)["saliency"]
                     for _ in range(2))
    low, high = x.min(), x.max()
    assert low - 1e-5 <= first.min() and first.max() <= high + 1e-5
    assert first.mean() == pytest.approx((low + high) / 2, abs=float(0.02 * (high - low)))
    assert first.std() == pytest.approx((high - low) / np.sqrt(12), rel=0.03)
    np.testing.assert_allclose(first, second, atol=1e-5)  # same seed, same baselines
    other = x - salnet(model, seed=1).get_integrated_masks({"x": x}, nsamples=3, raw=True)[
        "saliency"]
    assert np.abs(other - first).mean() > 0.1 * (high - low)


def score_gaps(model, x, start, classes):
    rows = np.arange(len(x))
    return model(x).numpy()[rows, classes] - model(start).numpy()[rows, classes]


def relative_error(attributions, gaps):
    return np.abs(attributions.reshape(len(gaps), -1).sum(axis=1) - gaps) / np.abs(gaps)


@pytest.mark.parametrize("baseline", ["zeros", "mean", "midpoint"])
def test_integrated_gradients_are_complete(baseline):
    """Σ attributions = f(x) − f(b) (within 1 % at 300 steps) for a smooth model, and the
    completeness error explain reports is that of its own maps against the model's scores."""
    shape = (4, 4, 3)
    model, x = smooth_mlp(shape), images(shape, batch=3, seed=1) * 2
    start = {
        "zeros": np.zeros_like(x),
        "mean": np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape),
        "midpoint": np.full_like(x, (x.min() + x.max()) / 2),
    }[baseline]
    result = salnet(model, baseline=baseline).explain(
        {"x": x}, {"ig": integrated_gradients(300)}, raw=True, completeness=True)
    difference = score_gaps(model, x, start, result["y_pred"])
    assert np.all(np.abs(difference) > 1e-3)
    totals = result["ig"].reshape(len(x), -1).sum(axis=1)
    np.testing.assert_allclose(totals, difference, rtol=0.01)
    errors = result["ig completeness"]
    assert errors.shape == (3,) and errors.dtype == np.float64 and errors.max() < 0.01
    np.testing.assert_allclose(errors, relative_error(result["ig"], difference), atol=1e-5)


def test_completeness_error_shrinks_with_steps():
    shape = (4, 4, 3)
    model, x = smooth_mlp(shape), images(shape, batch=3, seed=1) * 2
    net = salnet(model, baseline="zeros")
    errors = []
    for steps in (2, 5, 30, 300):
        result = net.explain({"x": x}, {"ig": integrated_gradients(steps)}, raw=True,
                             completeness=True)
        expected = relative_error(result["ig"], score_gaps(model, x, 0 * x, result["y_pred"]))
        np.testing.assert_allclose(result["ig completeness"], expected, rtol=1e-4, atol=1e-6)
        errors.append(expected)
    assert (np.diff(errors, axis=0) < 0).all() and errors[-1].max() < 0.01


@pytest.mark.parametrize("baseline", sorted(BASELINES))
def test_completeness_is_exact_on_a_linear_model(baseline):
    """A linear score has a constant gradient, so every Riemann sum is the integral: the error
    is 0 for any steps and baseline, random and noisy paths included."""
    shape = (6, 5, 2)
    model, x = linear_model(shape), images(shape, batch=4)
    methods = {"two": integrated_gradients(2), "seven": integrated_gradients(7),
               "noisy": (Term(noise_spread=0.5, integrated=True, steps=3, scale=1 / 3),)}
    result = salnet(model, seed=0, baseline=baseline).explain({"x": x}, methods,
                                                              completeness=True)
    for name in methods:
        np.testing.assert_allclose(result[f"{name} completeness"], 0, atol=1e-4)


def test_completeness_only_for_one_unsquared_integrated_path():
    shape = (8, 8, 3)
    methods = {**ALL_METHODS, "one_step": integrated_gradients(1),
               "squared": (Term(integrated=True, steps=3, squared=True),)}
    net = salnet(tiny_cnn(shape), seed=0)
    result = net.explain({"x": images(shape)}, methods, completeness=True)
    assert [key for key in result if "completeness" in key] == ["integrated completeness"]
    assert not any("completeness" in key for key in net.explain({"x": images(shape)}, methods))


# --- invariances and performance contracts ---------------------------------------------------

def test_results_do_not_depend_on_chunk_size():
    shape = (8, 8, 3)
    model, x = tiny_cnn(shape), images(shape)
    results = [salnet(model, seed=7, chunk_size=size).explain({"x": x}, ALL_METHODS, raw=True,
                                                              completeness=True)
               for size in (1024, 64, 7, 1)]
    for other in results[1:]:
        for name in ALL_METHODS:
            np.testing.assert_allclose(other[name], results[0][name], rtol=1e-4, atol=1e-9)
        # Chunks of 7 or 1 rows split the integrated paths: their ends' scores are carried over.
        np.testing.assert_allclose(other["integrated completeness"],
                                   results[0]["integrated completeness"], rtol=1e-4, atol=1e-6)


def test_seed_reproduces_exactly_and_seeds_differ():
    shape = (8, 8, 3)
    model, x = tiny_cnn(shape), images(shape)
    first, again, other = (salnet(model, seed=seed, chunk_size=50).explain({"x": x}, ALL_METHODS)
                           for seed in (3, 3, 4))
    for name in ALL_METHODS:
        np.testing.assert_array_equal(first[name], again[name])
    for name in ("smoothed", "integrated", "smint"):
        assert not np.array_equal(first[name], other[name])
    np.testing.assert_array_equal(first["saliency"], other["saliency"])


def test_batch_of_one_and_no_retracing():
    shape = (8, 8, 3)
    model = tiny_cnn(shape)
    net = salnet(model, chunk_size=16)
    for batch in (1, 3, 2):
        result = net.explain({"x": images(shape, batch=batch)}, ALL_METHODS)
        assert result["y_pred"].shape == (batch,)
        assert all(result[name].shape == (batch, 8, 8, 1) for name in ALL_METHODS)
        assert all(np.isfinite(result[name]).all() for name in ALL_METHODS)
    predict, term_maps = net.engine._functions(shape)
    assert term_maps.experimental_get_tracing_count() == 1
    assert predict.experimental_get_tracing_count() == 1


def test_masks_of_flat_attributions_are_zero_not_nan():
    np.testing.assert_array_equal(to_masks(np.zeros((2, 4, 4, 3))), np.zeros((2, 4, 4, 1)))
    spike = np.zeros((1, 4, 4, 1))
    spike[0, 1, 2] = -5.0  # fewer than 1 % of pixels above the minimum: vmax = vmin
    assert to_masks(spike)[0, 1, 2, 0] == 1 and to_masks(spike).sum() == 1


def test_blur_baseline_keeps_flat_images_flat():
    shape = (8, 8, 3)
    model = tiny_cnn(shape)
    x = np.full((2, *shape), 0.5, np.float32)
    x[1] = -0.25  # a flat image is its own blur, so every path is a single point
    raw = salnet(model, baseline="blur").get_integrated_masks({"x": x}, nsamples=4, raw=True)
    np.testing.assert_allclose(raw["saliency"], 0, atol=1e-6)


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="baseline"):
        salnet(tiny_cnn((8, 8, 3)), baseline="gray")


# --- the Saliency trace --------------------------------------------------------------------

def batch(seed, size=2, shape=(8, 8, 3)):
    return {"x": images(shape, batch=size, seed=seed),
            "y": np.random.default_rng(seed).integers(0, 3, size=(size, 1))}


def run_epoch(trace, system, batches):
    system.epoch_idx += 1
    for values in batches:
        trace.on_batch_end(Data(values))
    data = Data()
    trace.on_epoch_end(data)
    return data


def saliency_trace(**kwargs):
    settings = dict(model=tiny_cnn((8, 8, 3)), model_inputs="x", model_outputs="y_pred",
                    class_key="y", smoothing=2, integrating=(3, 2), seed=0)
    trace = Saliency(**{**settings, **kwargs})
    trace.system = System(mode="eval")
    return trace


def test_saliency_trace_fixes_its_probes_at_the_first_epoch():
    trace = saliency_trace(samples=3, label_mapping={"cat": 0, "dog": 1, "ship": 2})
    first = run_epoch(trace, trace.system, [batch(1), batch(2)])["saliency"]
    assert isinstance(first, ImgData)
    assert list(first) == ["y", "y_pred", "x", "x saliency", "saliency", "Smoothed saliency",
                           "Integrated saliency", "SmInt saliency"]
    expected_x = np.concatenate([batch(1)["x"], batch(2)["x"][:1]])
    np.testing.assert_array_equal(first["x"], expected_x)
    assert set(first["y"]) <= {"cat", "dog", "ship"} and len(first["y"]) == 3
    assert set(first["y_pred"]) <= {"cat", "dog", "ship"}
    assert isinstance(first["x saliency"], Overlay)
    np.testing.assert_array_equal(first["x saliency"].masks, first["SmInt saliency"])
    assert first["x saliency"].method == "SmInt saliency" and first.checked == ("y", "y_pred")
    right = sum(first["y"] == first["y_pred"])
    assert first.title == f"eval \u00b7 epoch 1/1 \u00b7 {right}/3 probes right"  # no accuracy logged
    assert not trace.needs_batch()

    second = run_epoch(trace, trace.system, [batch(3), batch(4)])["saliency"]
    np.testing.assert_array_equal(second["x"], expected_x)
    assert not trace._collected  # later batches are not hoarded
    np.testing.assert_array_equal(second["saliency"], first["saliency"])  # same model, probes

    trace.system.mode = "test"  # each mode picks its own probes
    assert trace.needs_batch()
    tested = run_epoch(trace, trace.system, [batch(5, size=4)])["saliency"]
    np.testing.assert_array_equal(tested["x"], batch(5, size=4)["x"][:3])


@pytest.mark.parametrize("smoothing, integrating, columns", [
    (0, 0, ["saliency"]),
    (2, 0, ["saliency", "Smoothed saliency"]),
    (0, 3, ["saliency", "Integrated saliency"]),
    (2, (3, 0), ["saliency", "Smoothed saliency", "Integrated saliency"]),
    (0, (3, 2), ["saliency", "Integrated saliency", "SmInt saliency"]),
])
def test_saliency_trace_columns_follow_settings(smoothing, integrating, columns):
    trace = saliency_trace(class_key=None, smoothing=smoothing, integrating=integrating)
    figure = run_epoch(trace, trace.system, [batch(1, size=3), batch(2)])["saliency"]
    assert list(figure) == ["y_pred", "x", "x saliency", *columns]
    assert len(figure["x"]) == 3  # samples=None: the first batch
    np.testing.assert_array_equal(figure["x saliency"].masks, figure[columns[-1]])


def test_saliency_trace_accepts_chosen_samples():
    chosen = batch(9, size=2)
    trace = saliency_trace(samples=chosen, smoothing=0, integrating=0)
    assert not trace.needs_batch()
    figure = run_epoch(trace, trace.system, [batch(1)])["saliency"]
    np.testing.assert_array_equal(figure["x"], chosen["x"])


def test_saliency_trace_scores_its_maps_against_masks():
    """A mask covering everything holds all relevance and every peak; on an empty one both are
    undefined (NaN: no object to point at), never a perfect-looking 0 or 1."""
    def with_mask(seed, fill):
        values = batch(seed)
        return {**values, "mask": np.full((*values["x"].shape[:3], 1), fill, np.uint8)}

    methods = ["saliency", "smoothed_saliency", "integrated_saliency", "smint_saliency"]
    for fill, expected, scored in ((1, 1.0, 2), (0, np.nan, 0)):
        trace = saliency_trace(mask_key="mask", metrics=["relevance_mass", "pointing_game"])
        logs = run_epoch(trace, trace.system, [with_mask(1, fill)]).read_logs()
        scores = {key: value for key, value in logs.items()
                  if key.split("/")[1] in methods and not key.endswith(COMPANIONS)}
        assert scores.keys() == {f"xai/{method}/{metric}" for method in methods
                                 for metric in ("relevance_mass", "pointing_game")}
        np.testing.assert_array_equal(list(scores.values()), expected)
        assert all(logs.get(f"{key}_n", 0) == scored for key in scores), logs
    unmasked = saliency_trace(metrics=["relevance_mass", "pointing_game"])
    assert run_epoch(unmasked, unmasked.system, [batch(1)]).read_logs() == {}
    with pytest.raises(ValueError, match="unknown metric"):
        saliency_trace(mask_key="mask", metrics=["accuracy"])


# --- ImgData and the I/O traces ------------------------------------------------------------

def figure_data(rows=5):
    x = images((8, 8, 3), batch=rows)
    masks = np.random.default_rng(1).random((rows, 8, 8, 1)).astype(np.float32)
    return ImgData(label=np.array(["cat"] * rows), score=np.linspace(0, 1, rows),
                   x=tf.constant(x), gray=x[..., :1], **{"x mask": Overlay(x, masks)}, mask=masks)


def test_img_data_paints_one_row_per_sample():
    import matplotlib.pyplot as plt

    from xaiexp.util.img_data import CELL_PIXELS as cell
    from xaiexp.util.img_data import HEADER_PIXELS as header

    data = figure_data()
    figure = data.paint_figure()
    texts = [t.get_text() for t in figure.texts]
    # the text columns share one cell column, a "name: value" line each
    assert texts[:3] == ["label / score", "label: cat", "score: 0"] and texts.count("label: cat") == 5
    assert [texts.index(name) < texts.index(after) for name, after in
            (("label / score", "x"), ("x", "gray"), ("gray", "x mask"), ("x mask", "mask"))] == [True] * 4
    plt.close(figure)
    pixels = data.paint_numpy()
    text_width = pixels.shape[1] - 4 * cell - 64  # 4 image columns and the colour scale
    assert pixels.dtype == np.uint8 and pixels.shape[0] == header + 5 * cell and text_width >= cell
    image_cell = pixels[header + 10:header + cell - 10, text_width + 10:text_width + cell - 10]  # row 1, x
    text_cell_corner = pixels[header + 2 * cell - 20:header + 2 * cell - 5, 5:20]  # row 1, label
    assert image_cell.std() > 10 and (text_cell_corner == 255).all()
    assert len(data.paint_png()) < 200_000


def test_a_strip_shows_the_overlays_in_one_row_and_frames_wrong_predictions():
    """paint_strip: the Overlay column's cells side by side, each the overlay blown up by repeating
    pixels (checked against the 8x8 overlay itself), a red frame round the wrong prediction, white
    around, padded to the aspect asked for."""
    from xaiexp.util.img_data import STRIP_CELL_PIXELS as cell
    from xaiexp.util.img_data import STRIP_GAP as gap
    from xaiexp.util.img_data import WRONG

    x = np.random.default_rng(0).random((3, 8, 8, 3)).astype(np.float32)
    masks = np.zeros((3, 8, 8), np.float32)  # no map: the overlay is the image itself
    data = ImgData(y=["cat", "dog", "cat"], y_pred=["cat", "cat", "cat"], x=x,
                   **{"x saliency": Overlay(x, masks)}, saliency=masks)
    data.checked = ("y", "y_pred")
    strip = data.paint_strip(min_aspect=4).astype(int)
    assert strip.shape == (cell + 2 * gap, 4 * (cell + 2 * gap), 3)
    left = (strip.shape[1] - 3 * (cell + gap) - gap) // 2 + gap
    for row in range(3):
        inside = strip[gap:gap + cell, left + row * (cell + gap):left + row * (cell + gap) + cell]
        scaled = (x[row] - x[row].min()) / (x[row].max() - x[row].min())  # each image to its range
        expected = np.repeat(np.repeat(scaled, cell // 8, axis=0), cell // 8, axis=1) * 255
        assert np.abs(inside - expected).max() <= 1
    frame = strip[gap - 2, left + (cell + gap) + cell // 2]  # above the middle cell: row 1 is wrong
    assert np.abs(frame - np.array(WRONG) * 255).max() <= 1
    assert (strip[gap - 2, left + cell // 2] == 255).all() and (strip[:, :left - gap] == 255).all()


def test_img_data_titles_marks_wrong_rows_and_shows_the_colour_scale():
    """The figure explains itself: a title, wrong predictions in red with a mark, the overlay's
    method in its header, and the colormap's 0-1 scale beside the maps (painted pixels, read
    back from the image)."""
    import matplotlib

    from xaiexp.util.img_data import CELL_PIXELS as cell
    from xaiexp.util.img_data import HEADER_PIXELS, TITLE_PIXELS, WRONG

    x = images((8, 8, 3), batch=3)
    masks = np.random.default_rng(1).random((3, 8, 8)).astype(np.float32)
    data = ImgData(y=["cat", "dog", "cat"], y_pred=["cat", "cat", "cat"], x=x,
                   **{"x saliency": Overlay(x, masks, method="SmInt saliency")}, saliency=masks)
    data.title, data.checked = "eval \u00b7 epoch 2/5 \u00b7 accuracy 0.667", ("y", "y_pred")
    figure = data.paint_figure()
    texts = {t.get_text(): t for t in figure.texts}
    assert "eval \u00b7 epoch 2/5 \u00b7 accuracy 0.667" in texts and "x saliency:\nSmInt saliency" in texts
    wrong = texts["\u2717 y_pred: cat"]  # row 2 only
    assert matplotlib.colors.to_rgb(wrong.get_color()) == pytest.approx(WRONG)
    assert sum(t.get_color() != "black" for t in figure.texts) == 1
    assert {"1", "0.5", "0"} <= set(texts)
    matplotlib.pyplot.close(figure)
    pixels = data.paint_numpy().astype(int)
    top = TITLE_PIXELS + HEADER_PIXELS
    red_bar = pixels[top + cell + 10:top + 2 * cell - 10, 1]
    assert (np.abs(red_bar - np.array(WRONG) * 255) <= 1).all() and (pixels[top + 10, 1] == 255).all()
    scale = pixels[top + 2:top + 2 + 2 * cell, -64 + 12]  # the colour scale: 1 at the top, 0 below
    inferno = np.array(matplotlib.colormaps["inferno"](np.linspace(1, 0, len(scale)))[:, :3]) * 255
    assert np.abs(scale - inferno).max() <= 2


def test_img_data_refuses_ragged_columns():
    with pytest.raises(ValueError, match="length"):
        ImgData(a=np.zeros((2, 4, 4, 1)), b=np.zeros((3, 4, 4, 1)))


@pytest.mark.filterwarnings("ignore:Glyph")  # the NUL in the key, drawn as a title
def test_image_saver_writes_safe_file_names(tmp_path):
    saver = ImageSaver(inputs=["saliency", "../up/../x\0"], save_dir=str(tmp_path / "images"))
    saver.system = System(mode="eval", epoch_idx=2)
    data = Data()
    data.write_without_log("saliency", figure_data(rows=2))
    data.write_without_log("../up/../x\0", tf.zeros((2, 8, 8, 3)))
    saver.on_epoch_end(data)
    names = sorted(path.name for path in (tmp_path / "images").iterdir())
    assert names == ["__up___x__eval_epoch_2.png", "saliency_eval_epoch_2.png"]


def test_image_viewer_is_a_quiet_no_op_without_a_notebook(caplog):
    viewer = ImageViewer(inputs="saliency")
    viewer.system = System(mode="eval")
    data = Data()
    data.write_without_log("saliency", figure_data(rows=1))
    with caplog.at_level(logging.INFO):
        viewer.on_epoch_end(data)
        viewer.on_epoch_end(data)
    assert len([r for r in caplog.records if "ImageViewer" in r.getMessage()]) == 1


def test_tensorboard_writes_scalars_and_images(tmp_path):
    board = TensorBoard(log_dir=str(tmp_path), write_images="saliency")
    board.system = System(mode="train", global_step=1, log_steps=1)
    train = Data({"x": images((8, 8, 3))})
    train.write_with_log("ce", np.float32(0.5))
    board.on_batch_end(train)
    board.system.mode = "eval"
    evaluation = Data()
    evaluation.write_with_log("accuracy", 0.75)
    evaluation.write_without_log("saliency", figure_data(rows=2))
    board.on_epoch_end(evaluation)
    board.on_end(Data())

    def tags(mode):
        files = list((tmp_path / mode).iterdir())
        assert len(files) == 1 and files[0].name.startswith("events.out.tfevents")
        events = tf.compat.v1.train.summary_iterator(str(files[0]))
        return {value.tag: value.metadata.plugin_data.plugin_name
                for event in events for value in event.summary.value}

    assert tags("train") == {"ce": "scalars"}
    assert tags("eval") == {"accuracy": "scalars", "saliency": "images"}
