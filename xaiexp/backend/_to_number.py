"""Turn a tensor (or anything array-like) into a NumPy value."""

import numpy as np
import tensorflow as tf


def to_number(data):
    if isinstance(data, (tf.Tensor, tf.Variable)):
        return data.numpy()
    return np.asarray(data)
