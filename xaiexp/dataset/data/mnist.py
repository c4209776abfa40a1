"""MNIST: 60000 train and 10000 eval 28x28 grayscale handwritten digits.

Read from ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``), the file Keras caches
(fetched if needed, see ``_cache``) or a local copy given as ``path``.
"""

import zipfile
from dataclasses import dataclass

import numpy as np

from xaiexp.dataset.data import _build, _cache
from xaiexp.dataset.data.errors import DatasetFormatError
from xaiexp.dataset.data.summary import Summary

FILE = _cache.CachedFile(
    name="mnist.npz",
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    official="mnist.npz",
    sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)
CLASSES = tuple(str(digit) for digit in range(10))
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_EXPECTED = "the mnist.npz that Keras downloads (x_train, y_train, x_test, y_test)"


def inspect(path=None, **_):
    """The ``Summary`` of ``path``: an .npz holding the four arrays (only its directory is
    read). Without a path the Keras cache is the loader's business (it may download)."""
    if path:
        file = _cache.local(path, _EXPECTED)
        try:
            with zipfile.ZipFile(file) as archive:
                names = {member.removesuffix(".npy") for member in archive.namelist()}
        except (OSError, zipfile.BadZipFile) as error:
            raise DatasetFormatError(f"{file} is not an .npz ({error}); expected {_EXPECTED}") \
                from error
        missing = [key for key in _KEYS if key not in names]
        if missing:
            raise DatasetFormatError(f"{file} lacks {', '.join(missing)}; expected {_EXPECTED}")
    return Summary(CLASSES, (28, 28, 1))


@dataclass
class MnistConfig(_cache.KerasDatasetConfig):
    _target_: str = "xaiexp.dataset.data.mnist.load_data"


SCHEMAS = (MnistConfig,)


def load_data(image_key="x", label_key="y", path=None):
    """``(train, eval)`` NumpyDatasets: ``image_key`` uint8 (N, 28, 28, 1), ``label_key`` int (N,).

    ``path``: a local ``mnist.npz``, used instead of the Keras cache.
    """
    if path:
        file = _cache.local(path, _EXPECTED)
    else:
        [file] = _cache.fetch([FILE], "MNIST", "/path/to/mnist.npz")
    try:
        with np.load(file, allow_pickle=False) as arrays:
            x_train, y_train, x_eval, y_eval = (
                arrays[key] for key in _KEYS)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise DatasetFormatError(
            f"{file} is not mnist.npz (x_train, y_train, x_test, y_test): {error!r}") from error
    return _build.train_eval((x_train, y_train), (x_eval, y_eval), CLASSES, image_key, label_key)
