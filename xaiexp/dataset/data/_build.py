"""The (train, eval) pair that the image-classification loaders return, built one way."""

import numpy as np

from xaiexp.dataset.numpy_dataset import NumpyDataset


def train_eval(train, eval, class_names, image_key, label_key):
    """``train``/``eval`` are (images, labels) arrays; grayscale (N, H, W) images gain a channel
    axis so every model sees NHWC, and labels become int64 (N,) whatever the file stored."""
    mapping = {name: label for label, name in enumerate(class_names)}
    return tuple(
        NumpyDataset({image_key: x if x.ndim == 4 else x[..., np.newaxis],
                      label_key: np.asarray(y, np.int64).reshape(-1)}, mapping)
        for x, y in (train, eval))
