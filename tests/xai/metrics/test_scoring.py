"""The metrics score raw relevance, not display masks: known answers on tiny hand-made maps with
ties and flat regions, and agreement with references written as plain loops."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
import pytest

from xaiexp.xai import SaliencyNet
from xaiexp.xai.masks import relevance, to_masks
from xaiexp.xai.method_set import MethodSet, raw_key
from xaiexp.xai.metrics.faithfulness import deletion_auc, insertion_auc
from xaiexp.xai.metrics.localization import pointing_game, relevance_mass
from xaiexp.xai.metrics.scorecard import Scorecard


def loop_pointing_game(map_, mask, tolerance=0.0):
    """Reference: visit every pixel; the share of those holding the maximum that lie within
    ``tolerance`` of a mask pixel; NaN for an all-zero map or an empty mask."""
    height, width = map_.shape
    peak = max(map_.flat)
    if peak <= 0 or not mask.any():
        return np.nan
    tied = hits = 0
    for i in range(height):
        for j in range(width):
            if map_[i, j] == peak:
                tied += 1
                hits += any(mask[k, m] and (i - k) ** 2 + (j - m) ** 2 <= tolerance ** 2
                            for k in range(height) for m in range(width))
    return hits / tied


def loop_relevance_mass(map_, mask):
    inside = total = 0.0
    for value, on_object in zip(map_.flat, mask.flat):
        if value > 0:
            total += value
            inside += value if on_object else 0.0
    return inside / total if total and mask.any() else np.nan


def test_pointing_game_known_answers_with_ties_flat_and_empty_maps():
    mask = np.zeros((4, 4), bool)
    mask[3, 3] = True
    tie_first_outside = np.zeros((4, 4))
    tie_first_outside[0, 0] = tie_first_outside[3, 3] = 5  # row-major first tie misses
    single_peak_outside = np.zeros((4, 4))
    single_peak_outside[0, 0], single_peak_outside[3, 3] = 5, 4
    flat = np.full((4, 4), 2.0)  # every pixel a maximum: the mask's share, chance
    plateau = np.ones((4, 4))
    plateau[2:, 2:] = 3  # flat region of 4 maxima, one on the mask
    zero = np.zeros((4, 4))  # no relevance: undefined
    maps = np.stack([tie_first_outside, single_peak_outside, flat, plateau, zero])
    masks = np.stack([mask] * 5)[..., None]
    np.testing.assert_array_equal(pointing_game(maps, masks), [0.5, 0, 1 / 16, 0.25, np.nan])
    near = np.zeros((1, 4, 4))
    near[0, 2, 3] = 1  # one pixel above the mask
    assert pointing_game(near, mask[None])[0] == 0
    assert pointing_game(near, mask[None], tolerance=1)[0] == 1
    assert np.isnan(pointing_game(near, np.zeros((1, 4, 4)), tolerance=1)[0])  # no object


def test_relevance_mass_known_answers():
    mask = np.zeros((1, 2, 3), bool)
    mask[0, 0, :2] = True
    map_ = np.array([[[1.0, 3.0, -2.0], [0.0, 4.0, 0.0]]])  # positive: 1 + 3 inside of 8
    np.testing.assert_allclose(relevance_mass(map_, mask), [0.5])
    flat, zero = np.ones((1, 2, 3)), np.zeros((1, 2, 3))
    np.testing.assert_allclose(relevance_mass(flat, mask), [2 / 6])  # uniform: the mask's area
    assert np.isnan(relevance_mass(zero, mask)[0]) and np.isnan(relevance_mass(flat, ~mask & 0)[0])


def test_coarse_and_one_pixel_maps_that_hit_equally_often_score_the_same():
    """Grad-CAM-like 4x4 maps upsampled to 32x32 (8x8 plateaus of tied maxima) against 1-pixel
    peaks drawn inside each coarse map's top cell: the expected pointing game is the same,
    where a hit for ANY tied maximum scores the plateaus far higher."""
    rng = np.random.default_rng(0)
    n = 3000
    coarse = np.kron(rng.random((n, 4, 4)), np.ones((8, 8)))
    masks = np.zeros((n, 32, 32), bool)
    for mask, (top, left) in zip(masks, rng.integers(0, 24, (n, 2))):
        mask[top:top + 9, left:left + 9] = True
    fine = rng.random((n, 32, 32)) * 0.5
    cells = coarse.reshape(n, -1).argmax(1)
    for image, cell, (dy, dx) in zip(fine, cells, rng.integers(0, 8, (n, 2))):
        row, column = divmod(cell, 32)
        image[row + dy, column + dx] = 1.0
    expected_coarse, expected_fine = pointing_game(coarse, masks), pointing_game(fine, masks)
    assert set(np.unique(expected_fine)) <= {0.0, 1.0}
    assert 0 < expected_coarse.mean() < 0.5
    assert expected_fine.mean() == pytest.approx(expected_coarse.mean(), abs=0.02)
    any_tie = np.mean([(map_ == map_.max())[mask].any() for map_, mask in zip(coarse, masks)])
    assert any_tie > expected_coarse.mean() + 0.1  # the rule it replaces favours plateaus


@pytest.mark.parametrize("tolerance", [0.0, 1.0, 2.5])
def test_localization_agrees_with_plain_loops_on_quantized_maps(tolerance):
    rng = np.random.default_rng(int(tolerance * 2))
    maps = rng.integers(0, 4, size=(40, 6, 7)).astype(float)  # many ties
    maps[:3] = 1.0  # flat maps
    masks = rng.random((40, 6, 7)) < 0.15
    masks[3] = False  # an image without object
    np.testing.assert_allclose(
        pointing_game(maps, masks, tolerance),
        [loop_pointing_game(m, k, tolerance) for m, k in zip(maps, masks)])
    np.testing.assert_allclose(relevance_mass(maps - 1, masks),
                               [loop_relevance_mass(m - 1, k) for m, k in zip(maps, masks)])


def pixel_weights_model(weights):
    """sigmoid(Σ weights · x), one output: each pixel's contribution is known."""
    model = keras.Sequential([keras.Input(weights.shape), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.layers[-1].set_weights([weights.reshape(-1, 1).astype(np.float32),
                                  np.zeros(1, np.float32)])
    return model


def loop_auc(model, image, map_, start, end, steps, tiebreak, clean):
    """Reference: pixels taken in decreasing relevance (among equals, in increasing
    ``tiebreak``), ``end``'s value at the first k of them and ``start``'s elsewhere, scored one
    image at a time; the trapezoidal area over the ``clean`` image's score."""
    height, width, _ = image.shape
    order = sorted(range(height * width), key=lambda p: (-map_.flat[p], tiebreak[p]))
    scores = []
    for k in range(steps + 1):
        count = round(k / steps * height * width)
        current = start.copy()
        for p in order[:count]:
            current[p // width, p % width] = end[p // width, p % width]
        scores.append(float(model(current[None], training=False)[0, 0]))
    area = sum((a + b) / 2 for a, b in zip(scores, scores[1:])) / steps
    return area / float(model(clean[None], training=False)[0, 0])


BLACK = (-2.0, 0.5)  # a black pixel per channel, as a Normalize op would make it


@pytest.mark.parametrize("baseline", ["black", "mean", 0.25])
def test_deletion_and_insertion_agree_with_a_plain_loop(baseline):
    rng = np.random.default_rng(1)
    model = pixel_weights_model(rng.normal(size=(4, 4, 2)))
    images = rng.uniform(size=(3, 4, 4, 2)).astype(np.float32)
    maps = rng.integers(0, 3, size=(3, 4, 4, 1)).astype(float)  # ties: a seeded random order
    maps[0] = 1.0  # a constant map: a random order
    if baseline == "black":
        references = np.broadcast_to(np.array(BLACK, np.float32), images.shape)
    elif baseline == "mean":
        references = np.stack([np.ones_like(i) * i.mean(axis=(0, 1)) for i in images])
    else:
        references = np.full_like(images, baseline)
    classes = np.zeros(3, int)
    tiebreak = np.random.default_rng(7).random((3, 16))
    np.testing.assert_allclose(
        deletion_auc(model, images, maps, classes, steps=4, baseline=baseline, black=BLACK, seed=7),
        [loop_auc(model, i, m, i, r, 4, t, i) for i, m, r, t in zip(images, maps, references,
                                                                     tiebreak)], rtol=1e-5)
    np.testing.assert_allclose(
        insertion_auc(model, images, maps, classes, steps=4, baseline=baseline, black=BLACK, seed=7),
        [loop_auc(model, r, m, r, i, 4, t, i) for i, m, r, t in zip(images, maps, references,
                                                                     tiebreak)], rtol=1e-5)


def test_a_plateau_is_deleted_in_random_order_not_from_the_top_rows():
    """A constant map deleted in row-major order (the old tie rule) scored an object at the top
    as faithfully explained and the same object at the bottom as not; in random order both
    score alike. All-zero maps explain nothing: NaN."""
    top = np.zeros((8, 8), bool)
    top[:2] = True
    model = pixel_weights_model(np.where(top, 1.0, 0.0)[..., None] * 3)
    images = np.ones((40, 8, 8, 1), np.float32)
    plateau = np.ones((40, 8, 8, 1))
    flipped = pixel_weights_model(np.where(top[::-1], 1.0, 0.0)[..., None] * 3)
    at_top, at_bottom = (deletion_auc(m, images, plateau, np.zeros(40, int), baseline=0.0)
                         for m in (model, flipped))
    assert abs(at_top.mean() - at_bottom.mean()) < 0.05
    row_major = np.arange(64, 0, -1, dtype=float).reshape(1, 8, 8, 1).repeat(40, 0)
    old_top, old_bottom = (deletion_auc(m, images, row_major, np.zeros(40, int), baseline=0.0)
                           for m in (model, flipped))
    assert old_bottom.mean() > old_top.mean() + 0.3  # what the row-major rule measured
    zeros = np.zeros((2, 8, 8, 1))
    assert np.isnan(deletion_auc(model, images[:2], zeros, np.zeros(2, int))).all()
    assert np.isnan(insertion_auc(model, images[:2], zeros, np.zeros(2, int))).all()


def test_an_unknown_faithfulness_baseline_is_one_line():
    with pytest.raises(ValueError, match=r"baseline must be one of \['black', 'mean', 'blur'\]"):
        deletion_auc(None, np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)), [0], baseline="white")


def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                             keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])


def test_method_set_gives_raw_relevance_from_the_same_passes():
    batch = {"x": np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)}
    salnet = SaliencyNet(tiny_model(), "x", "y_pred", seed=3)
    maps = MethodSet(["vanilla", "smoothgrad"], smoothing=3).explain(salnet, batch)
    raw = salnet.get_masks(batch, raw=True)["saliency"]
    np.testing.assert_allclose(maps[raw_key("saliency")], np.abs(raw).sum(-1, keepdims=True))
    np.testing.assert_allclose(maps["saliency"], to_masks(raw))
    assert maps[raw_key("Smoothed saliency")].shape == (2, 8, 8, 1)


def gradient_like_maps(size=32, object_rows=8, seed=0):
    """Attributions with a bright ridge (a row) off a square object at the top, and in half of
    them a sharper peak on the object: the raw maximum is on the object exactly then, but the
    display's 99th-percentile clip ties the peak with the ridge at 1."""
    rng = np.random.default_rng(seed)
    count = 60
    attributions = rng.gamma(1.0, 1.0, size=(count, size, size, 3)).astype(np.float32)
    masks = np.zeros((count, size, size, 1), np.uint8)
    for i in range(count):
        top = 0
        left = rng.integers(0, size - object_rows)
        masks[i, top:top + object_rows, left:left + object_rows] = 1
        ridge = rng.integers(object_rows, size)
        attributions[i, ridge, :, :] += 20
        peak = rng.integers(top, top + object_rows), rng.integers(left, left + object_rows)
        attributions[i, peak[0], peak[1], :] += 40 if rng.random() < 0.5 else 0
    return attributions, masks


def test_the_pointing_game_no_longer_depends_on_where_the_object_sits():
    """The issue's acceptance: objects on top vs the same maps rolled by half the image (objects
    at the bottom) score the same; the old rule (first tie of the display mask) did not."""
    attributions, masks = gradient_like_maps()
    rolled = np.roll(attributions, 16, axis=1), np.roll(masks, 16, axis=1)

    def score(attributions, masks):
        card = Scorecard(["pointing_game"], salnet=None, method_set=MethodSet(["vanilla"]),
                         mask_key="mask", floors=False)
        maps = {"y_pred": np.zeros(len(masks), int), "saliency": to_masks(attributions),
                raw_key("saliency"): relevance(attributions)}
        return card.per_sample({"mask": masks}, maps)[("saliency", "pointing_game")]

    top, bottom = score(attributions, masks), score(*rolled)
    np.testing.assert_array_equal(top, bottom)
    assert 0.3 < top.mean() < 0.7  # the peaks on the object, about half of them

    def first_tie_of_display(attributions, masks):
        flat = to_masks(attributions).reshape(len(masks), -1).argmax(axis=1)
        return masks.reshape(len(masks), -1)[np.arange(len(masks)), flat].mean()

    assert first_tie_of_display(attributions, masks) > first_tie_of_display(*rolled) + 0.2


def test_a_score_outside_its_range_is_an_error_never_a_logged_number():
    """The last line of defence: a relevance share outside [0, 1] (here, made by hand) stops the
    run with a line naming the column, the metric and what to check."""
    from xaiexp.xai.metrics.scorecard import _check_range

    _check_range("saliency", "relevance_mass", np.array([0.2, np.nan, 1.0 + 1e-7]))  # round-off
    _check_range("saliency", "insertion_auc", np.array([1.3]))  # relative to f(x): may pass 1
    with pytest.raises(ValueError, match=r"^saliency decoy_mass = 1\.5 is outside \[0, 1\]"):
        _check_range("saliency", "decoy_mass", np.array([0.5, 1.5]))


@pytest.mark.parametrize("overrides, black", [
    ([], [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]),  # shapes: ImageNet statistics
    (["dataset.normalize.mean=[0.5]", "dataset.normalize.std=[0.25]"], [-2.0]),
    (["dataset.normalize=null"], 0.0),  # a model that normalizes itself sees pixels
])
def test_the_black_baseline_is_pixel_zero_through_the_datasets_normalize(overrides, black):
    from xaiexp.app.tasks.build import black_pixel, load_datasets, make_model, make_traces
    from xaiexp.app.cli import compose_config

    cfg = compose_config(["dataset.n_train=8", "dataset.n_eval=8", *overrides])
    assert black_pixel(cfg) == pytest.approx(black, rel=1e-6)
    train, _, _ = load_datasets(cfg)
    traces = make_traces(cfg, "unused", make_model(cfg, train), train, lambda step: 1e-3)
    assert traces["saliency"].scorecard.black == pytest.approx(black, rel=1e-6)


def test_a_model_ending_in_logits_is_scored_on_their_softmax():
    """A user's model with a linear last layer (``from_logits``), 8x8 images: the relative curves
    divide by a probability, not by a logit that may be negative; ROAD reads the same
    predictions."""
    probabilities = tiny_model()
    logits = keras.Sequential([keras.Input((8, 8, 3)), *probabilities.layers[:-1],
                               keras.layers.Dense(3)])
    logits.layers[-1].set_weights(probabilities.layers[-1].get_weights())
    batch = {"x": np.random.default_rng(0).normal(size=(6, 8, 8, 3)).astype(np.float32)}
    method_set = MethodSet(["vanilla"])
    maps = method_set.explain(SaliencyNet(probabilities, "x", "y_pred", seed=0), batch)
    scores = [Scorecard(["deletion_auc", "road_morf"], SaliencyNet(model, "x", "y_pred", seed=0,
                                                                   from_logits=model is logits),
                        method_set, floors=False).per_sample(batch, maps)
              for model in (probabilities, logits)]
    assert np.isfinite(scores[0]["saliency", "deletion_auc"]).all()
    for metric in ("deletion_auc", "road_morf"):
        np.testing.assert_allclose(scores[1]["saliency", metric], scores[0]["saliency", metric],
                                   rtol=1e-4)
