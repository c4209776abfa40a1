"""The user's own photos, one sub-folder per class, streamed from disk (too big for memory is fine).

::

    path/                     masks/ (optional, mirrors path)
      cat/ 001.jpg 002.png      cat/ 001.png 002.png
      dog/ 003.jpeg ...         dog/ 003.png ...

As Keras' ``image_dataset_from_directory`` reads it: the sorted sub-folder names are the classes,
labels 0, 1, ...; images are the ``.bmp .gif .jpeg .jpg .png`` files found in a class folder and
its sub-folders (any size, any mode: grayscale and RGBA become RGB); other files and hidden
entries are ignored. Symbolic links are followed, but each folder and each image file is read
once: a link back up the tree (which would make the walk loop), a second way into a folder, or
a second name (symbolic or hard link) for an image is refused, naming the link, since a copy
of an image could be held out for eval while the original trains. The mask of
``path/cat/a/001.jpg`` is the one file ``masks/cat/a/001.<ext>``
with any of those extensions (so JPEG photos may have PNG masks), of the image's size; a pixel
is object where any colour channel is non-zero.

Every file is decoded with Pillow before training starts (by ``load_data`` and ``inspect`` alike,
through one checker), so a corrupt image fails at once as one line naming the file rather than
inside tf.data mid-epoch. ``inspect`` never imports TensorFlow.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from xaiexp.dataset.data import _cache
from xaiexp.dataset.data.errors import DatasetFormatError
from xaiexp.dataset.data.summary import Summary, held_out
from xaiexp.dataset.file_dataset import FileDataset, parse_image_size

SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
FORMATS = ("BMP", "GIF", "JPEG", "PNG")  # Pillow's names for what tf.io.decode_image reads
EXPECTED = "a folder with one sub-folder of images per class"


def load_data(path, image_size=224, masks=None, eval_path=None, test_path=None, eval_split=0.2,
              seed=0, eval_masks=None, test_masks=None):
    """``(train, eval)`` FileDatasets, or ``(train, eval, test)`` with ``test_path``.

    ``image_size``: an int or (height, width) every image is resized to. Without ``eval_path``,
    ``eval_split`` (a fraction or a number of images) of ``path`` is held out at random with
    ``seed``. With ``masks``, every folder needs its mask folder: ``eval_masks`` for
    ``eval_path``, ``test_masks`` for ``test_path``.
    """
    folders, mapping, size = _checked(path, image_size, masks, eval_path, test_path, eval_split,
                                      eval_masks, test_masks)
    train, *others = (FileDataset(f.paths, f.labels, size, mapping, f.masks) for f in folders)
    if eval_path is None:
        others.insert(0, train.split(eval_split, seed=seed))
    return (train, *others)


def inspect(path, image_size=224, masks=None, eval_path=None, test_path=None, eval_split=0.2,
            seed=0, eval_masks=None, test_masks=None):
    """The folder's ``Summary`` after every check ``load_data`` makes (raising the same errors),
    without TensorFlow: cheap enough to run before a job starts."""
    folders, mapping, size = _checked(path, image_size, masks, eval_path, test_path, eval_split,
                                      eval_masks, test_masks)
    rows = [len(folder.paths) for folder in folders]
    if eval_path is None:
        rows[:1] = held_out(rows[0], eval_split)
    return Summary(class_names=tuple(mapping), image_shape=(*size, 3), rows=tuple(rows))


class _Folder(NamedTuple):
    """One checked image folder: parallel lists of image paths, labels and mask paths."""
    paths: list
    labels: list
    masks: list | None


def _checked(path, image_size, masks, eval_path, test_path, eval_split, eval_masks, test_masks):
    """([train, eval?, test?] _Folders, class name -> label, (H, W)); every file decoded once."""
    size = parse_image_size(image_size)
    pairs = [(path, masks)] + [(folder, mask) for folder, mask in
                               ((eval_path, eval_masks), (test_path, test_masks)) if folder is not None]
    classes, folders, roots = None, [], []
    for folder, mask_folder in pairs:
        root = _root(folder)
        if (masks is None) != (mask_folder is None):
            raise DatasetFormatError(f"{root}: give masks for every image folder or for none "
                                     f"(masks={masks!r}, and eval_masks/test_masks)")
        classes = _classes(root, like=classes and (_root(path), classes))
        folders.append(_scan(root, classes, None if mask_folder is None else _root(mask_folder)))
        roots.append(root)
    _check_read_once(roots, folders)
    if eval_path is None:
        _check_split(_root(path), len(folders[0].paths), eval_split)
    _decode_all(folders)
    return folders, {name: label for label, name in enumerate(classes)}, size


def _root(folder):
    root = _cache.local(folder, EXPECTED)
    if not root.is_dir():
        raise DatasetFormatError(f"{root}: is a file; expected {EXPECTED}")
    return root


def _classes(root, like=None):
    """The sorted names of the class sub-folders (hidden ones ignored); ``like``: (a folder, its
    classes), which these must equal."""
    names = sorted(entry.name for entry in os.scandir(root)
                   if entry.is_dir() and not entry.name.startswith("."))
    if not names:
        loose = len(_images(root, recursive=False))
        raise DatasetFormatError(f"{root}: no class sub-folders ({loose} images directly in it); "
                                 f"expected {root}/<class name>/<images>")
    if like and names != like[1]:
        missing, extra = sorted(set(like[1]) - set(names)), sorted(set(names) - set(like[1]))
        raise DatasetFormatError(f"{root}: class folders differ from those of {like[0]}: "
                                 f"missing {missing[:5]}, extra {extra[:5]}")
    return names


def _images(folder, recursive=True):
    """Image files under ``folder`` by extension (hidden entries skipped), sorted; links to
    folders are followed, a folder reached twice is refused (``_check_new_folder``)."""
    found, seen = [], {_identity(folder): Path(folder)}
    for parent, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [name for name in dirs if recursive and not name.startswith(".")]
        for name in dirs:
            _check_new_folder(Path(parent, name), seen, Path(folder))
        found += [Path(parent, name) for name in files
                  if not name.startswith(".") and name.lower().endswith(SUFFIXES)]
    return sorted(found)


def _identity(path):
    """(device, inode): the same for every name of one file or folder; None if unreadable."""
    try:
        status = os.stat(path)
    except OSError:  # a dangling link or no permission: the decoding check names it
        return None
    return status.st_dev, status.st_ino


def _check_new_folder(path, seen, top):
    """``path`` (under ``top``) is a folder the walk has not read yet: a link back to a folder
    above it would make ``os.walk`` go round until paths grow too long (for a link to a parent
    folder, through exponentially many paths)."""
    identity = _identity(path)
    first = seen.setdefault(identity, path) if identity else path
    if first == path:
        return
    if path.is_relative_to(first):
        link = _link_on(path, first) or path
        raise DatasetFormatError(f"{link}: a link to {os.path.realpath(link)}, a folder that holds it, "
                                 f"so the folder walk would loop; remove the link")
    link = _link_on(path, top)
    if link is None and (link := _link_on(first, top)):
        first = path  # the walk met the link first, then the folder it points at
    link = link or path
    raise DatasetFormatError(f"{link}: a link to {os.path.realpath(link)}, whose images are already "
                             f"read as {first}: each would count twice; remove the link")


def _link_on(path, top):
    """The deepest symbolic link among ``path`` and its parents below ``top``, or None: the
    link through which a walk from ``top`` reached ``path``."""
    for candidate in (path, *path.parents):
        if candidate == top:
            return None
        if candidate.is_symlink():
            return candidate
    return None


def _check_read_once(roots, folders):
    """Each image file of the image folders ``roots`` (their ``folders``) appears once: under a
    second name, a copy could be held out for eval or test while the original trains."""
    first = {}
    for root, folder in zip(roots, folders):
        for path in map(Path, folder.paths):
            identity = _identity(path)
            if identity in first:
                raise DatasetFormatError(_second_name(first[identity], (root, path)))
            if identity is not None:
                first[identity] = (root, path)


def _second_name(*named):
    """One line for one image file read under two names, ``named`` as (root, path): it names
    the link (a file's, or a folder's on the way), else calls it a hard link."""
    (root, path), (other_root, other) = named
    link = _link_on(other, other_root)
    if link is None and (swapped := _link_on(path, root)):
        link, path, other = swapped, other, path
    why = "each image must appear once (a copy could be held out for eval while the original trains)"
    if link is None:
        return f"{other}: a hard link to {path}, an image already in the dataset; {why}"
    what = "a link to" if link == other else f"a link through which {other} is the same file as"
    return f"{link}: {what} {path}, an image already in the dataset; {why}; remove the link"


def _scan(root, classes, mask_root):
    """The _Folder of ``root``'s classes; with ``mask_root``, each image paired with its mask."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        images = _images(root / name)
        if not images:
            raise DatasetFormatError(f"{root / name}: empty class folder (no {' '.join(SUFFIXES)} files)")
        paths += images
        labels += [label] * len(images)
    masks = None if mask_root is None else _pair_masks(root, paths, mask_root, classes)
    return _Folder([str(p) for p in paths], labels, masks)


def _pair_masks(root, paths, mask_root, classes):
    """Each image's mask path: same relative folder and stem under ``mask_root``, any extension."""
    def by_stem(files, base):
        index = {}
        for file in files:
            key = file.relative_to(base).with_suffix("")
            if key in index:
                raise DatasetFormatError(f"{file}: same name as {index[key]} but for the extension; "
                                         f"masks are matched to images by name, so one must go")
            index[key] = file
        return index

    _classes(mask_root, like=(root, classes))
    images = by_stem(paths, root)
    masks = by_stem([file for name in classes for file in _images(mask_root / name)], mask_root)
    if missing := sorted(images.keys() - masks.keys()):
        raise DatasetFormatError(f"{images[missing[0]]}: no mask {mask_root / missing[0]}.<"
                                 f"{'|'.join(s[1:] for s in SUFFIXES)}> ({len(missing)} images lack one)")
    if strays := sorted(masks.keys() - images.keys()):
        raise DatasetFormatError(f"{masks[strays[0]]}: mask without an image {root / strays[0]}.* "
                                 f"({len(strays)} such masks)")
    return [str(masks[key]) for key in images]


def _check_split(root, count, eval_split):
    """The eval hold-out must leave images on both sides."""
    try:
        held_out(count, eval_split)
    except ValueError as error:
        raise DatasetFormatError(f"{root}: eval_split={eval_split!r} of {count} images: {error}") from None


def _decode_all(folders, chunk=4096):
    """Decode every image and mask (in threads: Pillow decodes without the GIL); a mask must
    have its image's size."""
    files = [file for folder in folders for file in (*folder.paths, *(folder.masks or ()))]
    sizes = {}
    with ThreadPoolExecutor() as pool:
        for start in range(0, len(files), chunk):
            sizes.update(zip(files[start:start + chunk], pool.map(_decoded_size, files[start:start + chunk])))
    for folder in folders:
        for image, mask in zip(folder.paths, folder.masks or ()):
            if sizes[mask] != sizes[image]:
                raise DatasetFormatError(f"{mask}: mask is {_wxh(sizes[mask])} but its image {image} "
                                         f"is {_wxh(sizes[image])}")


def _decoded_size(file):
    """(width, height) of an image file, after decoding it in full with Pillow: ``verify`` checks
    a PNG's checksums, ``load`` every pixel (a JPEG at 1/8 scale, which still reads every byte,
    so truncation shows)."""
    try:
        with Image.open(file) as image:
            kind, size = image.format, image.size
            image.verify()
        with Image.open(file) as image:
            if kind == "JPEG":
                image.draft(image.mode, (size[0] // 8, size[1] // 8))
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DatasetFormatError(f"{file}: corrupt or truncated image ({reason})") from None
    if kind not in FORMATS:
        raise DatasetFormatError(f"{file}: a {kind} image; expected one of {', '.join(FORMATS)}")
    return size


def _wxh(size):
    return f"{size[0]}x{size[1]}"
