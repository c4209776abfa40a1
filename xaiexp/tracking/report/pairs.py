"""Which differences between runs a report can trust: a paired test on the images both runs
scored, from the per-image scores the Saliency trace logs (``<figure>_scores/<mode>_epoch_<n>.npz``,
``xaiexp.xai.image_scores``). Two means with overlapping intervals can still differ clearly image
by image, and two close means can be noise; only runs that scored the same images (same seed and
data) can be paired. The test fits the score (``statistics.paired_test``): exact McNemar for
hit-or-miss scores, where a t-test on 0/1 differences claimed too much (p = 0.034 for 2 against 9
discordant images, exactly 0.065), and a sign-flip permutation test for the others, which holds
at a handful of images.

A report compares many scores at once (methods × metrics × runs), so at p < 0.05 one in twenty
true non-differences would be marked; the marks use p-values adjusted over all of the report's
tests together (Benjamini-Hochberg, ``scipy.stats.false_discovery_control``), which keeps the
expected share of noise among the marked differences below ``ALPHA``."""

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from xaiexp.xai.image_scores import IMAGE_ID
from xaiexp.xai.statistics import paired_test

ALPHA = 0.05  # a difference whose adjusted p-value is below this is marked significant


@dataclass(frozen=True)
class Pairing:
    """A run against the reference run: how many scored images they share, and per
    ``<method>/<metric>`` the paired test's p-value on those images, which test it was
    (``statistics.MCNEMAR`` or ``SIGN_FLIP``) and, once ``adjusted`` has run, in ``q_values``
    that p-value adjusted for the report's other tests."""

    shared: int
    p_values: dict = field(default_factory=dict)
    q_values: dict = field(default_factory=dict)
    tests: dict = field(default_factory=dict)


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
    tests = {key: paired_test(first.loc[shared, key], second.loc[shared, key])
             for key in first.columns.intersection(second.columns)}
    return Pairing(len(shared), {key: test.p for key, test in tests.items()},
                   tests={key: test.test for key, test in tests.items()})


def adjusted(pairings: list) -> list:
    """``pairings`` (the first: the reference run against itself, not a test) with their
    ``q_values``: every other p-value adjusted by Benjamini-Hochberg over all of them."""
    tests = [(row, key) for row, pairing in enumerate(pairings[1:], 1) if pairing is not None
             for key, p in pairing.p_values.items() if not np.isnan(p)]
    if not tests:
        return pairings
    q = false_discovery_control([pairings[row].p_values[key] for row, key in tests])
    q_values = {row: {} for row, _ in tests}
    for (row, key), value in zip(tests, q):
        q_values[row][key] = float(value)
    return [replace(pairing, q_values=q_values[row]) if row in q_values else pairing
            for row, pairing in enumerate(pairings)]
