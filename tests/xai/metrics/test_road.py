"""ROAD (remove and debias): noisy linear imputation and the share of removals a prediction
survives, against Quantus' ROAD and on cases with known answers."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest

from xaiexp.xai.metrics.road import impute, road


def single_pixel_model(pixel, shape=(8, 8, 1)):
    """Two classes: class 0 while the ``pixel`` (row, column) is above 0.5, else class 1."""
    weights = np.zeros((*shape, 2), np.float32)
    weights[(*pixel, 0, 0)] = 1.0
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.layers[-1].set_weights([weights.reshape(-1, 2), np.array([-0.5, 0.0], np.float32)])
    return model


def test_road_matches_quantus_at_every_percentage():
    quantus = pytest.importorskip("quantus")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    features = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(
        keras.layers.Flatten()(features)))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 8, 8, 1)).astype(np.float32)
    maps = rng.random((24, 8, 8, 1)).astype(np.float32)  # no ties: Quantus' order is ours
    classes = model.predict(x, verbose=0).argmax(-1)
    percentages = [10, 30, 50, 70, 90]
    reference = quantus.ROAD(noise=0.0, percentages=percentages, abs=False, normalise=False,
                             disable_warnings=True, display_progressbar=False)(
        model=model, x_batch=x, y_batch=classes, a_batch=np.moveaxis(maps, -1, 1),
        channel_first=False)
    ours = [road(model, x, maps, classes, percentages=(p,), noise=0.0).mean() for p in percentages]
    np.testing.assert_array_equal(ours, list(reference.values()))
    assert 0 < min(ours) < max(ours) < 1  # the percentages differ: the comparison has teeth


def test_imputation_continues_a_linear_ramp_and_adds_the_noise_asked_for():
    """Inside the image every pixel of a plane is the mean of its neighbours, so imputing any
    interior pixels of a ramp gives the ramp back exactly; noise has the σ asked for."""
    rows, columns = np.mgrid[:12, :12].astype(np.float64)
    ramp = np.stack([rows, 2 * columns - rows, 0.5 * rows + 3], axis=-1)
    removed = np.zeros((12, 12), bool)
    removed[2:10, 3:9] = True
    np.testing.assert_allclose(impute(ramp, removed, noise=0), ramp, atol=1e-9)
    noisy = impute(ramp, removed, noise=0.1, rng=np.random.default_rng(0))
    residual = (noisy - ramp)[removed]
    assert residual.std() == pytest.approx(0.1, rel=0.15)
    assert (noisy[~removed] == ramp[~removed]).all()
    flat = np.ones((12, 12, 3))
    np.testing.assert_allclose(impute(flat, rows < 11, noise=0), flat)  # a border row remains


def test_morf_and_lerf_have_known_answers_at_zero_and_one():
    """A prediction that hangs on one pixel: a map ranking it first loses the class at every
    MoRF removal (0) and keeps it at every LeRF removal (1); a constant map is a random order;
    an all-zero map ranks nothing (NaN)."""
    model = single_pixel_model((3, 4))
    images = np.zeros((6, 8, 8, 1), np.float32)
    images[:, 3, 4] = 1.0
    peak = np.zeros((6, 8, 8, 1))
    peak[:, 3, 4] = 1.0
    peak[:, 0, :] = 0.5  # other relevance, below the peak
    classes = np.zeros(6, int)
    np.testing.assert_array_equal(road(model, images, peak, classes, order="morf"), 0.0)
    np.testing.assert_array_equal(road(model, images, peak, classes, order="lerf"), 1.0)
    constant = np.ones((6, 8, 8, 1))
    random_order = road(model, images, constant, classes, seed=3)
    assert 0 < random_order.mean() < 1
    tiebreak = np.random.default_rng(3).random((6, 64)).reshape(6, 8, 8, 1)  # lowest first
    np.testing.assert_array_equal(random_order, road(model, images, -tiebreak, classes, seed=3))
    assert np.isnan(road(model, images, np.zeros_like(peak), classes)).all()
    assert road(model, images, peak).tolist() == [0.0] * 6  # classes: the predicted ones


def test_road_refuses_bad_orders_and_percentages():
    with pytest.raises(ValueError, match=r"order must be one of \['morf', 'lerf'\]"):
        road(None, np.zeros((1, 4, 4, 1)), np.ones((1, 4, 4, 1)), [0], order="both")
    with pytest.raises(ValueError, match="between 0 and 100"):
        road(None, np.zeros((1, 4, 4, 1)), np.ones((1, 4, 4, 1)), [0], percentages=(0, 50))
