"""The order in which the perturbation metrics (deletion, insertion, ROAD) take a map's pixels:
most relevant first, ties broken at random.

Breaking ties in row-major order (as ``np.argsort`` does) makes a map with plateaus — Grad-CAM's
upsampled cells, an occlusion patch, a constant map — delete the top rows of the image first,
which scores where the object sits rather than the map. A seeded random order among equal
values makes a plateau count as its average over orders, and a constant map a random map; the
same ``seed`` gives the same order, so runs and epochs compare."""

import numpy as np

from xaiexp.xai.metrics.localization import pixel_relevance


def pixel_ranks(maps, seed: int = 0) -> np.ndarray:
    """(B, H·W) int: each pixel's place (0 = first taken) in decreasing relevance of ``maps``
    (B, H, W[, C], channels summed), equal values in a random order drawn from ``seed``."""
    relevance = pixel_relevance(maps).reshape(len(maps), -1)
    tiebreak = np.random.default_rng(seed).random(relevance.shape)
    order = np.lexsort((tiebreak, -relevance), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(relevance.shape[1])[None], axis=1)
    return ranks


def ranked(maps) -> np.ndarray:
    """(B,) bool: which maps rank anything, i.e. are not all zero. An all-zero map explains
    nothing (a vanishing gradient, a dead Grad-CAM): its scores are NaN, not a random map's."""
    return np.any(pixel_relevance(maps).reshape(len(maps), -1) != 0, axis=1)
