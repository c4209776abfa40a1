"""The user's own images from one ``.npz`` file (``numpy.savez``), checked before training starts.

Keys in the file:

- ``x``: images, (N, H, W, C) or grayscale (N, H, W) (a channel axis is added); ``y``: integer
  labels, (N,) or (N, 1), of two classes or more; ``mask`` (optional): per-pixel ground truth,
  (N, H, W) or (N, H, W, 1); ``decoy_mask`` (optional, shaped as ``mask``): where a shortcut may
  sit (nonzero: decoy).
- ``x_eval``, ``y_eval`` (and ``mask_eval``, ``decoy_mask_eval`` when there is a ``mask``, a
  ``decoy_mask``), optional: a ready eval split. Without them ``eval_fraction`` of the rows is
  held out at random.
- ``class_names`` (optional): strings, name of label 0, 1, ...

Every problem is reported as one line naming the file and what was expected, rather than
as a shape error deep inside the first training step.
"""

import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from xaiexp.dataset.data import _cache, values
from xaiexp.dataset.data.errors import DatasetFormatError
from xaiexp.dataset.data.summary import Summary, held_out, too_few_classes
from xaiexp.dataset.keys import DatasetKeys
from xaiexp.dataset.numpy_dataset import NumpyDataset
from xaiexp.util.bounds import bounded


EXPECTED = "an .npz file with arrays x and y"
_SMALL = ("y", "y_eval", "class_names")  # what inspect() reads in full; of the rest, headers only
MASKS = ("mask", "decoy_mask")  # optional per-pixel arrays; their eval arrays end in "_eval"


@dataclass
class NpzConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.npz.load_data"
    path: str = "???"
    eval_fraction: float = bounded(0.2, above=0, below=1)
    seed: int = 0


SCHEMAS = (NpzConfig,)


def load_data(path, eval_fraction=NpzConfig.eval_fraction, seed=NpzConfig.seed, label_mapping=None,
              image_key="x", label_key="y", mask_key="mask", decoy_key="decoy_mask"):
    """``(train, eval)`` NumpyDatasets with ``image_key``, ``label_key`` and, if the file has
    them, ``mask_key`` and ``decoy_key``.

    ``label_mapping`` (class name -> label) overrides the file's ``class_names``; without
    either, labels are named ``"0"``, ``"1"``, ... ``seed`` fixes the random eval split.
    """
    path = _cache.local(path, EXPECTED)
    arrays = _read(path)
    parts, mapping, _ = _checked(path, arrays, lambda key: values.array_chunks(arrays[key]),
                                 label_mapping, eval_fraction)
    keys = {"x": image_key, "y": label_key, "mask": mask_key, "decoy_mask": decoy_key}
    train, *evaluation = (NumpyDataset({keys[key]: value.astype(np.int64) if key == "y" else value
                                        for key, value in part.items()}, mapping) for part in parts)
    return train, evaluation[0] if evaluation else train.split(eval_fraction, seed=seed)


def inspect(path, eval_fraction=NpzConfig.eval_fraction, seed=NpzConfig.seed, label_mapping=None,
            **_):
    """The file's ``Summary``, after every check ``load_data`` makes (raising the same errors),
    without loading the images: labels and class names are read, of the other arrays only their
    .npy headers, and the images' values are streamed in chunks. Cheap enough to run before a
    job starts."""
    path = _cache.local(path, EXPECTED)
    parts, mapping, rows = _checked(path, _read(path, headers_only=True),
                                    lambda key: _streamed(path, key), label_mapping, eval_fraction)
    names = sorted(mapping, key=mapping.get)
    return Summary(class_names=tuple(names), image_shape=tuple(parts[0]["x"].shape[1:]), rows=rows,
                   in_memory=sum(array.nbytes for part in parts for array in part.values()))


def _read(path, headers_only=False):
    """{key: array} of the .npz at ``path``; with ``headers_only``, arrays other than _SMALL are
    zero-copy stand-ins of the right shape and dtype (no data read)."""
    try:
        if path.is_dir():
            raise ValueError("this is a folder")
        with open(path, "rb") as head:
            if head.read(6) == b"\x93NUMPY":
                raise ValueError("this is a single .npy array")
        if not zipfile.is_zipfile(path):
            raise ValueError("this is not a zip archive, as numpy.savez writes")
        file = np.load(path, allow_pickle=False)
        with file:
            if strays := [name for name in file.zip.namelist() if not name.endswith(".npy")]:
                raise ValueError(f"members {strays[:5]} are not .npy arrays")
            return {key: _header(file, key) if headers_only and key not in _SMALL else file[key]
                    for key in file.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DatasetFormatError(f"{path}: expected an .npz of numeric arrays (numpy.savez): "
                                 f"{error!r}") from error


def _header(file, key):
    """A read-only array with the member's shape and dtype that costs no memory."""
    with file.zip.open(key + ".npy") as member:
        header = values.npy_header(member)
    if header is None:
        return file[key]  # a rarer format version: read it all
    shape, _, dtype = header
    if dtype.hasobject:
        raise ValueError(f"{key}: object arrays cannot be loaded when allow_pickle=False")
    return np.broadcast_to(np.zeros((), dtype), shape)


def _streamed(path, key):
    """The member ``key``'s values as flat chunks, read from the file a chunk at a time."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(key + ".npy") as member:
            yield from values.npy_chunks(member)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DatasetFormatError(f"{path}: {key} cannot be read: {error!r}") from error


def _checked(path, arrays, chunks, label_mapping, eval_fraction):
    """The file's parts ([train] or [train, eval], each {"x", "y"[, "mask"]}), its mapping and
    its rows as ``load_data`` returns them (train, eval). ``chunks(key)``: the member's values
    as flat chunks (from memory, or streamed from the file)."""
    check = _Checker(path, arrays, chunks)
    parts = [check.part("")]
    if {"x_eval", "y_eval"} & arrays.keys():
        parts.append(check.part("_eval", like=parts[0]))
    mapping = check.mapping(label_mapping, parts)
    check.classes(parts[0]["y"], mapping)
    if len(parts) == 2:
        return parts, mapping, (len(parts[0]["y"]), len(parts[1]["y"]))
    try:
        return parts, mapping, held_out(len(parts[0]["y"]), eval_fraction)
    except ValueError as error:
        check.fail(f"too few images to hold out eval_fraction={eval_fraction!r} for eval ({error})")


class _Checker:
    """Validates the arrays of one file; every failure is one line naming the file."""

    def __init__(self, path, arrays, chunks):
        self.path, self.arrays, self.chunks = path, arrays, chunks

    def fail(self, expected):
        raise DatasetFormatError(f"{self.path}: {expected}")

    def part(self, suffix, like=None):
        """{"x", "y"[, "mask"][, "decoy_mask"]} from the keys ending in ``suffix``; ``like``: the
        train part, whose image size and keys an eval part must share."""
        x_key, y_key = (key + suffix for key in ("x", "y"))
        missing = [key for key in (x_key, y_key) if key not in self.arrays]
        if missing:
            self.fail(f"expected array(s) {', '.join(missing)}; found {sorted(self.arrays)}")
        for name in MASKS:
            if like and (name in like) != (name + suffix in self.arrays):
                self.fail(f"{name} and {name + suffix} must come together; found {sorted(self.arrays)}")
        x, y = self.arrays[x_key], self.arrays[y_key]
        x = x[..., np.newaxis] if x.ndim == 3 else x
        if x.ndim != 4 or x.dtype.kind not in "uif" or not len(x):
            self.fail(f"{x_key} must be numeric images (N>0, H, W[, C]); got {x.dtype} {x.shape}")
        if like and x.shape[1:] != like["x"].shape[1:]:
            self.fail(f"{x_key} images are {x.shape[1:]}, x images {like['x'].shape[1:]}")
        y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1 or y.dtype.kind not in "ui" or (y.size and y.min() < 0):
            self.fail(f"{y_key} must be non-negative integer labels (N,); got {y.dtype} {y.shape}")
        if values.may_be_bad(x.dtype):
            bad = values.first_bad_pixel(self.chunks(x_key), int(np.prod(x.shape[1:])))
            if bad:
                self.fail(f"{x_key}[{bad[0]}] has a pixel value {bad[1]:.6g}: expected finite values "
                          f"within ±{values.MAX_PIXEL:g} (a NaN, an infinity or corrupt data)")
        part = {"x": x, "y": y}
        for name in (name for name in MASKS if name + suffix in self.arrays):
            mask = self.arrays[name + suffix]
            part[name] = mask[..., np.newaxis] if mask.ndim == 3 else mask
            if part[name].shape[1:] != x.shape[1:3] + (1,) or mask.dtype.kind not in "buif":
                self.fail(f"{name + suffix} must be (N, H, W[, 1]) numbers matching {x_key} "
                          f"{x.shape}; got {mask.dtype} {mask.shape}")
        lengths = {key + suffix: len(value) for key, value in part.items()}
        if len(set(lengths.values())) != 1:
            self.fail(f"arrays must have one row per sample; lengths differ: {lengths}")
        return part

    def classes(self, labels, mapping):
        """The training labels must hold two classes or more."""
        names = {label: name for name, label in mapping.items()}
        present = [names.get(label, label) for label in np.unique(labels).tolist()]
        if problem := too_few_classes(present):
            self.fail(f"y has {problem}")

    def mapping(self, given, parts):
        """Class name -> label: ``given``, else the file's ``class_names``, else "0", "1", ...
        for labels 0..K-1 (K distinct labels: each class has an image, so a stray label of 1000
        among ten classes is refused rather than make a model of 1001 classes)."""
        if given is None and "class_names" in self.arrays:
            names = self.arrays["class_names"]
            if names.ndim != 1 or names.dtype.kind not in "US":
                self.fail(f"class_names must be 1-D strings; got {names.dtype} {names.shape}")
            given = {name: label for label, name in enumerate(names.astype(str).tolist())}
        named = given is not None
        if not named:
            classes = len(np.unique(np.concatenate([part["y"] for part in parts])))
            given = {str(label): label for label in range(classes)}
        for suffix, part in zip(("", "_eval"), parts):
            bad = values.first_label_outside(part["y"], list(given.values()))
            if bad and named:
                self.fail(f"y{suffix}[{bad[0]}] = {bad[1]} has no class name in {_shown(given)}")
            if bad:
                self.fail(f"y{suffix}[{bad[0]}] = {bad[1]}: without class_names the labels must be "
                          f"0..{len(given) - 1} ({len(given)} distinct labels, each class with an "
                          f"image); name the classes with class_names to have more")
        return dict(given)


def _shown(mapping, most=10):
    """A mapping for a message: its first ``most`` entries."""
    items = list(mapping.items())
    return "{" + ", ".join(f"{name!r}: {label}" for name, label in items[:most]) + \
        (", ...}" if len(items) > most else "}")
