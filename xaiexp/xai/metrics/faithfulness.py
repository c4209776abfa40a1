"""Deletion and insertion (Petsiuk et al., 2018, "RISE", https://arxiv.org/abs/1806.07421): does
the target's score follow the map's ranking of pixels?

Pixels are removed (deletion) or revealed (insertion) most-relevant first in ``steps`` equal
steps; the score of the target class after each step traces a curve over [0, 1] whose area is
the result, per sample. A faithful map has a LOW deletion AUC (the score collapses once the
first pixels go) and a HIGH insertion AUC. As in RISE, deletion replaces pixels by 0 (black for
images in [0, 1], the mean for normalized ones) and insertion starts from a blurred copy, so it
does not begin from an out-of-distribution blank image; both are configurable. All B × (steps
+ 1) perturbed images are scored in calls of at most ``chunk_size``.
"""

import keras
import numpy as np
import tensorflow as tf

from xaiexp.xai.baselines import blur
from xaiexp.xai.metrics.localization import pixel_relevance
from xaiexp.xai.perturbation import perturbed_scores
from xaiexp.xai.registry import FAITHFULNESS_BASELINES


def deletion_auc(model, images, maps, classes=None, steps=16, baseline="black", chunk_size=1024):
    """(B,) area under the score curve as pixels become ``baseline`` (see above)."""
    images = np.asarray(images, np.float32)
    return _auc(model, images, _baseline(images, baseline), images, maps, classes, steps,
                chunk_size)


def insertion_auc(model, images, maps, classes=None, steps=16, baseline="blur", chunk_size=1024):
    """(B,) area under the score curve as pixels of ``images`` replace ``baseline`` (see
    above)."""
    images = np.asarray(images, np.float32)
    return _auc(model, images, images, _baseline(images, baseline), maps, classes, steps,
                chunk_size)


def check_baseline(baseline):
    """``baseline`` if it is one of ``FAITHFULNESS_BASELINES`` or a number; ValueError otherwise."""
    if isinstance(baseline, str) and baseline not in FAITHFULNESS_BASELINES or not isinstance(
            baseline, (str, int, float)):
        raise ValueError(f"baseline must be one of {list(FAITHFULNESS_BASELINES)} or a number, got "
                         f"{baseline!r}")
    return baseline


def _baseline(images, baseline):
    if check_baseline(baseline) == "black":
        return np.broadcast_to(images.min(axis=(0, 1, 2)), images.shape)
    if baseline == "mean":
        return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape)
    if baseline == "blur":
        return blur(tf.constant(images), None, None, None).numpy()
    return np.full_like(images, baseline)


def _auc(model, images, changed, unchanged, maps, classes, steps, chunk_size):
    """Step k shows ``changed`` at the round(k / steps · H · W) most relevant pixels and
    ``unchanged`` elsewhere; the trapezoidal area under the k = 0 … steps scores."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")

    def predict(x):
        return keras.ops.convert_to_numpy(model(x, training=False))

    if classes is None:  # the predicted classes
        classes = np.concatenate([predict(images[i:i + chunk_size]).argmax(axis=-1)
                                  for i in range(0, len(images), chunk_size)])
    relevance = pixel_relevance(maps).reshape(len(images), -1)
    rank = np.argsort(np.argsort(-relevance, axis=1, kind="stable"), axis=1)
    counts = np.rint(np.linspace(0, relevance.shape[1], steps + 1)).astype(int)
    shown = rank[:, None, :] < counts[None, :, None]  # (B, steps + 1, pixels); ties: row-major
    shown = shown.reshape(len(images), steps + 1, *images.shape[1:3], 1)
    scores = perturbed_scores(
        predict, images, np.asarray(classes),
        lambda s: np.where(shown[s], changed[s, None], unchanged[s, None]), steps + 1, chunk_size)
    return np.trapezoid(scores, dx=1.0 / steps, axis=1)
