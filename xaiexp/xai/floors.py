"""Chance floors: what a map that knows nothing scores on the same images and masks.

A localization score means little alone: relevance mass 0.55 is good when the object covers a
tenth of the image and chance when it covers half. So every scored batch is also scored for
two maps that ignore the model — a uniform map (every pixel alike: exactly the chance level of
the mask metrics, the mask's share of the pixels) and a random map (independent uniform noise,
seeded by each image's pixels, so an image's map is the same in every run; the chance level of
the metrics that rank pixels, such as deletion and insertion). ``above_floor`` says whether a
method beats its floor on the same images.
"""

import numpy as np

from xaiexp.xai import statistics
from xaiexp.xai.stratified import priorities

UNIFORM, RANDOM = "uniform floor", "random floor"  # columns: xai/uniform_floor/<metric>, ...


def floor_maps(images, ids, seed: int = 0) -> dict[str, np.ndarray]:
    """{``UNIFORM``: ones, ``RANDOM``: uniform noise}: (B, H, W, 1) maps for (B, H, W, C)
    ``images`` whose ids (``image_scores.image_ids``) seed the noise image by image."""
    shape = np.shape(images)[1:3] + (1,)
    noise = np.stack([np.random.default_rng(int(draw)).random(shape)
                      for draw in priorities(ids, seed)])
    return {UNIFORM: np.ones((len(ids), *shape)), RANDOM: noise}


def above_floor(scores, floor, higher_is_better: bool = True) -> float:
    """One-sided p-value that ``scores`` beat ``floor`` (per-image scores of the same images):
    exact (Poisson-binomial) for hits against per-image chances, as a method's one-pixel
    pointing game against the uniform floor's; a sign-flip permutation test of the paired
    differences otherwise. Images where either is NaN are left out; NaN if none is left."""
    scores, floor = np.asarray(scores, np.float64), np.asarray(floor, np.float64)
    both = ~(np.isnan(scores) | np.isnan(floor))
    scores, floor = scores[both], floor[both]
    if not len(scores):
        return np.nan
    if higher_is_better and statistics.is_binary(scores) and np.all((floor >= 0) & (floor <= 1)):
        return statistics.poisson_binomial_sf(scores.sum(), floor)
    differences = scores - floor if higher_is_better else floor - scores
    return statistics.sign_flip_p(differences)
