"""Does a saliency map point at the object? Two scores against a ground-truth mask, per sample.

Maps are (B, H, W) or (B, H, W, C) (channels summed), masks (B, H, W) or (B, H, W, 1), nonzero
on the object; the caller averages the returned (B,) arrays.
"""

import numpy as np
from scipy.ndimage import distance_transform_edt


def relevance_mass(maps, masks):
    """Share of the positive relevance that falls inside the mask (Arras et al., 2022, "CLEVR-XAI",
    https://arxiv.org/abs/2003.07258). A uniform map scores the mask's area fraction; 0 where a
    map has no positive relevance."""
    positive = np.maximum(pixel_relevance(maps), 0)
    inside = (positive * object_pixels(masks)).sum((1, 2))
    total = positive.sum((1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def pointing_game(maps, masks, tolerance=0.0):
    """1.0 where a maximum of the map lies in the mask, else 0.0 (Zhang et al., 2016, "Top-down
    Neural Attention by Excitation Backprop", https://arxiv.org/abs/1608.00507).

    Ties: a hit if ANY of the pixels tied at the maximum is in the mask (as Quantus'
    PointingGame), so the result does not depend on where the object sits; a constant map has no
    peak and scores 0 (it points nowhere). ``tolerance``: a maximum within that many pixels
    (Euclidean distance) of the mask also hits; Zhang et al. use 15 pixels on images of a few
    hundred pixels; the default 0 suits small images whose objects fill a large part.
    """
    relevance = pixel_relevance(maps).reshape(len(maps), -1)
    top = relevance.max(axis=1, keepdims=True)
    peaks = (relevance == top) & (top > relevance.min(axis=1, keepdims=True))
    target = object_pixels(masks)
    if tolerance > 0:
        target = np.stack([distance_transform_edt(~mask) <= tolerance if mask.any() else mask
                           for mask in target])
    return (peaks & target.reshape(len(target), -1)).any(axis=1).astype(np.float64)


def pixel_relevance(maps):
    """(B, H, W) float64 relevance per pixel: channels summed."""
    maps = np.asarray(maps, np.float64)
    return maps.sum(axis=-1) if maps.ndim == 4 else maps


def object_pixels(masks):
    """(B, H, W) bool: the mask without its channel axis."""
    masks = np.asarray(masks)
    return (masks[..., 0] if masks.ndim == 4 else masks) != 0
