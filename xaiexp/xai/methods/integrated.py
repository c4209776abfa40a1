"""Integrated gradients (Sundararajan et al., 2017, https://arxiv.org/abs/1703.01365)."""

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Method, Term


def integrated_gradients(nsamples=25, rule="linspace", baselines=1, sampling="random") -> Method:
    """(x − b) times the mean gradient at b + α(x − b) over the ``nsamples`` nodes α of the
    quadrature ``rule`` (FastEstimator's: α = linspace(0, 1, ``nsamples``), equal weights), and
    with ``baselines`` > 1 the mean of that over as many random baselines, drawn together by
    ``sampling`` (expected gradients' average over baselines, Erion et al. 2021, with a
    quadrature per baseline): one uniform baseline varies the map so much that two draws
    correlate about 0.5.

    FastEstimator sums instead of averaging; the mean is the quadrature of the path integral, so
    the raw attributions add up to f(x) − f(b) (completeness; with several baselines, to the mean
    of f(x) − f(b)). Masks are normalized per image, so both give the same pictures.
    """
    if baselines < 1:
        raise ValueError(f"baselines must be >= 1, got {baselines}")
    path = Term(integrated=True, steps=nsamples, scale=1.0 / nsamples, rule=rule,
                weight=1.0 / baselines, sampling=sampling)
    return (path,) * baselines


METHOD = Gradients(name="integrated", title="Integrated {}", order=30, needs=("steps",),
                   default=True, recipe=lambda settings: integrated_gradients(
                       settings.steps, settings.passes.rule, settings.passes.baselines,
                       settings.passes.sampling))
