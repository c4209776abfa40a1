"""Completeness of integrated gradients (Sundararajan et al., 2017, "Axiomatic Attribution for
Deep Networks", https://arxiv.org/abs/1703.01365): the attributions should add up to
f(x) − f(baseline). The relative shortfall measures how far the quadrature over the path is
from the integral, i.e. whether ``nsamples`` is enough for this model."""

from xaiexp.xai.methods.integrated import integrated_gradients


def completeness_error(salnet, batch, nsamples=300):
    """(B,) |Σ attributions − (f(x) − f(b))| / |f(x) − f(b)| of ``salnet``'s raw integrated
    gradients over ``nsamples`` (>= 2) steps, for the classes it explains, from its own baseline,
    random ones included: the scores at both path ends are read for the same draws as the maps
    (``SaliencyNet.explain(..., completeness=True)``)."""
    if nsamples < 2:
        raise ValueError(f"completeness needs nsamples >= 2 (a one-step path only visits the "
                         f"baseline), got {nsamples}")
    method = {salnet.outputs: integrated_gradients(nsamples)}
    result = salnet.explain(batch, method, raw=True, completeness=True)
    return result[f"{salnet.outputs} completeness"]
