"""Is the model relying on a shortcut? Two kinds of evidence, each weighed by a test that fits it.

- **Attention**: on images that carry the shortcut, does each method's map put more on the
  decoy region than a blind map would? A uniform map puts the region's share of the pixels
  there (relevance mass) and hits it that often (pointing game): those are the floors. A
  method *points at* the decoy when it beats its floor significantly (one-sided p < 0.05:
  exact Poisson-binomial for hits, a sign-flip permutation test for shares; ``floors.py``) by
  at least ``LIFT`` times; it *ignores* it when no score points at it and the upper end of one
  score's 95 % interval stays below ``LIFT`` times the floor.
- **Accuracy**: how much accuracy the shortcut is worth — eval (where it is present, as in
  train) minus test (where a clean or repainted test split breaks it), with Newcombe's interval;
  a drop whose interval lies above 0 is evidence. When test is like eval, there is no drop and
  no evidence either way.

The answer is *relies on the shortcut* when most methods point at the decoy (or accuracy drops
without it and some method points at it), *does not rely on it* when no method points at it,
most ignore it and accuracy does not drop, and *cannot tell* otherwise — always when the model
is no better than chance on the eval images (then its maps explain nothing).
"""

from dataclasses import dataclass, field

import numpy as np

from xaiexp.xai import statistics
from xaiexp.xai.floors import RANDOM, UNIFORM, above_floor
from xaiexp.xai.registry import decoy_names

LIFT = 2.0  # how many times the blind map's share a map must put on the decoy to point at it
RELIES, DOES_NOT, CANNOT_TELL = "relies on the shortcut", "does not rely on it", "cannot tell"


@dataclass(frozen=True)
class Accuracy:
    """``correct`` of ``n`` predictions on the ``split`` (eval, test); ``chance``: the largest
    class's share of the ``n`` (what always answering that class scores)."""

    correct: int
    n: int
    chance: float
    split: str = "eval"

    @property
    def value(self) -> float:
        return self.correct / self.n

    @property
    def above_chance_p(self) -> float:
        return statistics.above_chance(self.correct, self.n, self.chance)


@dataclass(frozen=True)
class Attention:
    """One method's decoy score (``metric``: decoy_mass or decoy_pointing_game) against the
    uniform map's on the same images."""

    metric: str
    score: statistics.Interval
    floor: float  # the uniform map's mean score
    p: float  # one-sided, that the method beats the floor

    @property
    def lift(self) -> float:
        return self.score.estimate / self.floor if self.floor > 0 else np.nan

    @property
    def points(self) -> bool:
        return bool(self.p < statistics.ALPHA and self.lift >= LIFT)

    @property
    def ignores(self) -> bool:
        return bool(self.score.high < LIFT * self.floor)


@dataclass
class Verdict:
    answer: str
    reason: str
    images: str  # which images the attention was measured on, e.g. "100 eval images"
    eval: Accuracy | None = None
    test: Accuracy | None = None
    attention: dict = field(default_factory=dict)  # method -> [Attention, ...]

    @property
    def gap(self) -> statistics.Interval | None:
        """Eval minus test accuracy with Newcombe's 95 % interval (both splits needed)."""
        if self.eval is None or self.test is None:
            return None
        return statistics.difference_interval(self.eval.correct, self.eval.n,
                                              self.test.correct, self.test.n)

    def points(self, method) -> bool:
        return any(a.points for a in self.attention[method])

    def ignores(self, method) -> bool:
        """No score points at the decoy, and one rules it out. (Ruling out twice a small floor
        takes hundreds of hit-or-miss pointing games — a random map hitting 1/16 of the image
        rules nothing out at 100 — where the relevance mass, a share per image, can at a few.)"""
        return not self.points(method) and any(a.ignores for a in self.attention[method])


def attention(scores, method_keys) -> dict[str, list[Attention]]:
    """{method key: [Attention per decoy metric]} of per-image ``scores`` ({(column, metric):
    (n,) scores}, the uniform floor's among them; ``method_keys``: {column: key})."""
    found = {}
    for decoy in decoy_names().values():
        floor = scores.get((UNIFORM, decoy))
        if floor is None:
            continue
        for column, key in method_keys.items():
            if (column, decoy) in scores and column not in (UNIFORM, RANDOM):
                values = scores[(column, decoy)]
                found.setdefault(key, []).append(Attention(
                    decoy, statistics.score_interval(values, bounds=statistics.UNIT),
                    float(np.nanmean(floor)),
                    above_floor(values, floor)))
    return found


def judge(evidence: dict, images: str, eval_accuracy: Accuracy | None,
          test_accuracy: Accuracy | None) -> Verdict:
    """The verdict on ``evidence`` (``attention``'s result) measured on ``images``, with the
    accuracies of the weights it is about (``eval_accuracy`` None: only test was run, as in
    ``xaiexp explain``; then the test images' accuracy is the one that must beat chance)."""
    verdict = Verdict(CANNOT_TELL, "", images, eval_accuracy, test_accuracy, evidence)
    reference = eval_accuracy or test_accuracy
    if reference is not None and reference.above_chance_p >= statistics.ALPHA:
        verdict.reason = (f"{reference.split} accuracy {reference.value:.3f} on {reference.n} images is "
                          f"not shown to beat chance ({reference.chance:.3f}, the largest class's "
                          f"share; p = {reference.above_chance_p:.2g}): the maps may mean nothing")
        return verdict
    if not evidence:
        verdict.reason = "no image had a decoy region to score"
        return verdict
    pointing = [m for m in evidence if verdict.points(m)]
    ignoring = [m for m in evidence if verdict.ignores(m)]
    gap = verdict.gap
    drop = gap is not None and gap.low > 0
    half = len(evidence) / 2
    if len(pointing) > half or (drop and pointing):
        verdict.answer = RELIES
        verdict.reason = (f"{len(pointing)} of {len(evidence)} methods point at the decoy region"
                          + (", and accuracy drops without the shortcut" if drop else ""))
    elif not pointing and len(ignoring) > half and not drop:
        verdict.answer = DOES_NOT
        verdict.reason = f"no method points at the decoy region; {len(ignoring)} of {len(evidence)} rule it out"
    elif drop:
        verdict.reason = "accuracy drops without the shortcut, but no map points at the decoy region"
    elif pointing:
        verdict.reason = f"only {len(pointing)} of {len(evidence)} methods point at the decoy region"
    else:
        verdict.reason = (f"no method points at the decoy region, but {images} cannot rule it out:"
                          f" score more (explain.score_samples)")
    return verdict
