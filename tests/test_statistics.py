"""xaiexp.xai.statistics against closed forms, plain enumerations and simulated coverage."""

import itertools

import numpy as np
import pytest
from scipy import stats

from xaiexp.xai import statistics as st


def test_the_t_interval_is_scipys_and_leaves_undefined_scores_out():
    scores = np.array([0.2, 0.5, np.nan, 0.4, 0.9, 0.35])
    got = st.mean_interval(scores)
    expected = stats.ttest_1samp(scores[~np.isnan(scores)], 0).confidence_interval(0.95)
    assert got.n == 5
    assert got.estimate == pytest.approx(0.47)
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert np.isnan(st.mean_interval([0.3]).low) and st.mean_interval([]).n == 0
    near_one = st.mean_interval([0.95, 0.99, 1.0, 0.8, 1.0], bounds=st.UNIT)  # would reach 1.05
    assert near_one.high == 1.0 and near_one.low == st.mean_interval([0.95, 0.99, 1.0, 0.8, 1.0]).low


@pytest.mark.parametrize("n", [5, 16, 100])
def test_all_or_nothing_proportions_get_the_closed_form_exact_bounds(n):
    """Clopper–Pearson at x = n is [(α/2)^(1/n), 1], at x = 0 [0, 1 − (α/2)^(1/n)]."""
    full, none = st.proportion_interval(n, n), st.proportion_interval(0, n)
    assert (full.low, full.high) == pytest.approx((0.025 ** (1 / n), 1.0))
    assert (none.low, none.high) == pytest.approx((0.0, 1 - 0.025 ** (1 / n)))
    assert st.proportion_interval(16, 16).low == pytest.approx(0.7941, abs=1e-4)


def test_a_binary_score_gets_the_exact_interval_a_fractional_one_the_t_interval():
    hits = np.array([1, 0, 1, 1, np.nan, 1.0])
    assert st.score_interval(hits) == st.proportion_interval(4, 5)
    shares = np.array([1, 0, 0.5, 1])
    assert st.score_interval(shares) == st.mean_interval(shares)


def test_clopper_pearson_covers_at_least_its_level_at_every_p():
    """Simulated: 20 000 draws per (n, p), p across [0.01, 0.99]."""
    rng = np.random.default_rng(0)
    for n in (5, 16, 100):
        bounds = {k: st.proportion_interval(k, n) for k in range(n + 1)}
        for p in np.linspace(0.01, 0.99, 15):
            draws = rng.binomial(n, p, 20_000)
            covered = np.mean([bounds[k].low <= p <= bounds[k].high for k in draws])
            assert covered >= 0.94, (n, p, covered)


@pytest.mark.parametrize("n", [5, 20, 100])
def test_the_t_interval_covers_near_its_level_for_relevance_shares(n):
    """Scores shaped like relevance mass (Beta(5, 4) and a skewed Beta(2, 8)): simulated coverage
    of the true mean within 0.93–0.97 from n = 5."""
    rng = np.random.default_rng(1)
    for a, b in ((5, 4), (2, 8)):
        samples = rng.beta(a, b, (4000, n))
        mean = samples.mean(1)
        half = stats.t.ppf(0.975, n - 1) * samples.std(1, ddof=1) / np.sqrt(n)
        covered = np.mean(np.abs(mean - a / (a + b)) <= half)
        assert 0.93 <= covered <= 0.97, (a, b, n, covered)
        interval = st.mean_interval(samples[0])  # the same formula as the vectorised one
        assert interval.high - interval.estimate == pytest.approx(half[0])


def test_newcombes_difference_interval_covers_near_its_level():
    rng = np.random.default_rng(2)
    for n_a, n_b, p_a, p_b in ((100, 100, 0.95, 0.6), (40, 200, 0.5, 0.5), (60, 60, 0.99, 0.2)):
        a, b = rng.binomial(n_a, p_a, 5000), rng.binomial(n_b, p_b, 5000)
        covered = np.mean([st.difference_interval(x, n_a, y, n_b).low <= p_a - p_b
                           <= st.difference_interval(x, n_a, y, n_b).high for x, y in zip(a, b)])
        assert 0.93 <= covered <= 0.975, (n_a, n_b, p_a, p_b, covered)


def test_the_poisson_binomial_tail_equals_a_plain_enumeration():
    probabilities = np.random.default_rng(3).uniform(0, 0.4, 10)
    for total in (0, 1, 3, 6, 10):
        enumerated = sum(
            np.prod([p if hit else 1 - p for p, hit in zip(probabilities, outcome)])
            for outcome in itertools.product((0, 1), repeat=10) if sum(outcome) >= total)
        assert st.poisson_binomial_sf(total, probabilities) == pytest.approx(enumerated, rel=1e-10)
    assert st.poisson_binomial_sf(7, [0.3] * 20) == pytest.approx(stats.binom.sf(6, 20, 0.3))
    assert st.poisson_binomial_sf(2.5, [0.5] * 4) == pytest.approx(stats.binom.sf(2, 4, 0.5))


def test_above_chance_is_the_one_sided_binomial_tail():
    assert st.above_chance(30, 100, 0.2) == pytest.approx(stats.binom.sf(29, 100, 0.2))


def test_the_sign_flip_test_is_exact_at_small_n():
    differences = np.array([0.3, -0.1, 0.25, 0.4, 0.05, -0.2, 0.15, 0.1])
    flips = np.array(list(itertools.product((1, -1), repeat=len(differences))))
    means = (flips * differences).mean(1)
    enumerated = np.mean(means >= differences.mean() - 1e-12)
    assert st.sign_flip_p(differences) == pytest.approx(enumerated)
    assert st.sign_flip_p([np.nan]) != st.sign_flip_p([np.nan])  # nothing to test: NaN


def test_intervals_are_cut_to_the_range_each_metric_cannot_leave():
    """Relative deletion AUCs are ratios of probabilities: never below 0, sometimes above 1. A
    t-interval of five of them reaches below 0; the logged one stops there, its top is scipy's."""
    from xaiexp.trace.xai.saliency import summary
    from xaiexp.xai.registry import find_metric

    scores = np.array([0.0, 0.0, 0.02, 1.5, 0.01])
    low, high = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
    assert low < 0 < 1 < high
    assert summary(scores, find_metric("deletion_auc"))["_ci_low"] == 0
    assert summary(scores, find_metric("deletion_auc"))["_ci_high"] == pytest.approx(high)
    assert summary(scores, find_metric("randomization"))["_ci_low"] == pytest.approx(low)  # a correlation
    assert summary(1 - scores / 2, find_metric("road_lerf"))["_ci_high"] == 1  # a share of images
