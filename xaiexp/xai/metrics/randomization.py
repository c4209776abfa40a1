"""Model-parameter randomization test (Adebayo et al., 2018, "Sanity Checks for Saliency Maps",
https://arxiv.org/abs/1810.03292): a map that explains the model must change when the model's
weights are destroyed. Layers are re-initialized cumulatively from the output down (cascading
randomization); after each, the maps are compared with the trained model's by Spearman rank
correlation. High correlation throughout means the method ignores the model (an edge detector
would pass as an explanation). The Saliency trace logs the last step alone, the fully randomized
model (``randomized_clone``, ``rank_correlation``), every epoch."""

import keras
import numpy as np
from scipy.stats import rankdata


def cascading_randomization(model, explain, absolute=True):
    """``{layer name: (B,) Spearman correlations}`` from the top weighted layer down, each entry
    with that layer and all above it re-initialized.

    ``explain(model)`` returns maps (B, H, W[, C]) of a fixed batch. The caller's ``model`` is
    never touched: a clone with its weights is randomized, with fresh weights from the layers'
    own initializers (a second clone; seed them with ``keras.utils.set_random_seed``).
    ``absolute`` compares |maps|, as the paper's main figures do.
    """
    trained_ranks = _ranks(explain(model), absolute)
    randomized = keras.models.clone_model(model)
    randomized.set_weights(model.get_weights())
    fresh = randomized_clone(model)
    correlations = {}
    for original, target, source in reversed(list(zip(model.layers, randomized.layers,
                                                      fresh.layers))):
        if target.weights:
            target.set_weights(source.get_weights())
            correlations[original.name] = _pearson(trained_ranks,
                                                   _ranks(explain(randomized), absolute))
    return correlations


def randomized_clone(model):
    """``model``'s architecture with fresh weights from its layers' own initializers: the fully
    randomized model of the test (seed it with ``keras.utils.set_random_seed``)."""
    return keras.models.clone_model(model)


def rank_correlation(first, second, absolute=True):
    """(B,) Spearman correlation of each pair of maps (B, H, W[, C]); of |maps| when
    ``absolute``."""
    return _pearson(_ranks(first, absolute), _ranks(second, absolute))


def _ranks(maps, absolute):
    """(B, pixels) ranks of each map's values, ties averaged (Spearman = Pearson on ranks)."""
    maps = np.asarray(maps, np.float64).reshape(len(maps), -1)
    return rankdata(np.abs(maps) if absolute else maps, axis=1)


def _pearson(first, second):
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    norms = np.sqrt((first ** 2).sum(axis=1) * (second ** 2).sum(axis=1))
    return np.divide((first * second).sum(axis=1), norms, out=np.zeros(len(first)),
                     where=norms > 0)
