"""SmoothGrad (Smilkov et al., 2017, https://arxiv.org/abs/1706.03825): mean over noisy copies."""

from dataclasses import replace

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Method, Term


def smooth_grad(nsamples=25, stdev_spread=0.15, magnitude=True, sampling="random") -> Method:
    """The clean gradient and ``nsamples`` − 1 gradients at x + N(0, σ²), σ = ``stdev_spread`` ·
    (max(x) − min(x)), averaged; squared first when ``magnitude`` (FastEstimator's default). The
    noise is drawn together by ``sampling`` (``draws.py``)."""
    return smoothed(Term(noise_spread=stdev_spread, sampling=sampling), nsamples, magnitude)


def smoothed(noisy: Term, nsamples, magnitude) -> Method:
    """Average the clean gradient with ``nsamples`` − 1 draws of ``noisy`` (FastEstimator's
    recipe, shared with SmInt): the clean input counts as the first sample."""
    if nsamples < 1:
        raise ValueError(f"nsamples must be >= 1, got {nsamples}")
    weight = 1.0 / nsamples
    clean = Term(squared=magnitude, weight=weight)
    return (clean,) + (replace(noisy, squared=magnitude, weight=weight),) * (nsamples - 1)


METHOD = Gradients(name="smoothgrad", title="Smoothed {}", order=20, needs=("smoothing",),
                   default=True, recipe=lambda settings: smooth_grad(
                       settings.smoothing, sampling=settings.passes.sampling))
