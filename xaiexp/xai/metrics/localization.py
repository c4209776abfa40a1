"""Does a saliency map point at the object? Two scores against a ground-truth mask, per sample.

Maps are (B, H, W) or (B, H, W, C) (channels summed), masks (B, H, W) or (B, H, W, 1), nonzero
on the object; the caller averages the returned (B,) arrays.
"""

import numpy as np


def relevance_mass(maps, masks):
    """Share of the positive relevance that falls inside the mask (Arras et al., 2022, "CLEVR-XAI",
    https://arxiv.org/abs/2003.07258). A uniform map scores the mask's area fraction; 0 where a
    map has no positive relevance."""
    positive = np.maximum(pixel_relevance(maps), 0)
    inside = (positive * object_pixels(masks)).sum((1, 2))
    total = positive.sum((1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def pointing_game(maps, masks):
    """1.0 where the map's maximum lies in the mask, else 0.0 (Zhang et al., 2016, "Top-down
    Neural Attention by Excitation Backprop", https://arxiv.org/abs/1608.00507), without the
    paper's 15-pixel tolerance: our objects fill a large part of small images. Ties go to the
    first pixel in row-major order."""
    relevance = pixel_relevance(maps)
    peaks = relevance.reshape(len(relevance), -1).argmax(axis=1)
    inside = object_pixels(masks).reshape(len(relevance), -1)
    return inside[np.arange(len(peaks)), peaks].astype(np.float64)


def pixel_relevance(maps):
    """(B, H, W) float64 relevance per pixel: channels summed."""
    maps = np.asarray(maps, np.float64)
    return maps.sum(axis=-1) if maps.ndim == 4 else maps


def object_pixels(masks):
    """(B, H, W) bool: the mask without its channel axis."""
    masks = np.asarray(masks)
    return (masks[..., 0] if masks.ndim == 4 else masks) != 0
