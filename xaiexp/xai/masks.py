"""From raw attributions to displayable masks, exactly as FastEstimator normalizes them, and to
the un-clipped per-pixel relevance that the metrics score."""

import numpy as np


def to_masks(attributions, percentile=99):
    """(B, H, W, C) attributions -> (B, H, W, 1) float32 masks in [0, 1].

    Sum of |attribution| over channels; per image, vmin = its minimum and vmax = its
    ``percentile``-th percentile (lower interpolation), then clip((m − vmin)/(vmax − vmin), 0, 1),
    so the brightest 1 % saturate instead of one hot pixel darkening the rest. Where vmax = vmin
    FastEstimator divides 0 by 0; here such pixels are 0 (and those above vmin are 1).
    """
    summed = relevance(attributions)
    flat = summed.reshape(len(summed), -1)
    shape = (-1,) + (1,) * (summed.ndim - 1)
    vmin = flat.min(axis=1).reshape(shape)
    vmax = np.percentile(flat, percentile, axis=1, method="lower").reshape(shape)
    spread = vmax - vmin
    above = summed - vmin
    scaled = np.divide(above, spread, out=(above > 0).astype(np.float32), where=spread > 0)
    return np.clip(scaled, 0, 1).astype(np.float32)


def relevance(attributions):
    """(B, H, W, C) attributions -> (B, H, W, 1) float32 sum of |attribution| over channels: the
    masks before their per-image normalization and 99th-percentile clip. The metrics score this,
    since the clip ties the brightest 1 % of pixels (README, "Explanation quality")."""
    return np.abs(np.asarray(attributions, np.float32)).sum(axis=-1, keepdims=True)
