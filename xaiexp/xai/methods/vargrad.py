"""VarGrad (Adebayo et al., 2018, "Local Explanation Methods for Deep Neural Networks Lack
Sensitivity to Parameter Values", https://arxiv.org/abs/1810.03307): the variance of gradients
at noisy copies of the input, where SmoothGrad takes their mean.

A variance is not a weighted sum of the gradients, so it cannot be one Method; instead each
noisy gradient is a one-term method of its own (all run in the same compiled calls) and the
variance is taken over their raw results.
"""

import numpy as np

from xaiexp.xai.kinds import Sampled
from xaiexp.xai.method import Method, Term


def noisy_gradients(nsamples=25, stdev_spread=0.15, sampling="random") -> dict[str, Method]:
    """``nsamples`` gradients at x + N(0, σ²), σ = ``stdev_spread`` · (max(x) − min(x)), each its
    own method so the engine returns them unsummed; their noise is one stream ("vargrad"), drawn
    together by ``sampling``."""
    if nsamples < 1:
        raise ValueError(f"nsamples must be >= 1, got {nsamples}")
    noisy = Term(noise_spread=stdev_spread, sampling=sampling, stream="vargrad")
    return {f"vargrad_{i}": (noisy,) for i in range(nsamples)}


def variance(gradients):
    """(samples, B, H, W, C) -> (B, H, W, C). Shifted by the first sample, so that equal samples
    (no noise) give exactly 0 rather than rounding noise a mask would stretch to [0, 1]."""
    shifted = np.asarray(gradients, np.float32) - gradients[:1]
    return np.maximum((shifted * shifted).mean(0) - shifted.mean(0) ** 2, 0)


METHOD = Sampled(name="vargrad", title="VarGrad {}", order=60, needs=("smoothing",),
                 samples=lambda settings: noisy_gradients(
                     settings.smoothing, sampling=settings.passes.sampling), combine=variance)
