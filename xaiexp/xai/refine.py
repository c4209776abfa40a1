"""Completeness-adaptive steps for integrated gradients, image by image.

Google's attribution services advise raising IG's step count until the attributions add up to the
score gap f(x) − f(b) ("sum to diff") within a tolerance; here that happens per image inside one
call: the images whose relative completeness error is above the tolerance are explained again
with twice the steps, the others keep their maps. The redone images keep their draws (``draws.py``
addresses them by image), so a baseline is refined, not replaced.
"""

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from xaiexp.xai.engine import Attributions
from xaiexp.xai.method import Method


def refine(run: Callable[[Mapping[str, Method], np.ndarray], Attributions],
           methods: Mapping[str, Method], result: Attributions, tolerance: float,
           max_steps: int) -> Attributions:
    """``result`` (with score gaps) of ``methods``, with each gapped method redone at doubled
    steps (up to ``max_steps``) on the images whose completeness error is above ``tolerance``
    (or undefined: a zero gap), until none is or the steps reach ``max_steps``.
    ``run(methods, subset)`` explains the images at positions ``subset`` of the batch."""
    maps, gaps, passes = dict(result.maps), dict(result.score_gaps), result.passes
    errors = result.completeness_errors()
    for name in result.score_gaps:
        terms = methods[name]
        steps = max(term.steps for term in terms)
        failing = np.flatnonzero(~(errors[name] <= tolerance))
        while failing.size and steps < max_steps:
            steps = min(2 * steps, max_steps)
            redone = run({name: tuple(_at(term, steps) for term in terms)}, failing)
            maps[name][failing] = redone.maps[name]
            gaps[name][failing] = redone.score_gaps[name]
            passes += redone.passes
            failing = failing[~(redone.completeness_errors()[name] <= tolerance)]
    return Attributions(maps, gaps, passes)


def _at(term, steps):
    """``term`` over ``steps`` nodes, its scale adjusted so that its path's weights still add
    up to the same share of the method (a mean of the gradients stays a mean)."""
    return replace(term, steps=steps, scale=term.scale * term.steps / steps)
