"""Pre-flight of the dataset a config names: a built-in loader's ``inspect`` makes every check
its ``load_data`` makes, reading as little as it can, and the config's dataset keys must fit what
it found (class names, split sizes, memory, normalize's channels). No TensorFlow."""

import functools
import importlib
import os
import sys

from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.paths import path_arguments
from xaiexp.app.config.validate import dataset_keys, require, resolved, target_arguments
from xaiexp.dataset.data.summary import held_out
from xaiexp.util.errors import ConfigError


def dataset_summary(data):
    """The built-in loader's ``Summary`` (class names, image shape) of the dataset node ``data``,
    or None for a user's loader; raises ConfigError naming the key that points at the problem."""
    target = data._target_
    if target not in target_schemas():
        return None
    arguments = resolved(data, target_arguments(data, "dataset"))
    paths = tuple(path_arguments(data, "dataset").items())
    hashable = tuple(sorted((name, tuple(value) if isinstance(value, list) else value)
                            for name, value in arguments.items()))
    return _summary(target, hashable, paths, tuple(_stamp(path) for _, path in paths))


@functools.lru_cache(maxsize=32)
def _summary(target, arguments, paths, stamp):
    from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError

    module = importlib.import_module(target.rpartition(".")[0])
    try:
        return module.inspect(**dict(arguments))
    except (DatasetFormatError, DatasetNotFoundError) as error:
        raise ConfigError(_blamed(str(error), paths), str(error)) from None


def _blamed(message, paths):
    """The key of the path argument that ``message`` names first (e.g. dataset.masks for a
    mask file), else ``dataset``."""
    # of paths found at one place, the longest; of keys with one path, the one named first
    found = [(message.find(path), -len(path), _word_at(message, key), f"dataset.{key}")
             for key, path in paths if path in message]
    return min(found)[-1] if found else "dataset"


def _word_at(message, word):
    """Where ``word`` first stands alone in ``message`` (len(message) if nowhere)."""
    at = message.find(f" {word} ")
    return len(message) if at < 0 else at


def dataset_source(dataset):
    """What messages call the dataset: its path, else its loader's module name."""
    return dataset.get("path") or dataset._target_.split(".")[-2]


def check_dataset(dataset, summary):
    """The dataset keys against ``summary``, what the loader found; raises ConfigError naming
    the key, or warns when the images are resized far from their own size."""
    data, source = dataset_keys(dataset), dataset_source(dataset)
    classes = summary.class_names
    if data.class_names is not None and len(data.class_names) != len(classes):
        listing = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise ConfigError("dataset.class_names", f"{len(data.class_names)} names given, but "
                                                 f"{source} has {len(classes)} classes ({listing})")
    _check_rows(dataset, data.test_split, summary.rows, source)
    _check_memory(dataset, summary.in_memory, source)
    if summary.stored_size:
        _warn_resizing(summary.stored_size, summary.image_shape[:2], source)
    channels = summary.image_shape[2]
    for key in ("mean", "std") if data.normalize is not None else ():
        count = len(data.normalize[key])
        require(count in (1, channels), f"dataset.normalize.{key}",
                f"has {count} values, but {source} images have {channels} channel(s): "
                f"give 1 value" + (f" or {channels}" if channels > 1 else ""))


def _check_rows(dataset, test_split, rows, source):
    """Without a test split of its own, the dataset's eval images must yield one (and keep one)
    under ``dataset.test_split``: an empty split stops the first epoch that reads it."""
    if len(rows) != 2:
        return
    try:
        held_out(rows[1], test_split)
    except ValueError as error:
        key = next((f"dataset.{key}" for key in ("n_eval", "path") if key in dataset), "dataset.test_split")
        raise ConfigError(key, f"{source} has {rows[1]} eval image(s), too few to split "
                               f"dataset.test_split={test_split:g} of them off as the test split "
                               f"({error}); train, eval and test need an image each") from None


def _check_memory(dataset, needed, source):
    """A dataset loaded into memory must fit this machine's: past it, the kernel kills the job
    (and maybe its neighbours) with no message at all."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > total:
        key = next((f"dataset.{key}" for key in ("n_train", "path") if key in dataset), "dataset")
        raise ConfigError(key, f"{source} takes ~{needed / 2 ** 30:,.1f} GiB of memory to load (fewer "
                               f"or smaller images?); this machine has {total / 2 ** 30:,.1f} GiB")


RESIZE_FACTOR = 2  # images resized further than this (up or down) from their own size: a warning


def _warn_resizing(stored, size, source):
    """A warning when ``dataset.image_size`` (``size``, H x W) is more than RESIZE_FACTOR times
    the images' own size (``stored``, their median): 64 px photos blown up to 224 train ~12x
    slower and show nothing new, 2000 px photos squeezed to 32 lose what tells the classes."""
    ratios = [new / old for new, old in zip(size, stored)]
    if max(ratios) > RESIZE_FACTOR:
        change = f"{max(ratios):.3g}× up"
    elif min(ratios) < 1 / RESIZE_FACTOR:
        change = f"{1 / min(ratios):.3g}× down"
    else:
        return
    _warn_once(f"dataset.image_size: {_hxw(size)} resizes the images of {source} (median "
               f"{_hxw(stored)}) {change}")


def _hxw(size):
    return "×".join(map(str, size))


@functools.cache
def _warn_once(message):
    """One warning line, once per process (a sweep checks every job's config)."""
    print(f"xaiexp: warning: {message}", file=sys.stderr, flush=True)


def _stamp(path):
    """Changes when the file (or a folder's files) changes: part of the memo key."""
    try:
        entries = [path] + ([os.path.join(path, e) for e in sorted(os.listdir(path))[:64]]
                            if os.path.isdir(path) else [])
        return tuple((e, s.st_mtime_ns, s.st_size) for e in entries for s in [os.lstat(e)])
    except OSError:  # missing or unreadable: the check itself will say why
        return None
