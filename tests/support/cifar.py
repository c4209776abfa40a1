"""CIFAR-10's official archive (cifar-10-python.tar.gz) written with a few rows a batch."""

import io
import pickle
import struct
import tarfile
import types

import numpy as np

from xaiexp.dataset.data import cifar10


def cifar_batch(rows, first_label):
    """The official batch layout: 3072 bytes a row (1024 red, then green, then blue, each
    row-major), labels a list of plain ints, keys bytes (the files are Python 2 pickles)."""
    data = np.zeros((rows, 3072), np.uint8)
    data[:, 0] = np.arange(rows) + first_label  # a tag: red channel of pixel (0, 0)
    labels = [(first_label + i) % 10 for i in range(rows)]
    return {b"batch_label": b"testing batch", b"labels": labels, b"data": data,
            b"filenames": [b"img.png"] * rows}


class Python2Pickler(pickle._Pickler):
    """Pickles as the published batches were: protocol 2 from Python 2, where text is ``str``
    (BINSTRING, read back as bytes) and arrays rebuild via ``numpy.core.multiarray``. (Python 3's
    own protocol 2 wraps bytes in a ``_codecs.encode`` call, which Keras' reader and ours refuse.)
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        size = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([size]) if size < 256
                   else pickle.BINSTRING + struct.pack("<i", size))
        self.write(obj)
        self.memoize(obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode())

    def save_reconstruct(self, obj):  # the one builtin in an array's pickle
        self.write(pickle.GLOBAL + f"numpy.core.multiarray\n{obj.__name__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str
    dispatch[types.BuiltinFunctionType] = save_reconstruct


def write_cifar(path, rows=3, label_names=cifar10.CLASSES, meta=True):
    """A cifar-10-python.tar.gz, members in the upstream archive's (unsorted) order; ``rows`` per
    batch instead of 10000, as our reader (unlike Keras') takes any count."""
    batches = {f"data_batch_{i}": cifar_batch(rows, 10 * i) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(rows, 100)
    batches["test_batch"][b"data"][0, 2 * 1024 + 31 * 32 + 1] = 77  # blue at row 31, column 1
    if meta:
        batches["batches.meta"] = {b"num_cases_per_batch": rows, b"num_vis": 3072,
                                   b"label_names": [name.encode() for name in label_names]}
    order = ["data_batch_4", "test_batch", "data_batch_3", "batches.meta", "data_batch_2",
             "data_batch_5", "data_batch_1"]
    with tarfile.open(path, "w:gz") as tar:
        for name in order:
            if name in batches:
                buffer = io.BytesIO()
                Python2Pickler(buffer, protocol=2).dump(batches[name])
                payload = buffer.getvalue()
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return path
