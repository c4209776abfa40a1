"""Which differences between runs a report can trust: a paired test on the images both runs
scored, from the per-image scores the Saliency trace logs (``<figure>_scores/<mode>_epoch_<n>.npz``,
``xaiexp.xai.image_scores``). Two means with overlapping intervals can still differ clearly image
by image, and two close means can be noise; only runs that scored the same images (same seed and
data) can be paired."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import ttest_rel

from xaiexp.xai.image_scores import IMAGE_ID

ALPHA = 0.05  # a difference with a paired p-value below this is marked significant


@dataclass(frozen=True)
class Pairing:
    """A run against the reference run: how many scored images they share, and per
    ``<method>/<metric>`` the paired test's p-value on those images."""

    shared: int
    p_values: dict = field(default_factory=dict)


def paired_p(reference, other) -> float:
    """The two-sided paired t-test's p-value (``scipy.stats.ttest_rel``) of two runs' scores of
    the same images, in the same order: 1.0 when no image's score differs, NaN below 2 images."""
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    if len(reference) < 2:
        return float("nan")
    if np.array_equal(reference, other):
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):  # every image differs by the same amount
        return float(ttest_rel(other, reference).pvalue)


def compare(reference: dict | None, other: dict | None) -> Pairing | None:
    """``other``'s per-image scores against ``reference``'s ({IMAGE_ID: ids, key: scores}, as
    logged), on the images both scored; None when either run logged none."""
    if reference is None or other is None:
        return None
    first, second = (pd.DataFrame(scores).drop_duplicates(IMAGE_ID).set_index(IMAGE_ID)
                     for scores in (reference, other))
    shared = first.index.intersection(second.index)
    if len(shared) == 0:
        return Pairing(0)
    return Pairing(len(shared), {key: paired_p(first.loc[shared, key], second.loc[shared, key])
                                 for key in first.columns.intersection(second.columns)})
