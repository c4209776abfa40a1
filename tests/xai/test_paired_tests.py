"""The paired test each kind of score gets (xaiexp.xai.statistics.paired_test), against
statsmodels and scipy, and its size simulated."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from xaiexp.xai import statistics as st


def contingency(first, second):
    """2x2 table of paired 0/1 scores: rows first's hit/miss, columns second's."""
    return [[int(((first == a) & (second == b)).sum()) for b in (1, 0)] for a in (1, 0)]


@pytest.mark.parametrize("lost, gained, concordant", [(9, 2, 29), (0, 0, 12), (5, 0, 3), (7, 7, 0),
                                                       (1, 30, 9)])
def test_hits_and_misses_get_statsmodels_exact_mcnemar(lost, gained, concordant):
    first = np.r_[np.ones(lost), np.zeros(gained), np.ones(concordant // 2),
                  np.zeros(concordant - concordant // 2)]
    second = np.r_[np.zeros(lost), np.ones(gained), first[lost + gained:]]
    result = st.paired_test(first, second)
    assert result.test == st.MCNEMAR and result.n == len(first)
    assert result.p == pytest.approx(mcnemar(contingency(first, second), exact=True).pvalue,
                                     rel=1e-12)


def test_undefined_scores_are_left_out_in_pairs_and_too_few_pairs_give_nan():
    first = np.array([1.0, 0, np.nan, 1, 1, 0])
    second = np.array([0.0, 0, 1, np.nan, 0, 1])
    result = st.paired_test(first, second)
    assert result.n == 4 and result.p == pytest.approx(
        mcnemar(contingency(first[[0, 1, 4, 5]], second[[0, 1, 4, 5]]), exact=True).pvalue)
    assert np.isnan(st.paired_test([1.0, np.nan], [np.nan, 0.0]).p)
    assert np.isnan(st.paired_test([0.4], [0.6]).p)


def test_fractional_scores_get_the_sign_flip_test_exact_at_small_n():
    first = np.array([0.31, 0.52, 0.48, 0.6, 0.25, 0.7])
    second = first + np.array([0.05, 0.1, -0.02, 0.08, 0.12, 0.03])
    result = st.paired_test(first, second)
    flips = np.array(np.meshgrid(*[[1, -1]] * 6)).reshape(6, -1).T  # all 64 sign patterns
    means = (flips * (second - first)).mean(axis=1)
    observed = (second - first).mean()
    exact = min(1.0, 2 * min(np.mean(means >= observed - 1e-12), np.mean(means <= observed + 1e-12)))
    assert result.test == st.SIGN_FLIP and result.p == pytest.approx(exact)
    assert st.paired_test(first, first).p == 1.0  # nothing differs


def test_exact_mcnemar_keeps_its_level_whatever_the_discordance():
    """Simulated size: 40 pairs, no difference between the runs, discordant pairs from rare to
    common; the two-sided exact test rejects at most 5 % of the time."""
    def vectorised(lost, pairs):
        smaller = np.minimum(lost, pairs - lost)
        return np.where(pairs > 0, np.minimum(1.0, 2 * stats.binom.cdf(smaller, pairs, 0.5)), 1.0)

    for lost, gained in ((0, 0), (3, 9), (12, 2), (5, 5)):  # the formula is the function's
        first = np.r_[np.ones(lost), np.zeros(gained)]
        assert st.mcnemar_p(first, 1 - first) == pytest.approx(vectorised(lost, lost + gained))
    rng = np.random.default_rng(0)
    for discordant in (0.05, 0.2, 0.5, 0.9):
        pairs = rng.binomial(40, discordant, 20_000)
        p = vectorised(rng.binomial(pairs, 0.5), pairs)
        assert np.mean(p < 0.05) <= 0.05, discordant
