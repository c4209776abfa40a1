"""An in-memory dataset: a dict of equally long arrays, one row per sample."""

import numpy as np


class NumpyDataset:
    """``NumpyDataset({"x": x, "y": y})``; rows are samples, keys are what ops and models read.

    ``label_mapping`` (class name -> integer label) travels with the data, so traces and figures
    can show class names. ``split`` moves rows out into a new dataset, as FastEstimator's does.
    """

    def __init__(self, data, label_mapping=None):
        if not data:
            raise ValueError("NumpyDataset needs at least one key")
        self.data = {key: np.asarray(value) for key, value in data.items()}
        lengths = {key: len(value) for key, value in self.data.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"NumpyDataset arrays differ in length: {lengths}")
        self.label_mapping = dict(label_mapping) if label_mapping else None

    def __len__(self):
        return len(next(iter(self.data.values())))

    def __getitem__(self, index):
        return {key: value[index] for key, value in self.data.items()}

    @property
    def keys(self):
        """The keys of every batch drawn from this dataset, e.g. ("x", "y")."""
        return tuple(self.data)

    def shape(self, key):
        """One sample's shape under ``key``, e.g. (32, 32, 3) for "x" and () for "y"."""
        return self.data[key].shape[1:]

    def split(self, *fractions, seed=None):
        """Remove rows from this dataset and return them as new dataset(s).

        Each fraction is a float in (0, 1) (a share of the rows present before the split) or a
        positive int (a number of rows). One fraction returns one dataset, several a list.
        ``seed`` makes the choice of rows reproducible.
        """
        parts, kept = split_rows(len(self), fractions, seed)
        parts = [NumpyDataset({k: v[rows] for k, v in self.data.items()}, self.label_mapping)
                 for rows in parts]
        self.data = {key: value[kept] for key, value in self.data.items()}
        return parts[0] if len(parts) == 1 else parts


def split_rows(total, fractions, seed=None):
    """``(parts, kept)``: sorted row indices of each part and of what remains, for datasets'
    ``split(*fractions, seed)`` (see ``NumpyDataset.split``), so every kind splits alike."""
    sizes = split_sizes(total, fractions)
    order = np.random.default_rng(seed).permutation(total)
    ends = np.cumsum(sizes)
    parts = [np.sort(order[end - size:end]) for size, end in zip(sizes, ends)]
    return parts, np.sort(order[ends[-1]:])


def split_sizes(total, fractions):
    """The row count of each part that ``split(*fractions)`` takes from ``total`` rows: a
    ValueError when a part would be empty or nothing would remain (an empty split stops the
    first epoch that reads it), so loaders can check a split before loading anything."""
    if not fractions:
        raise ValueError("split needs at least one fraction")
    sizes = []
    for fraction in fractions:
        if isinstance(fraction, float) and 0 < fraction < 1:
            sizes.append(int(round(total * fraction)))
        elif isinstance(fraction, int) and not isinstance(fraction, bool) and 0 < fraction:
            sizes.append(fraction)
        else:
            raise ValueError(
                f"split fraction must be a float in (0, 1) or a positive int, got {fraction!r}")
        if not sizes[-1]:
            raise ValueError(f"{fraction!r} of {total} rows rounds to 0 rows")
    if sum(sizes) >= total:
        raise ValueError(f"cannot split {sum(sizes)} of {total} rows: nothing would remain")
    return sizes
