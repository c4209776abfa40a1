"""Occlusion (Zeiler & Fergus, 2014, https://arxiv.org/abs/1311.2901): how much the target's
score drops when a patch of the image is covered; needs no gradients, only forward passes."""

import numpy as np

from xaiexp.xai.perturbation import perturbed_scores


def patch_windows(height, width, patch, stride):
    """(P, H, W) bool: every ``patch`` × ``patch`` window at ``stride``, plus the last row and
    column of windows when the stride does not reach the border, so every pixel is covered."""
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"need 1 <= patch <= {min(height, width)} and stride >= 1, "
                         f"got patch={patch}, stride={stride}")

    def starts(side):
        return np.unique(np.r_[np.arange(0, side - patch + 1, stride), side - patch])

    rows = np.arange(height)[:, None] - starts(height)  # (H, tops)
    columns = np.arange(width)[:, None] - starts(width)
    inside_rows, inside_columns = (rows >= 0) & (rows < patch), (columns >= 0) & (columns < patch)
    windows = inside_rows.T[:, None, :, None] & inside_columns.T[None, :, None, :]
    return windows.reshape(-1, height, width)


def occlusion(predict, images, classes, patch=4, stride=4, fill=0.0, chunk_size=1024):
    """(B, H, W, 1): per pixel, the mean score drop f(x) − f(x with the patch set to ``fill``)
    over the patches covering it. Positive where hiding the pixel hurts the target class.

    ``fill`` 0 is black for images scaled to [0, 1], mid-grey for images centred on 0.
    """
    height, width = images.shape[1:3]
    windows = patch_windows(height, width, patch, stride)
    clean = perturbed_scores(predict, images, classes, lambda s: images[s, None], 1, chunk_size)
    occluded = perturbed_scores(
        predict, images, classes,
        lambda s: np.where(windows[None, ..., None], np.float32(fill), images[s, None]),
        len(windows), chunk_size)
    drops = np.einsum("bp,phw->bhw", clean - occluded, windows.astype(np.float32))
    return (drops / windows.sum(0))[..., None].astype(np.float32)
