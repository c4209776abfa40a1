"""The shortcut verdict (xaiexp.xai.verdict) on hand-made evidence: what each kind of evidence
must show for each answer, against the exact tests it is built on."""

import dataclasses

import numpy as np
import pytest

from xaiexp.xai import statistics
from xaiexp.xai.floors import UNIFORM, above_floor
from xaiexp.xai.verdict import CANNOT_TELL, DOES_NOT, RELIES, Accuracy, attention, judge

AREA = 1 / 16  # a decoy region of a sixteenth of the image: a blind map's share


def evidence(hit_rates, n, mass=None, seed=0):
    """Per-image decoy scores of methods that hit the region at ``hit_rates`` (one-pixel peaks)
    and put ``mass`` of their relevance there, beside the uniform floor's."""
    rng = np.random.default_rng(seed)
    scores = {(UNIFORM, "decoy_pointing_game"): np.full(n, AREA),
              (UNIFORM, "decoy_mass"): np.full(n, AREA)}
    for index, rate in enumerate(hit_rates):
        column = f"method {index}"
        scores[(column, "decoy_pointing_game")] = (rng.random(n) < rate).astype(float)
        scores[(column, "decoy_mass")] = np.clip(rng.normal(mass or rate * 0.5 + AREA / 2, 0.02, n), 0, 1)
    return attention(scores, {f"method {i}": f"m{i}" for i in range(len(hit_rates))})


GOOD = Accuracy(95, 100, 0.1)


def test_maps_that_point_at_the_decoy_mean_the_model_relies_on_it():
    verdict = judge(evidence([0.7, 0.6, 0.8], 16), "16 eval images", GOOD, Accuracy(30, 100, 0.1))
    assert verdict.answer == RELIES and "3 of 3 methods" in verdict.reason
    assert "accuracy drops" in verdict.reason and verdict.gap.low > 0
    found = verdict.attention["m0"][1]  # the pointing game, tested exactly against chance
    hits = found.score.estimate * 16
    assert found.p == pytest.approx(statistics.poisson_binomial_sf(hits, [AREA] * 16))
    assert found.lift == pytest.approx(found.score.estimate / AREA)


def test_no_map_on_the_decoy_over_many_images_means_it_does_not():
    verdict = judge(evidence([0.02, 0.03, 0.01], 150, mass=0.04), "150 eval images", GOOD,
                    Accuracy(94, 100, 0.1))
    assert verdict.answer == DOES_NOT
    assert all(a.ignores for found in verdict.attention.values() for a in found)


def test_a_few_images_cannot_rule_the_decoy_out():
    """0 hits in 5: the exact interval's upper end (0.52) is far above twice the floor, and so
    is that of relevance shares that vary from image to image."""
    found = evidence([0.0, 0.0, 0.0], 5, mass=0.04)
    varying = statistics.mean_interval([0.02, 0.3, 0.01, 0.05, 0.02])
    for attentions in found.values():
        attentions[0] = dataclasses.replace(attentions[0], score=varying)
    verdict = judge(found, "5 eval images", GOOD, None)
    assert verdict.answer == CANNOT_TELL and "cannot rule it out" in verdict.reason
    steady = judge(evidence([0.0, 0.0, 0.0], 5, mass=0.04), "5 eval images", GOOD, None)
    assert steady.answer == DOES_NOT  # shares steadily below twice the floor: ruled out at n = 5


def test_a_model_at_chance_cannot_be_judged_whatever_its_maps_show():
    at_chance = Accuracy(12, 100, 0.11, "eval")  # 11 % is what always answering the largest class scores
    verdict = judge(evidence([0.9, 0.9], 50), "50 eval images", at_chance, None)
    assert verdict.answer == CANNOT_TELL
    assert "eval accuracy 0.120 on 100 images is not shown to beat chance" in verdict.reason
    assert at_chance.above_chance_p == pytest.approx(statistics.above_chance(12, 100, 0.11))


def test_an_accuracy_drop_needs_a_map_that_shows_it():
    drop = Accuracy(40, 100, 0.1)
    one = judge(evidence([0.7, 0.0, 0.0], 100, mass=0.05), "100 eval images", GOOD, drop)
    assert one.answer == RELIES  # the drop and one method agree
    none = judge(evidence([0.0, 0.0], 100, mass=0.05), "100 eval images", GOOD, drop)
    assert none.answer == CANNOT_TELL and "no map points" in none.reason


def test_above_floor_is_exact_for_hits_and_a_sign_flip_test_for_shares():
    hits, chances = np.array([1, 0, 1, 1, 0, 1.0]), np.array([0.1, 0.2, 0.1, 0.3, 0.2, 0.1])
    assert above_floor(hits, chances) == pytest.approx(statistics.poisson_binomial_sf(4, chances))
    shares = np.array([0.3, 0.2, 0.25, np.nan, 0.4])
    floor = np.array([0.1, 0.25, 0.1, 0.1, 0.1])
    assert above_floor(shares, floor) == pytest.approx(
        statistics.sign_flip_p(np.array([0.2, -0.05, 0.15, 0.3])))
    assert above_floor(0.5 - shares, 0.5 - floor, higher_is_better=False) == pytest.approx(
        above_floor(shares, floor))
