"""An image-classification dataset prepared by TensorFlow Datasets (``tensorflow-datasets``).

Read from where ``tfds`` prepared it, ``<data_dir>/<name>[/<config>]/<version>/`` (``data_dir``
defaults to ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``), without the dataset's builder
code and never downloading: prepare it first (``tfds build <name> --data_dir ...``). The splits
are loaded into memory as NumpyDatasets (images of one size stay as stored, e.g. uint8; with
``image_size`` every image is resized bilinearly to float32, as the folder loader does), with
class names from the dataset's ClassLabel feature.

``inspect`` reads only the prepared dataset's ``dataset_info.json`` and ``features.json`` (no
TensorFlow) and makes every check ``load_data`` makes before it reads a record.
"""

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError
from xaiexp.dataset.data.summary import Summary
from xaiexp.dataset.file_dataset import parse_image_size
from xaiexp.dataset.keys import DatasetKeys
from xaiexp.dataset.numpy_dataset import NumpyDataset

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass
class TfdsConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.tfds.load_data"
    name: str = "???"  # a tensorflow-datasets name, e.g. oxford_flowers102
    data_dir: Optional[str] = None  # null: tensorflow-datasets' default (~/tensorflow_datasets)
    image_size: Optional[int] = None  # null: the dataset's own size (must be fixed)
    train_split: str = "train"  # split names in tfds' syntax, e.g. train[:80%]
    eval_split: str = "test"
    test_split_name: Optional[str] = None  # null: test_split of eval is held out


SCHEMAS = (TfdsConfig,)


def load_data(name, data_dir=None, image_size=None, train_split=TfdsConfig.train_split,
              eval_split=TfdsConfig.eval_split, test_split_name=None, image_key="image",
              label_key="label"):
    """``(train, eval)`` NumpyDatasets with keys "x" (images) and "y" (int64 labels), or
    ``(train, eval, test)`` with ``test_split_name`` (a split name; xaiexp's ``test_split`` is the
    share of eval held out otherwise).

    ``name``: "mnist", "name/config", "name:1.2.0". Splits take tfds' syntax, so
    ``train_split="train[:80%]", eval_split="train[80%:]"`` holds out part of "train".
    ``image_size``: an int or (height, width); needed when the images differ in size.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    folder, splits, names, shape = _checked(name, data_dir, image_size, train_split, eval_split,
                                            test_split_name, image_key, label_key)
    builder = tfds.builder_from_directory(str(folder))
    mapping = {class_name: label for label, class_name in enumerate(names)}

    def example(record):
        image = record[image_key]
        return tf.image.resize(image, shape[:2]) if image_size else image, record[label_key]

    def in_memory(split):
        records = builder.as_dataset(split=split, shuffle_files=False)
        batches = list(records.map(example, num_parallel_calls=tf.data.AUTOTUNE).batch(256).as_numpy_iterator())
        x, y = (np.concatenate(column) for column in zip(*batches))
        return NumpyDataset({"x": x, "y": y.astype(np.int64)}, mapping)

    return tuple(in_memory(split) for split in splits)


def inspect(name, data_dir=None, image_size=None, train_split=TfdsConfig.train_split,
            eval_split=TfdsConfig.eval_split, test_split_name=None, image_key="image",
            label_key="label"):
    """The prepared dataset's ``Summary`` (class names, one image's shape after ``image_size``),
    from its JSON metadata alone, after every check ``load_data`` makes."""
    _, _, names, shape = _checked(name, data_dir, image_size, train_split, eval_split, test_split_name,
                                  image_key, label_key)
    return Summary(class_names=tuple(names), image_shape=shape)


def _checked(name, data_dir, image_size, train_split, eval_split, test_split_name, image_key, label_key):
    """(the prepared dataset's folder, the splits to read, class names, image shape)."""
    folder = _folder(name, data_dir)
    info, features = (_json(folder / file) for file in ("dataset_info.json", "features.json"))
    have = [split.get("name") for split in info.get("splits", [])]
    splits = [split for split in (train_split, eval_split, test_split_name) if split is not None]
    for split in splits:
        for part in split.split("+"):
            if part.split("[")[0].strip() not in have:
                raise DatasetFormatError(f"{folder / 'dataset_info.json'}: no split {part!r} "
                                         f"(from {split!r}); it has {have}")
    found = features.get("featuresDict", {}).get("features", {})
    image, label = found.get(image_key, {}), found.get(label_key, {})
    if not image.get("pythonClassName", "").endswith(".Image"):
        raise DatasetFormatError(f"{folder / 'features.json'}: no image feature {image_key!r} "
                                 f"(set image_key); features: {sorted(found)}")
    if "classLabel" not in label:
        raise DatasetFormatError(f"{folder / 'features.json'}: no class label feature {label_key!r} "
                                 f"(set label_key); features: {sorted(found)}")
    stored = tuple(int(n) for n in image["image"]["shape"]["dimensions"])
    shape = (*parse_image_size(image_size), stored[-1]) if image_size else stored
    if len(shape) != 3 or min(shape) < 1:
        raise DatasetFormatError(f"{folder / 'features.json'}: images {image_key!r} have shape "
                                 f"{stored} (-1: varies); give image_size=(height, width)")
    return folder, splits, _class_names(folder, label_key, label["classLabel"]), shape


def _folder(name, data_dir):
    """``<data_dir>/<name>/<version>``, the newest version prepared there unless ``name`` has one."""
    root = Path(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()
    path, _, version = name.partition(":")
    base = root / path
    versions = [version] if version else sorted(
        (entry.name for entry in base.iterdir() if _VERSION.match(entry.name)) if base.is_dir() else (),
        key=lambda v: tuple(map(int, v.split("."))))
    if not versions or not (base / versions[-1] / "dataset_info.json").is_file():
        raise DatasetNotFoundError(f"{base / (version or '<version>')}: no prepared tfds dataset "
                                   f"{name!r} (prepare it first: tfds build {path} --data_dir {root})")
    return base / versions[-1]


def _json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetFormatError(f"{path}: unreadable tfds metadata ({error})") from None


def _class_names(folder, label_key, class_label):
    """Names from ``<label_key>.labels.txt`` (where tfds writes them), else "0", "1", ..."""
    names_file = folder / f"{label_key}.labels.txt"
    if names_file.is_file():
        return [line for line in names_file.read_text().splitlines() if line]
    return [str(label) for label in range(int(class_label.get("numClasses", 0)))]

