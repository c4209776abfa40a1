"""Ops that transform one input at a time."""

import numpy as np
import tensorflow as tf

from xaiexp.op.numpyop.numpyop import NumpyOp
from xaiexp.util.normalization import IMAGENET_MEAN, IMAGENET_STD, MAX_PIXEL_VALUE


class Normalize(NumpyOp):
    """``(x - mean * max_pixel_value) / (std * max_pixel_value)``, as float32.

    The defaults are ImageNet's per-channel statistics, as in FastEstimator; ``mean`` and
    ``std`` may be scalars or one value per channel. Runs on NumPy batches and on a streamed
    dataset's tf tensors alike.
    """

    def __init__(self, inputs, outputs, mode=None, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 max_pixel_value=MAX_PIXEL_VALUE):
        super().__init__(inputs=inputs, outputs=outputs, mode=mode)
        self.mean = np.asarray(mean, dtype=np.float32) * np.float32(max_pixel_value)
        self.std = np.asarray(std, dtype=np.float32) * np.float32(max_pixel_value)
        if np.any(self.std == 0):
            raise ValueError("Normalize: std must be non-zero")

    def forward(self, data, state):
        channels = data.shape[-1]
        if self.mean.size not in (1, channels) or self.std.size not in (1, channels):
            raise ValueError(
                f"Normalize: mean/std have {self.mean.size}/{self.std.size} values but the "
                f"images have {channels} channel(s); give one value or one per channel")
        data = tf.cast(data, tf.float32) if tf.is_tensor(data) else data.astype(np.float32)
        return (data - self.mean) / self.std
