"""Deletion and insertion (Petsiuk et al., 2018, "RISE", https://arxiv.org/abs/1806.07421): does
the target's score follow the map's ranking of pixels?

Pixels are removed (deletion) or revealed (insertion) most-relevant first in ``steps`` equal
steps (ties in a seeded random order, ``ranking.py``); the score of the target class after each
step traces a curve over [0, 1] whose area is the result, per sample. A faithful map has a LOW
deletion AUC (the score collapses once the first pixels go) and a HIGH insertion AUC.

``relative`` (the default) divides the curve by the clean image's score f(x), so the area is the
share of f(x) kept on average: a raw curve's level follows the model's confidence, and a less
confident model looked more faithful by deletion (a lower area) for that reason alone. Where
f(x) <= 0 (a model's outputs that are not probabilities) the relative area is NaN.

As in RISE, deletion turns pixels black and insertion starts from a blurred copy, so it does not
begin from an out-of-distribution blank image; both are configurable. Black is the model-input
value of a pixel that is 0 before the pipeline's normalization (``black``; 0 for images the
model sees unnormalized). A map that is 0 everywhere ranks nothing: NaN. All B × (steps + 1)
perturbed images are scored in calls of at most ``chunk_size``.
"""

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from xaiexp.xai.baselines import blur
from xaiexp.xai.metrics.ranking import pixel_ranks, ranked
from xaiexp.xai.perturbation import perturbed_scores, predicted_classes
from xaiexp.xai.saliency_settings import Baseline, names

Black = float | Sequence[float]  # one value, or one per channel


def deletion_auc(model, images, maps, classes=None, steps=16, baseline="black", chunk_size=1024,
                 black: Black = 0.0, relative=True, seed=0):
    """(B,) area under the score curve as pixels become ``baseline`` (see above)."""
    images = np.asarray(images, np.float32)
    return _auc(model, images, _baseline(images, baseline, black), images, maps, classes, steps,
                chunk_size, 0 if relative else None, seed)


def insertion_auc(model, images, maps, classes=None, steps=16, baseline="blur", chunk_size=1024,
                  black: Black = 0.0, relative=True, seed=0):
    """(B,) area under the score curve as pixels of ``images`` replace ``baseline`` (see
    above)."""
    images = np.asarray(images, np.float32)
    return _auc(model, images, images, _baseline(images, baseline, black), maps, classes, steps,
                chunk_size, -1 if relative else None, seed)


def check_baseline(baseline):
    """``baseline`` if it is one of ``Baseline``'s names or a number; ValueError otherwise."""
    if isinstance(baseline, str) and baseline not in names(Baseline) or not isinstance(
            baseline, (str, int, float)):
        raise ValueError(f"baseline must be one of {list(names(Baseline))} or a number, got "
                         f"{baseline!r}")
    return baseline


def _baseline(images, baseline, black):
    if check_baseline(baseline) == "black":
        return np.broadcast_to(np.asarray(black, np.float32), images.shape)
    if baseline == "mean":
        return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape)
    if baseline == "blur":
        return blur(tf.constant(images), None, None, None).numpy()
    return np.full_like(images, baseline)


def _auc(model, images, changed, unchanged, maps, classes, steps, chunk_size, clean_step, seed):
    """Step k shows ``changed`` at the round(k / steps · H · W) most relevant pixels and
    ``unchanged`` elsewhere; the trapezoidal area under the k = 0 … steps scores, divided by the
    score at step ``clean_step`` (the clean image) unless it is None."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")

    def predict(x):
        return keras.ops.convert_to_numpy(model(x, training=False))

    if classes is None:
        classes = predicted_classes(predict, images, chunk_size)
    rank = pixel_ranks(maps, seed)
    counts = np.rint(np.linspace(0, rank.shape[1], steps + 1)).astype(int)
    shown = rank[:, None, :] < counts[None, :, None]  # (B, steps + 1, pixels)
    shown = shown.reshape(len(images), steps + 1, *images.shape[1:3], 1)
    scores = perturbed_scores(
        predict, images, np.asarray(classes),
        lambda s: np.where(shown[s], changed[s, None], unchanged[s, None]), steps + 1, chunk_size)
    areas = np.trapezoid(scores.astype(np.float64), dx=1.0 / steps, axis=1)
    if clean_step is not None:
        clean = scores[:, clean_step]
        areas = np.divide(areas, clean, out=np.full_like(areas, np.nan), where=clean > 0)
    return np.where(ranked(maps), areas, np.nan)
