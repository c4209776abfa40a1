"""Where integration paths start. Each baseline maps the path endpoints (T, H, W, C) to baselines.

Random and constant baselines span the value range [low, high] (T, 1, 1, 1) of each term's image,
its own or the batch's (the engine's ``noise_range``); the others derive from each endpoint (the
noisy copy, for SmInt). ``uniforms`` (T, H, W, C) are each term's draws in (0, 1) (``draws.py``),
read by the baselines of ``DRAWN`` only. All run inside the engine's compiled call.
"""

import math

import tensorflow as tf


def uniform(endpoints, low, high, uniforms):
    """Uniform noise in [low, high] per element, drawn afresh for every term, as FastEstimator does."""
    return low + (high - low) * uniforms


def midpoint(endpoints, low, high, uniforms):
    """The constant (low + high) / 2: what FastEstimator's source code integrates from."""
    return tf.broadcast_to((low + high) / 2, tf.shape(endpoints))


def zeros(endpoints, low, high, uniforms):
    """All zeros, the original paper's black image (mid-gray for inputs normalized around 0)."""
    return tf.zeros_like(endpoints)


def mean(endpoints, low, high, uniforms):
    """Each image's per-channel mean colour: removes structure but keeps the overall tint."""
    means = tf.reduce_mean(endpoints, axis=(1, 2), keepdims=True)
    return tf.broadcast_to(means, tf.shape(endpoints))


def blur(endpoints, low, high, uniforms, relative_sigma=0.1):
    """A Gaussian blur (σ = ``relative_sigma`` · image side) of each image: removes fine detail,
    keeps colour and coarse shape (Sturmfels et al., Distill 2020)."""
    height, width, channels = endpoints.shape[1:]
    sigma = relative_sigma * max(height, width)
    radius = max(1, math.ceil(2 * sigma))
    taps = tf.exp(-0.5 * (tf.range(-radius, radius + 1, dtype=endpoints.dtype) / sigma) ** 2)
    taps /= tf.reduce_sum(taps)
    padded = tf.pad(endpoints, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "SYMMETRIC")
    rows = tf.tile(tf.reshape(taps, (-1, 1, 1, 1)), (1, 1, channels, 1))
    columns = tf.tile(tf.reshape(taps, (1, -1, 1, 1)), (1, 1, channels, 1))
    blurred = tf.nn.depthwise_conv2d(padded, rows, strides=(1, 1, 1, 1), padding="VALID")
    return tf.nn.depthwise_conv2d(blurred, columns, strides=(1, 1, 1, 1), padding="VALID")


BASELINES = {"uniform": uniform, "midpoint": midpoint, "zeros": zeros, "mean": mean, "blur": blur}
DRAWN = ("uniform",)  # the baselines that read the draws
