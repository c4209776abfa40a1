"""Model-parameter randomization test (Adebayo et al., 2018, "Sanity Checks for Saliency Maps",
https://arxiv.org/abs/1810.03292): a map that explains the model must change when the model's
weights are destroyed. Layers are re-initialized cumulatively from the output down (cascading
randomization); after each, the maps are compared with the trained model's, by Spearman rank
correlation (of |maps|, as the paper's main figures) or by SSIM (``ssim.py``). High similarity
throughout means the method ignores the model (an edge detector would pass as an explanation).

Only the pixels the model can see are compared: pixels where every map of both models is
exactly 0 (``visible_pixels``) are left out. LeNet's valid convolutions never reach its 124
border pixels, so every gradient map is 0 there; those shared ties alone made two independent
random maps correlate 0.32. A map that is constant on the compared pixels (all zero, say) has
no ranking: its score is NaN, not 0.
"""

import keras
import numpy as np
from scipy.stats import rankdata

from xaiexp.xai.metrics.localization import pixel_relevance


def cascading_randomization(model, explain, similarity=None):
    """``{layer name: (B,) similarities}`` from the top weighted layer down, each entry with
    that layer and all above it re-initialized.

    ``explain(model)`` returns maps (B, H, W[, C]) of a fixed batch; ``similarity(trained,
    randomized, visible)`` compares two sets of maps on the ``visible`` (H, W) pixels (default
    ``rank_correlation``; also ``ssim.structural_similarity``). The caller's ``model`` is never
    touched: a clone with its weights is randomized, with fresh weights from the layers' own
    initializers (a second clone; seed them with ``keras.utils.set_random_seed``).
    """
    similarity = similarity or rank_correlation
    trained = explain(model)
    randomized = keras.models.clone_model(model)
    randomized.set_weights(model.get_weights())
    fresh = randomized_clone(model)
    similarities = {}
    for original, target, source in reversed(list(zip(model.layers, randomized.layers,
                                                      fresh.layers))):
        if target.weights:
            target.set_weights(source.get_weights())
            maps = explain(randomized)
            similarities[original.name] = similarity(trained, maps, visible_pixels(trained, maps))
    return similarities


def randomized_clone(model):
    """``model``'s architecture with fresh weights from its layers' own initializers: the fully
    randomized model of the test (seed it with ``keras.utils.set_random_seed``)."""
    return keras.models.clone_model(model)


def visible_pixels(*map_sets) -> np.ndarray:
    """(H, W) bool: the pixels where any map of any of ``map_sets`` (each (B, H, W[, C])) is
    nonzero — those the explained models can see."""
    return np.any([np.any(pixel_relevance(np.abs(maps)) != 0, axis=0) for maps in map_sets],
                  axis=0)


def rank_correlation(first, second, visible=None, absolute=True):
    """(B,) Spearman correlation of each pair of maps (B, H, W[, C]) on the ``visible`` (H, W)
    pixels (default: those of ``visible_pixels(first, second)``): of |maps| summed over the
    channels when ``absolute``, else of the sums. NaN where either map is constant there."""
    if visible is None:
        visible = visible_pixels(first, second)
    first, second = (rankdata(pixel_relevance(np.abs(maps) if absolute else maps)[:, visible],
                              axis=1) for maps in (first, second))
    ranked = (np.ptp(first, axis=1) > 0) & (np.ptp(second, axis=1) > 0)
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    norms = np.sqrt((first ** 2).sum(axis=1) * (second ** 2).sum(axis=1))
    return np.divide((first * second).sum(axis=1), norms, out=np.full(len(first), np.nan),
                     where=ranked)

