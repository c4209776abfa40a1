"""Intervals and tests that fit each kind of score xaiexp reports.

A score is binary per image (a pointing-game hit, a correct prediction) or continuous (a share
of relevance, an AUC). Binary scores get exact intervals and tests — Clopper–Pearson, the
binomial and Poisson-binomial distributions — because a normal approximation prints `1 ±0` for
16 hits in 16 and covers far less than it claims at n = 5. Continuous scores get t-intervals and
sign-flip permutation tests, which hold at the few images of a probe set. NaN scores (undefined
ones, such as any share of an all-zero map) are left out and not counted in ``n``.

``tests/xai/test_statistics.py`` checks every interval's coverage by simulation and every test
against scipy's or a plain enumeration.
"""

from typing import NamedTuple

import numpy as np
from scipy import stats

LEVEL = 0.95
UNIT = (0.0, 1.0)  # the range of a share, a hit rate, an area under a probability curve
ALPHA = 0.05  # a one-sided test's p-value below this is a finding (a score above its floor)
LABEL = "95 % CI"  # how the console and the report name the intervals below
# What the Saliency trace logs beside each score's mean, by key suffix: standard error, the
# interval's bounds, the number of defined scores, and the p-value against its chance floor.
COMPANIONS = ("_se", "_ci_low", "_ci_high", "_n", "_floor_p")
MCNEMAR = "exact McNemar test"  # the paired test of 0/1 scores (``paired_test``)
SIGN_FLIP = "paired sign-flip permutation test"  # ... and of any other scores


class Interval(NamedTuple):
    """An estimate with its ``LEVEL`` confidence interval, over ``n`` scores; low and high are
    NaN when ``n`` cannot bound it (fewer than two continuous scores, or none)."""

    estimate: float
    low: float
    high: float
    n: int


def finite(scores) -> np.ndarray:
    """The scores as float64, NaN (undefined) ones left out."""
    scores = np.asarray(scores, np.float64).ravel()
    return scores[~np.isnan(scores)]


def is_binary(scores) -> bool:
    """Whether every defined score is 0 or 1 (a hit or a miss)."""
    scores = finite(scores)
    return bool(len(scores)) and bool(np.all((scores == 0) | (scores == 1)))


def mean_interval(scores, level: float = LEVEL, bounds=(-np.inf, np.inf)) -> Interval:
    """The mean with its Student-t interval, cut to the ``bounds`` the scores cannot leave (a
    share's [0, 1]: at n = 5 a t-interval of 0.88 reaches 1.1; cutting keeps its coverage)."""
    scores = finite(scores)
    n = len(scores)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    mean = float(scores.mean())
    if n < 2:
        return Interval(mean, np.nan, np.nan, n)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * scores.std(ddof=1) / np.sqrt(n)
    return Interval(mean, max(mean - half, bounds[0]), min(mean + half, bounds[1]), n)


def proportion_interval(successes: int, n: int, level: float = LEVEL) -> Interval:
    """``successes`` of ``n`` with the exact (Clopper–Pearson) interval: [0.79, 1] for 16 of 16."""
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    bounds = stats.binomtest(int(successes), int(n)).proportion_ci(level, method="exact")
    return Interval(successes / n, float(bounds.low), float(bounds.high), int(n))


def score_interval(scores, level: float = LEVEL, bounds=(-np.inf, np.inf)) -> Interval:
    """The interval that fits ``scores``: exact for binary ones, else Student-t within
    ``bounds``."""
    if is_binary(scores):
        hits = finite(scores)
        return proportion_interval(int(hits.sum()), len(hits), level)
    return mean_interval(scores, level, bounds)


def above_chance(successes: int, n: int, chance: float) -> float:
    """One-sided exact binomial p-value of ``successes`` in ``n`` if each had probability
    ``chance`` (e.g. correct predictions against the majority class's share)."""
    return float(stats.binomtest(int(successes), int(n), chance, alternative="greater").pvalue)


def poisson_binomial_sf(total: float, probabilities) -> float:
    """P(S >= ``total``) for S a sum of independent Bernoulli(p_i) variables: the exact one-sided
    p-value of ``total`` hits when image i is hit by chance with probability p_i (a map whose peak
    falls anywhere hits a mask with the mask's share of the pixels)."""
    distribution = np.array([1.0])
    for p in np.asarray(probabilities, np.float64).ravel():
        distribution = np.convolve(distribution, [1 - p, p])
    return float(min(1.0, distribution[int(np.ceil(total - 1e-9)):].sum()))


def wilson_interval(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson's score interval of a proportion (Newcombe's building block)."""
    z = stats.norm.ppf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def difference_interval(successes_a: int, n_a: int, successes_b: int, n_b: int,
                        level: float = LEVEL) -> Interval:
    """p_a − p_b of two independent proportions with Newcombe's hybrid score interval (1998,
    method 10), which keeps its coverage near the bounds where the Wald interval fails — e.g.
    accuracy on the images that carry a shortcut against accuracy on clean ones."""
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_interval(successes_a, n_a, level)
    low_b, high_b = wilson_interval(successes_b, n_b, level)
    difference = p_a - p_b
    return Interval(difference, difference - np.hypot(p_a - low_a, high_b - p_b),
                    difference + np.hypot(high_a - p_a, p_b - low_b), n_a + n_b)


def sign_flip_p(differences, alternative: str = "greater", resamples: int = 9999,
                seed: int = 0) -> float:
    """Paired permutation p-value that the mean of ``differences`` is 0 (each difference's
    sign flipped at random; exact when 2^n <= ``resamples``). It assumes only symmetry under
    the null, so it holds at small n where the t-test's normality does not."""
    differences = finite(differences)
    if len(differences) == 0:
        return np.nan
    result = stats.permutation_test(
        (differences, np.zeros_like(differences)), _mean_difference, vectorized=True,
        permutation_type="samples", alternative=alternative, n_resamples=resamples,
        rng=np.random.default_rng(seed))
    return float(result.pvalue)


class PairedTest(NamedTuple):
    """A paired test's two-sided p-value, which test it was, and the ``n`` pairs it used."""

    p: float
    test: str
    n: int


def mcnemar_p(first, second) -> float:
    """Two-sided exact McNemar p-value of paired 0/1 scores: only the discordant pairs (a hit
    in one, a miss in the other) carry information, and without a difference each is equally
    likely either way — a binomial test of their split (2 against 9: p = 0.065)."""
    first, second = np.asarray(first), np.asarray(second)
    gained, lost = int(np.sum((first == 0) & (second == 1))), int(np.sum((first == 1) & (second == 0)))
    if gained + lost == 0:
        return 1.0
    return float(stats.binomtest(gained, gained + lost).pvalue)


def paired_test(first, second) -> PairedTest:
    """The test of two score sets of the same images (in the same order) that fits them: exact
    McNemar when every score is 0 or 1, else the two-sided sign-flip permutation test of the
    differences (which holds at small n). Pairs with an undefined (NaN) score are left out; p is
    NaN below 2 pairs."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    both = ~(np.isnan(first) | np.isnan(second))
    first, second = first[both], second[both]
    binary = is_binary(np.concatenate([first, second]))
    test = MCNEMAR if binary else SIGN_FLIP
    if len(first) < 2:
        return PairedTest(np.nan, test, len(first))
    p = mcnemar_p(first, second) if binary else sign_flip_p(second - first, "two-sided")
    return PairedTest(p, test, len(first))


def shown(estimate: float, low: float = np.nan, high: float = np.nan) -> str:
    """``0.526 [0.5, 0.55]``: an estimate (3 significant digits) and its interval (2), as the
    console and the report print a score; the estimate alone without bounds."""
    text = f"{estimate:.3g}"
    return text if np.isnan(low) or np.isnan(high) else f"{text} [{low:.2g}, {high:.2g}]"


def _mean_difference(a, b, axis):
    return np.mean(a - b, axis=axis)
