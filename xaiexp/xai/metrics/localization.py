"""Does a saliency map point at the object? Two scores against a ground-truth mask, per sample.

Maps are (B, H, W) or (B, H, W, C) (channels summed), masks (B, H, W) or (B, H, W, 1), nonzero
on the object; the caller averages the returned (B,) arrays, leaving NaN out. A score is NaN
where it is undefined: a map with no relevance at all (an all-zero gradient) or an image whose
mask is empty. A map with the same positive value everywhere (the uniform floor) is defined
and scores the chance level: the mask's share of the pixels.
"""

import numpy as np
from scipy.ndimage import distance_transform_edt


def relevance_mass(maps, masks):
    """Share of the positive relevance that falls inside the mask (Arras et al., 2022, "CLEVR-XAI",
    https://arxiv.org/abs/2003.07258). A uniform map scores the mask's area fraction."""
    positive = np.maximum(pixel_relevance(maps), 0)
    target = object_pixels(masks)
    inside = (positive * target).sum((1, 2))
    total = positive.sum((1, 2))
    defined = (total > 0) & target.any((1, 2))
    return np.divide(inside, total, out=np.full_like(total, np.nan), where=defined)


def pointing_game(maps, masks, tolerance=0.0):
    """Whether the map's maximum lies in the mask (Zhang et al., 2016, "Top-down Neural Attention
    by Excitation Backprop", https://arxiv.org/abs/1608.00507), as the expected hit when ties are
    broken at random: the share of the pixels tied at the maximum that lie in the mask.

    So a one-pixel peak scores 0 or 1, and a coarse map (Grad-CAM's 4×4 cells upsampled, a
    plateau of tied maxima) scores what picking one of its tied maxima would score on average —
    the two compare. (Quantus' PointingGame counts a hit if ANY tied maximum is in the mask,
    which scores such plateaus far higher.) A uniform map scores the mask's share of the pixels.
    ``tolerance``: a maximum within that many pixels (Euclidean distance) of the mask also
    hits; Zhang et al. use 15 pixels on images of a few hundred pixels.
    """
    relevance = pixel_relevance(maps).reshape(len(maps), -1)
    top = relevance.max(axis=1, keepdims=True)
    peaks = relevance == top
    target = object_pixels(masks)
    defined = (top[:, 0] > 0) & target.any((1, 2))
    if tolerance > 0:
        target = np.stack([distance_transform_edt(~mask) <= tolerance if mask.any() else mask
                           for mask in target])
    hits = (peaks & target.reshape(len(target), -1)).sum(axis=1) / peaks.sum(axis=1)
    return np.where(defined, hits, np.nan)


def pixel_relevance(maps):
    """(B, H, W) float64 relevance per pixel: channels summed."""
    maps = np.asarray(maps, np.float64)
    return maps.sum(axis=-1) if maps.ndim == 4 else maps


def object_pixels(masks):
    """(B, H, W) bool: the mask without its channel axis."""
    masks = np.asarray(masks)
    return (masks[..., 0] if masks.ndim == 4 else masks) != 0
