"""A streamed dataset: image (and mask) files with labels, decoded by tf.data as batches are drawn.

For photo folders bigger than memory (``xaiexp.dataset.data.folder``). Only the decoding methods
the Pipeline calls import TensorFlow, so building, splitting and inspecting one stays light.
"""

import numpy as np

from xaiexp.dataset.numpy_dataset import split_rows


def parse_image_size(image_size):
    """(height, width) from an int (a square) or a pair of positive ints."""
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size or ())
    if len(size) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size):
        raise ValueError(f"image_size must be a positive int or (height, width), got {image_size!r}")
    return size


class FileDataset:
    """Rows of (image path, integer label[, mask path]); batches are decoded from the files.

    Batch keys: ``"x"``, float32 (H, W, 3) in 0..255: a JPEG, PNG, BMP or GIF (first frame) of
    any size and mode, as RGB, resized bilinearly to ``image_size`` (H, W) as Keras'
    ``image_dataset_from_directory`` does; ``"y"``, int64; and each key of ``masks`` ({batch key,
    e.g. "mask" or "decoy_mask": one mask file per path}), float32 (H, W, 1): 1 where any colour
    channel of the mask file is non-zero (alpha is ignored), resized nearest-neighbour so it
    stays 0/1.

    ``label_mapping`` (class name -> label) travels with the data, as NumpyDataset's does, and
    ``split`` moves rows out into a new dataset with exactly NumpyDataset's semantics.
    ``stored_size``: the (H, W) the files have before resizing (their median), when known.
    """

    def __init__(self, paths, labels, image_size, label_mapping=None, masks=None, stored_size=None):
        self.columns = {"x": np.asarray(paths, dtype=object), "y": np.asarray(labels, np.int64)}
        for key, mask_paths in (masks or {}).items():
            self.columns[key] = np.asarray(mask_paths, dtype=object)
        lengths = {key: len(value) for key, value in self.columns.items()}
        if len(set(lengths.values())) != 1 or self.columns["y"].ndim != 1:
            raise ValueError(f"FileDataset needs one label (and mask) per path; lengths: {lengths}")
        self.image_size = parse_image_size(image_size)
        self.label_mapping = dict(label_mapping) if label_mapping else None
        self.stored_size = stored_size

    def __len__(self):
        return len(self.columns["y"])

    @property
    def keys(self):
        """The keys of every batch drawn from this dataset: ("x", "y"[, mask keys])."""
        return tuple(self.columns)

    @property
    def mask_keys(self):
        return tuple(key for key in self.columns if key not in ("x", "y"))

    def shape(self, key):
        """One decoded sample's shape under ``key``: (H, W, 3) for "x", () for "y", (H, W, 1)
        for a mask."""
        if key not in self.columns:
            raise KeyError(key)
        return {"x": (*self.image_size, 3), "y": ()}.get(key, (*self.image_size, 1))

    def split(self, *fractions, seed=None):
        """Remove rows from this dataset and return them as new dataset(s), as
        ``NumpyDataset.split`` does (same fractions, same rows for the same seed)."""
        parts, kept = split_rows(len(self), fractions, seed)
        parts = [self._rows(rows) for rows in parts]
        self.columns = self._rows(kept).columns
        return parts[0] if len(parts) == 1 else parts

    def _rows(self, rows):
        return FileDataset(self.columns["x"][rows], self.columns["y"][rows], self.image_size,
                           self.label_mapping, {key: self.columns[key][rows] for key in self.mask_keys},
                           self.stored_size)

    def rows(self, order):
        """{key: column} of the rows in ``order`` (paths and labels, undecoded), for ``decode``."""
        return {key: value[order] for key, value in self.columns.items()}

    def row_signature(self):
        """tf.TensorSpecs of ``rows``' columns."""
        import tensorflow as tf

        return {key: tf.TensorSpec((None,), tf.int64 if key == "y" else tf.string) for key in self.columns}

    def decode(self, row):
        """One row of ``rows`` -> one sample, in TensorFlow ops (run in parallel by tf.data)."""
        import tensorflow as tf

        image = tf.io.decode_image(tf.io.read_file(row["x"]), channels=3, expand_animations=False)
        sample = {"x": tf.image.resize(image, self.image_size, method="bilinear"), "y": row["y"]}
        for key in self.mask_keys:
            mask = tf.io.decode_image(tf.io.read_file(row[key]), channels=3, expand_animations=False)
            mask = tf.cast(tf.reduce_max(mask, axis=-1, keepdims=True) > 0, tf.float32)
            sample[key] = tf.image.resize(mask, self.image_size, method="nearest")
        return sample
