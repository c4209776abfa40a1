"""Fashion-MNIST: 60000 train and 10000 eval 28x28 grayscale images of 10 kinds of clothing.

Read from the four official idx ``.gz`` files, in the Keras cache's ``fashion-mnist/`` folder
(fetched if needed, see ``_cache``; Keras keeps no hash for them) or in a local folder ``path``.
"""

import gzip
import math
from dataclasses import dataclass

import numpy as np

from xaiexp.dataset.data import _build, _cache
from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError
from xaiexp.dataset.data.summary import Summary

_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass
class FashionMnistConfig(_cache.KerasDatasetConfig):
    _target_: str = "xaiexp.dataset.data.fashion_mnist.load_data"


SCHEMAS = (FashionMnistConfig,)


def load_data(image_key="x", label_key="y", path=None):
    """``(train, eval)`` NumpyDatasets: ``image_key`` uint8 (N, 28, 28, 1), ``label_key`` int (N,).

    ``path``: a local folder holding the four official ``.gz`` files, used instead of the cache.
    """
    if path:
        files = _local_files(path)
    else:
        files = _cache.fetch(
            [_cache.CachedFile(f"fashion-mnist/{name}", _URL + name, name) for name in FILES],
            "Fashion-MNIST", "/path/to/folder/with/the/4/gz/files")
    x_train, y_train, x_eval, y_eval = (_read_idx(file) for file in files)
    return _build.train_eval((x_train, y_train), (x_eval, y_eval), CLASSES, image_key, label_key)


def inspect(path=None, **_):
    """The ``Summary`` of ``path``: a folder with the four files, each starting as a gzip file.
    Without a path the Keras cache is the loader's business (it may download)."""
    for file in _local_files(path) if path else ():
        with open(file, "rb") as stream:
            if stream.read(2) != b"\x1f\x8b":
                raise DatasetFormatError(f"{file} is not a gzip file; expected the official {file.name}")
    return Summary(CLASSES, (28, 28, 1))


def _local_files(path):
    folder = _cache.local(path, f"a folder with {', '.join(FILES)}")
    if not folder.is_dir():
        raise DatasetFormatError(f"{folder} is not a folder; expected a folder with {', '.join(FILES)}")
    files = [folder / name for name in FILES]
    absent = [file.name for file in files if not file.exists()]
    if absent:
        raise DatasetNotFoundError(f"{folder} lacks {', '.join(absent)} (the official files)")
    return files


def _read_idx(path):
    """A gzipped idx file of unsigned bytes: 0, 0, 0x08, the rank, then big-endian int32 sizes."""
    try:
        with gzip.open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:
        raise DatasetFormatError(f"{path} is not a gzip file: {error!r}") from error
    rank = data[3] if len(data) > 3 else 0
    header = 4 + 4 * rank
    if data[:3] != b"\x00\x00\x08" or len(data) < header:
        raise DatasetFormatError(f"{path} is not an idx file of unsigned bytes (magic 0x0000080N)")
    shape = tuple(int(size) for size in np.frombuffer(data[4:header], ">i4"))
    if len(data) != header + math.prod(shape):
        raise DatasetFormatError(
            f"{path}: its header announces a {shape} array, but {len(data) - header} bytes follow")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)
