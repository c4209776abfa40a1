"""SmInt: SmoothGrad over integrated-gradient maps, each with a fresh baseline (FastEstimator)."""

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Method, Term
from xaiexp.xai.methods.smoothgrad import smoothed


def smooth_integrated(nsamples=6, nintegration=100, stdev_spread=0.15, magnitude=True,
                      rule="linspace", sampling="random") -> Method:
    """The clean gradient and ``nsamples`` − 1 integrated maps of noisy copies, averaged (squared
    first when ``magnitude``); each path over ``nintegration`` nodes of the quadrature ``rule``,
    the noise and baselines drawn together by ``sampling``.

    The integrated maps keep FastEstimator's summed scale (``nintegration`` times the mean, not
    the mean of ``integrated_gradients``): it sets how little the clean gradient weighs against
    them, and so decides the picture.
    """
    noisy_path = Term(noise_spread=stdev_spread, integrated=True, steps=nintegration, rule=rule,
                      sampling=sampling)
    return smoothed(noisy_path, nsamples, magnitude)


METHOD = Gradients(name="smint", title="SmInt {}", order=40, needs=("steps", "smint_samples"),
                   default=True, heavy=True, recipe=lambda settings: smooth_integrated(
                       settings.smint_samples, settings.steps, rule=settings.passes.rule,
                       sampling=settings.passes.sampling))
