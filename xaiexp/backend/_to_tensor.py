"""Convert nested batch structures (dicts, lists, tuples) of arrays to tensors."""

import numpy as np
import tensorflow as tf


def to_tensor(data, target_type="tf"):
    """Recursively turn arrays into TensorFlow tensors (``target_type="tf"``) or NumPy arrays
    (``"np"``), keeping the container structure; other values pass through unchanged."""
    if target_type not in ("tf", "np"):
        raise ValueError(f"target_type must be 'tf' or 'np', got {target_type!r}")
    if isinstance(data, dict):
        return {key: to_tensor(value, target_type) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(to_tensor(value, target_type) for value in data)
    if target_type == "tf" and isinstance(data, (np.ndarray, np.generic)):
        return tf.convert_to_tensor(data)
    if target_type == "np" and isinstance(data, tf.Tensor):
        return data.numpy()
    return data
