"""Drop size-1 axes from a tensor or array."""

import numpy as np
import tensorflow as tf


def squeeze(tensor, axis=None):
    if isinstance(tensor, np.ndarray):
        return np.squeeze(tensor, axis=axis)
    return tf.squeeze(tensor, axis=axis)
