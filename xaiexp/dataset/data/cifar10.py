"""CIFAR-10: 50000 train and 10000 eval 32x32 colour images in 10 classes.

Read from the official ``cifar-10-python.tar.gz``: the one Keras caches (fetched if needed, see
``_cache``) or a local copy given as ``path``. The archive is read in place, in one pass, with
no extraction to disk.
"""

import pickle
import tarfile
from dataclasses import dataclass

import numpy as np

from xaiexp.dataset.data import _build, _cache
from xaiexp.dataset.data.errors import DatasetFormatError
from xaiexp.dataset.data.summary import Summary

ARCHIVE = _cache.CachedFile(
    name="cifar-10-batches-py-target_archive",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    official="cifar-10-python.tar.gz",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_TRAIN = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
_EVAL = "cifar-10-batches-py/test_batch"
_META = "cifar-10-batches-py/batches.meta"


@dataclass
class Cifar10Config(_cache.KerasDatasetConfig):
    _target_: str = "xaiexp.dataset.data.cifar10.load_data"


SCHEMAS = (Cifar10Config,)


def load_data(image_key="x", label_key="y", path=None):
    """``(train, eval)`` NumpyDatasets: ``image_key`` uint8 (N, 32, 32, 3), ``label_key`` int (N,).

    ``path``: a local ``cifar-10-python.tar.gz``, used instead of the Keras cache.
    """
    if path:
        archive = _cache.local(path, "the official cifar-10-python.tar.gz")
    else:
        [archive] = _cache.fetch([ARCHIVE], "CIFAR-10", "/path/to/cifar-10-python.tar.gz")
    batches, names = _read(archive)
    train = [np.concatenate(parts) for parts in zip(*(batches[member] for member in _TRAIN))]
    return _build.train_eval(train, batches[_EVAL], names, image_key, label_key)


def inspect(path=None, **_):
    """The ``Summary`` of ``path``: it opens as a gzipped tar whose first member is under
    cifar-10-batches-py/ (the loader reads the rest; listing every member would decompress all
    170 MB). Without a path the Keras cache is the loader's business (it may download)."""
    if path:
        archive = _cache.local(path, "the official cifar-10-python.tar.gz")
        expected = "expected the official cifar-10-python.tar.gz, a tar.gz of cifar-10-batches-py/"
        if archive.is_dir():
            raise DatasetFormatError(f"{archive} is a folder; {expected}")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                first = tar.next()
        except (OSError, EOFError, tarfile.TarError) as error:
            raise DatasetFormatError(f"{archive} is not a tar.gz ({error}); {expected}") from error
        if first is None or first.name.split("/")[0] != "cifar-10-batches-py":
            found = first.name if first else "nothing"
            raise DatasetFormatError(f"{archive} holds {found!r} first; {expected}")
    return Summary(CLASSES, (32, 32, 3))


def _read(archive):
    """{member: (x NHWC, y)} for the six batches, and the class names (from batches.meta)."""
    batches, names = {}, CLASSES
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:  # one pass: seeking back in a gzip stream decompresses it again
                if member.name in (*_TRAIN, _EVAL):
                    batch = _unpickle(tar.extractfile(member))
                    x = np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32)
                    batches[member.name] = (x.transpose(0, 2, 3, 1), batch["labels"])
                elif member.name == _META:
                    meta = _unpickle(tar.extractfile(member))
                    names = tuple(_text(name) for name in meta["label_names"])
    except (OSError, EOFError, tarfile.TarError, pickle.UnpicklingError, KeyError,
            ValueError) as error:
        raise DatasetFormatError(
            f"{archive} is not a readable cifar-10-python.tar.gz: {error!r}") from error
    absent = [member for member in (*_TRAIN, _EVAL) if member not in batches]
    if absent:
        raise DatasetFormatError(
            f"{archive} is not a cifar-10-python.tar.gz: it lacks {', '.join(absent)}")
    return batches, names


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays and nothing else, as Keras' own reader does: a tampered archive
    cannot run code through the pickle."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _unpickle(file):
    """The batches are Python 2 pickles: keys and strings come back as bytes."""
    batch = _ArrayUnpickler(file, encoding="bytes").load()
    return {_text(key): value for key, value in batch.items()}


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value
