"""Completeness of integrated gradients (Sundararajan et al., 2017, "Axiomatic Attribution for
Deep Networks", https://arxiv.org/abs/1703.01365): the attributions should add up to
f(x) − f(baseline). The relative shortfall measures how far the Riemann sum over the path is
from the integral, i.e. whether ``nsamples`` is enough for this model."""

import numpy as np
import tensorflow as tf


def completeness_error(salnet, batch, nsamples=300):
    """(B,) |Σ attributions − (f(x) − f(b))| / |f(x) − f(b)| of ``salnet``'s raw integrated
    gradients over ``nsamples`` steps, for the classes it explains, from its own baseline.

    The baseline must be deterministic (zeros, midpoint, mean, blur): a "uniform" one is drawn
    inside the compiled call and cannot be scored again.
    """
    images, _, classes = salnet.targets(batch)
    attributions = salnet.get_integrated_masks(batch, nsamples, raw=True)[salnet.outputs]
    baselines = salnet.engine.baseline(tf.constant(images), np.float32(images.min()),
                                       np.float32(images.max()), _random_baseline)
    rows = np.arange(len(images))
    gap = (salnet.engine.predict(images)[rows, classes]
           - salnet.engine.predict(np.asarray(baselines))[rows, classes])
    return np.abs(attributions.sum(axis=(1, 2, 3)) - gap) / np.abs(gap)


def _random_baseline():
    raise ValueError("completeness needs a deterministic baseline (zeros, midpoint, mean or "
                     "blur); SaliencyNet(baseline=...) draws a random one")
