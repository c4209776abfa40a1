"""Structural similarity (Wang et al., 2004, "Image Quality Assessment: From Error Visibility to
Structural Similarity", https://doi.org/10.1109/TIP.2003.819861) of two saliency maps, the
second measure of Adebayo et al.'s randomization test beside Spearman correlation: it compares
local means, contrasts and structure, so it sees a map keep its shapes when its ranks shuffle.

As in Wang et al. and scikit-image's ``structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=1)``: Gaussian windows of σ = 1.5 (11 taps),
K1 = 0.01, K2 = 0.03, each map scaled to [0, 1] by its own minimum and maximum, and the mean
over the pixels at least 5 from the border (the windows that fit). Written with
``scipy.ndimage`` so the package does not need scikit-image; tests check it against it.
"""

import numpy as np
from scipy.ndimage import gaussian_filter

from xaiexp.xai.metrics.localization import pixel_relevance

SIGMA, TRUNCATE = 1.5, 3.5
K1, K2 = 0.01, 0.03
BORDER = int(TRUNCATE * SIGMA + 0.5)  # the window's radius: 5 pixels


def structural_similarity(first, second, visible=None) -> np.ndarray:
    """(B,) mean SSIM of each pair of maps (B, H, W[, C], |values| summed over channels), over
    the ``visible`` (H, W) pixels (default: all) at least ``BORDER`` pixels from the edge. NaN
    where either map is constant on ``visible`` or no such pixel exists (images under 11 × 11)."""
    first, second = (pixel_relevance(np.abs(maps)) for maps in (first, second))
    if visible is None:
        visible = np.ones(first.shape[1:], bool)
    scaled = [_unit_range(maps, visible) for maps in (first, second)]
    similarity = _ssim_map(*scaled)
    inner = np.zeros_like(visible)
    inner[BORDER:-BORDER or None, BORDER:-BORDER or None] = True
    counted = visible & inner
    if not counted.any():
        return np.full(len(first), np.nan)
    return similarity[:, counted].mean(axis=1)  # NaN spreads from a constant map's scaling


def _unit_range(maps, visible):
    """Each map scaled to [0, 1] by its minimum and maximum on ``visible``; NaN if constant."""
    shown = maps[:, visible]
    low, high = shown.min(axis=1), shown.max(axis=1)
    spread = np.where(high > low, high - low, np.nan)[:, None, None]
    return (maps - low[:, None, None]) / spread


def _ssim_map(first, second):
    """(B, H, W) SSIM at every pixel of maps already in [0, 1] (data range 1)."""
    def mean(values):
        return gaussian_filter(values, SIGMA, truncate=TRUNCATE, mode="reflect", axes=(1, 2))

    c1, c2 = K1 ** 2, K2 ** 2
    mean_1, mean_2 = mean(first), mean(second)
    variance_1 = mean(first * first) - mean_1 ** 2
    variance_2 = mean(second * second) - mean_2 ** 2
    covariance = mean(first * second) - mean_1 * mean_2
    return ((2 * mean_1 * mean_2 + c1) * (2 * covariance + c2)
            / ((mean_1 ** 2 + mean_2 ** 2 + c1) * (variance_1 + variance_2 + c2)))
