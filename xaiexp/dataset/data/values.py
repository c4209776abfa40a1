"""Checks of a dataset's values, not only its shapes, cheap enough to run before training.

A NaN or infinite pixel, or one of absurd magnitude, trains to a NaN loss or a model that learnt
nothing; the checks stream the pixels in chunks (a pre-flight check of a large file holds one
chunk, not the file) and name the first bad image, so the user can find it.
"""

import numpy as np

# No image format stores larger values (16-bit images reach 65,535, half floats 65,504); a
# pixel past this is a unit mistake or corruption, and squares of ~1e19 overflow float32.
MAX_PIXEL = 1e6
CHUNK_BYTES = 1 << 24


def may_be_bad(dtype):
    """Whether pixels of ``dtype`` can be non-finite or beyond MAX_PIXEL at all (uint8 cannot)."""
    return dtype.kind == "f" or (dtype.kind in "iu" and dtype.itemsize > 2)


def first_bad_pixel(chunks, image_size):
    """(image index, value) of the first NaN, infinity or magnitude beyond MAX_PIXEL in an image
    array given as C-order flat ``chunks`` of ``image_size`` values an image; None if none."""
    start = 0
    for chunk in chunks:
        if len(chunk) and not (-MAX_PIXEL <= chunk.min() and chunk.max() <= MAX_PIXEL):  # NaN: False
            at = int(np.argmax(~((chunk >= -MAX_PIXEL) & (chunk <= MAX_PIXEL))))
            return (start + at) // image_size, chunk[at].item()
        start += len(chunk)
    return None


def array_chunks(array):
    """An in-memory array as flat chunks of about CHUNK_BYTES."""
    flat = array.reshape(-1)
    step = max(1, CHUNK_BYTES // max(1, array.itemsize))
    return (flat[start:start + step] for start in range(0, len(flat), step))


def npy_header(member):
    """(shape, fortran_order, dtype) of a .npy stream, left at its data; None for a format
    version that numpy's public readers do not parse (the caller then reads the array whole)."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    reader = readers.get(np.lib.format.read_magic(member))
    return reader(member) if reader else None


def npy_chunks(member):
    """A .npy stream (an open ``.npz`` member) as flat chunks, read CHUNK_BYTES at a time; a
    Fortran-ordered array or a rarer format version is read whole."""
    header = npy_header(member)
    if header is None or header[1]:
        member.seek(0)
        yield np.lib.format.read_array(member, allow_pickle=False).reshape(-1)
        return
    shape, _, dtype = header
    left = int(np.prod(shape)) * dtype.itemsize
    while left:
        data = member.read(min(left, CHUNK_BYTES - CHUNK_BYTES % dtype.itemsize))
        if not data:
            raise ValueError(f"the array ends {left} bytes early: truncated file")
        left -= len(data)
        yield np.frombuffer(data, dtype)


def first_label_outside(labels, known):
    """(index, label) of the first of ``labels`` not among the ``known`` labels, or None; costs
    what sorting ``known`` costs, whatever the values (a label of 2**40 is no dearer than 1)."""
    bad = ~np.isin(labels, np.asarray(known))
    if not bad.any():
        return None
    at = int(np.argmax(bad))
    return at, labels[at].item()
