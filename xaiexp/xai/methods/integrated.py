"""Integrated gradients (Sundararajan et al., 2017, https://arxiv.org/abs/1703.01365)."""

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Method, Term


def integrated_gradients(nsamples=25) -> Method:
    """(x − b) times the mean gradient at b + α(x − b), α = linspace(0, 1, ``nsamples``).

    FastEstimator sums instead of averaging; the mean is the Riemann sum of the path integral, so
    the raw attributions add up to f(x) − f(b) (completeness). Masks are normalized per image,
    so both give the same pictures.
    """
    return (Term(integrated=True, steps=nsamples, scale=1.0 / nsamples),)


METHOD = Gradients(name="integrated", title="Integrated {}", order=30, needs=("steps",),
                   default=True, recipe=lambda settings: integrated_gradients(settings.steps))
