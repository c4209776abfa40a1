"""The user's own photos, one sub-folder per class, streamed from disk (too big for memory is fine).

::

    path/                     masks/ (optional, mirrors path)   decoy_masks/ (optional, too)
      cat/ 001.jpg 002.png      cat/ 001.png 002.png             cat/ 001.png 002.png
      dog/ 003.jpeg ...         dog/ 003.png ...                 dog/ 003.png ...

As Keras' ``image_dataset_from_directory`` reads it: the sorted sub-folder names are the classes,
labels 0, 1, ...; images are the ``.bmp .gif .jpeg .jpg .png`` files found in a class folder and
its sub-folders (any size, any mode: grayscale and RGBA become RGB); other files and hidden
entries are ignored. Symbolic links are followed, but each folder and each image file is read
once: a link back up the tree (which would make the walk loop), a second way into a folder, or
a second name (symbolic or hard link) for an image is refused, naming the link, since a copy
of an image could be held out for eval while the original trains. The mask of
``path/cat/a/001.jpg`` is the one file ``masks/cat/a/001.<ext>``
with any of those extensions (so JPEG photos may have PNG masks), of the image's size; a pixel
is object where any colour channel is non-zero. Decoy masks (where a shortcut may sit, e.g. a
watermark) are read the same way.

Every file is decoded with Pillow before training starts (by ``load_data`` and ``inspect`` alike,
through one checker), so a corrupt image fails at once as one line naming the file rather than
inside tf.data mid-epoch. ``inspect`` never imports TensorFlow.
"""

import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional

from xaiexp.dataset.data import _cache
from xaiexp.dataset.data.errors import DatasetFormatError
from xaiexp.dataset.data.summary import Summary, held_out, too_few_classes
from xaiexp.dataset.file_dataset import FileDataset, parse_image_size
from xaiexp.dataset.keys import DatasetKeys
from xaiexp.util.bounds import bounded

SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
FORMATS = ("BMP", "GIF", "JPEG", "PNG")  # Pillow's names for what tf.io.decode_image reads
EXPECTED = "a folder with one sub-folder of images per class"


@dataclass
class FolderConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.folder.load_data"
    path: str = "???"  # one sub-folder per class
    image_size: int = bounded(224, minimum=1)
    masks: Optional[str] = None  # a folder mirroring path: object masks, same file names
    eval_path: Optional[str] = None  # null: eval_split of path is held out
    test_path: Optional[str] = None  # null: test_split of eval is held out
    eval_masks: Optional[str] = None  # masks of eval_path (given with masks, with eval_path)
    test_masks: Optional[str] = None  # masks of test_path (given with masks, with test_path)
    # folders mirroring path, eval_path, test_path: where a shortcut may sit (decoy regions)
    decoy_masks: Optional[str] = None
    eval_decoy_masks: Optional[str] = None
    test_decoy_masks: Optional[str] = None
    eval_split: float = bounded(0.2, above=0, below=1)
    seed: int = 0


SCHEMAS = (FolderConfig,)


def load_data(path, image_size=FolderConfig.image_size, masks=None, eval_path=None, test_path=None,
              eval_split=FolderConfig.eval_split, seed=FolderConfig.seed, eval_masks=None,
              test_masks=None, decoy_masks=None, eval_decoy_masks=None, test_decoy_masks=None):
    """``(train, eval)`` FileDatasets, or ``(train, eval, test)`` with ``test_path``.

    ``image_size``: an int or (height, width) every image is resized to. Without ``eval_path``,
    ``eval_split`` (a fraction or a number of images) of ``path`` is held out at random with
    ``seed``. With ``masks``, every folder needs its mask folder: ``eval_masks`` for
    ``eval_path``, ``test_masks`` for ``test_path``; the same for ``decoy_masks`` (where a
    shortcut may sit, batch key "decoy_mask"), ``eval_decoy_masks`` and ``test_decoy_masks``.
    """
    checked = _checked(path, image_size, eval_path, test_path, eval_split,
                       _mask_folders(masks, eval_masks, test_masks, decoy_masks, eval_decoy_masks,
                                     test_decoy_masks))
    train, *others = (FileDataset(f.paths, f.labels, checked.size, checked.mapping, f.masks,
                                  checked.stored_size) for f in checked.folders)
    if eval_path is None:
        others.insert(0, train.split(eval_split, seed=seed))
    return (train, *others)


def inspect(path, image_size=FolderConfig.image_size, masks=None, eval_path=None, test_path=None,
            eval_split=FolderConfig.eval_split, seed=FolderConfig.seed, eval_masks=None,
            test_masks=None, decoy_masks=None, eval_decoy_masks=None, test_decoy_masks=None):
    """The folder's ``Summary`` after every check ``load_data`` makes (raising the same errors),
    without TensorFlow: cheap enough to run before a job starts."""
    checked = _checked(path, image_size, eval_path, test_path, eval_split,
                       _mask_folders(masks, eval_masks, test_masks, decoy_masks, eval_decoy_masks,
                                     test_decoy_masks))
    rows = [len(folder.paths) for folder in checked.folders]
    if eval_path is None:
        rows[:1] = held_out(rows[0], eval_split)
    return Summary(class_names=tuple(checked.mapping), image_shape=(*checked.size, 3),
                   rows=tuple(rows), stored_size=checked.stored_size)


class _Folder(NamedTuple):
    """One checked image folder: parallel lists of image paths, labels and, by batch key (see
    MASK_ARGUMENTS), mask paths."""
    paths: list
    labels: list
    masks: dict


class _Checked(NamedTuple):
    folders: list  # _Folders of train, eval (with eval_path) and test (with test_path)
    mapping: dict  # class name -> label
    size: tuple  # (H, W) the images are resized to
    stored_size: tuple  # (H, W): the median of the images' own sizes


# Batch key -> the arguments naming its mask folders for path, eval_path and test_path
MASK_ARGUMENTS = {"mask": ("masks", "eval_masks", "test_masks"),
                  "decoy_mask": ("decoy_masks", "eval_decoy_masks", "test_decoy_masks")}


def _mask_folders(*folders):
    """{batch key: (mask folders of path, eval_path, test_path)}, from the arguments in
    MASK_ARGUMENTS' order."""
    return {key: folders[3 * index:3 * index + 3] for index, key in enumerate(MASK_ARGUMENTS)}


def _checked(path, image_size, eval_path, test_path, eval_split, mask_folders):
    """The _Checked folders of ``path``, ``eval_path`` and ``test_path`` (those given), each
    with its mask folders of ``mask_folders`` (``_mask_folders``); every file decoded once."""
    size = parse_image_size(image_size)
    images = (path, eval_path, test_path)
    classes, folders, roots = None, [], []
    for split, folder in enumerate(images):
        if folder is None:
            _refuse_strays(mask_folders, split)
            continue
        root = _root(folder)
        classes = _classes(root, like=classes and (_root(path), classes))
        if split == 0 and (problem := too_few_classes(classes)):
            raise DatasetFormatError(f"{root}: {problem}")
        folders.append(_scan(root, classes, _mask_roots(root, mask_folders, split)))
        roots.append(root)
    _check_read_once(roots, folders)
    if eval_path is None:
        _check_split(_root(path), len(folders[0].paths), eval_split)
    stored_size = _decode_all(folders)
    return _Checked(folders, {name: label for label, name in enumerate(classes)}, size, stored_size)


def _mask_roots(root, mask_folders, split):
    """{batch key: mask folder} of the image folder ``root`` (split 0, 1, 2: path, eval_path,
    test_path): a kind of mask is given for every image folder or for none."""
    roots = {}
    for key, given in mask_folders.items():
        if (given[0] is None) != (given[split] is None):
            names = MASK_ARGUMENTS[key]
            raise DatasetFormatError(f"{root}: give {names[0]} for every image folder or for none "
                                     f"({names[0]}={given[0]!r}, and {names[1]}/{names[2]})")
        if given[split] is not None:
            roots[key] = _root(given[split])
    return roots


def _refuse_strays(mask_folders, split):
    """Masks for an image folder that was not given (e.g. eval_masks without eval_path)."""
    for key, given in mask_folders.items():
        if given[split] is not None:
            name, images = MASK_ARGUMENTS[key][split], ("path", "eval_path", "test_path")[split]
            raise DatasetFormatError(f"{given[split]}: {name} is given without {images}; "
                                     f"they are the masks of {images}'s images")


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


def _scan(root, classes, mask_roots):
    """The _Folder of ``root``'s classes, each image paired with its mask in each of
    ``mask_roots`` ({batch key: mask folder})."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        images = _images(root / name)
        if not images:
            raise DatasetFormatError(f"{root / name}: empty class folder (no {' '.join(SUFFIXES)} files)")
        paths += images
        labels += [label] * len(images)
    masks = {key: _pair_masks(root, paths, mask_root, classes, _what(key))
             for key, mask_root in mask_roots.items()}
    return _Folder([str(p) for p in paths], labels, masks)


def _what(key):
    """How messages call the masks of batch key ``key``: "mask", "decoy mask"."""
    return key.replace("_", " ")


def _pair_masks(root, paths, mask_root, classes, what):
    """Each image's ``what`` (mask) path: same relative folder and stem under ``mask_root``, any
    extension."""
    def by_stem(files, base):
        index = {}
        for file in files:
            key = file.relative_to(base).with_suffix("")
            if key in index:
                raise DatasetFormatError(f"{file}: same name as {index[key]} but for the extension; "
                                         f"{what}s are matched to images by name, so one must go")
            index[key] = file
        return index

    _classes(mask_root, like=(root, classes))
    images = by_stem(paths, root)
    masks = by_stem([file for name in classes for file in _images(mask_root / name)], mask_root)
    if missing := sorted(images.keys() - masks.keys()):
        raise DatasetFormatError(f"{images[missing[0]]}: no {what} {mask_root / missing[0]}.<"
                                 f"{'|'.join(s[1:] for s in SUFFIXES)}> ({len(missing)} images lack one)")
    if strays := sorted(masks.keys() - images.keys()):
        raise DatasetFormatError(f"{masks[strays[0]]}: {what} without an image {root / strays[0]}.* "
                                 f"({len(strays)} such {what}s)")
    return [str(masks[key]) for key in images]


def _check_split(root, count, eval_split):
    """The eval hold-out must leave images on both sides."""
    try:
        held_out(count, eval_split)
    except ValueError as error:
        raise DatasetFormatError(f"{root}: eval_split={eval_split!r} of {count} images: {error}") from None


def _decode_all(folders, chunk=4096):
    """Decode every image and mask (in threads: Pillow decodes without the GIL); a mask must
    have its image's size. Returns the images' median (H, W)."""
    files = [file for folder in folders for file in (
        *folder.paths, *(path for paths in folder.masks.values() for path in paths))]
    sizes = {}
    with ThreadPoolExecutor() as pool:
        for start in range(0, len(files), chunk):
            sizes.update(zip(files[start:start + chunk], pool.map(_decoded_size, files[start:start + chunk])))
    for folder in folders:
        for key, masks in folder.masks.items():
            for image, mask in zip(folder.paths, masks):
                if sizes[mask] != sizes[image]:
                    raise DatasetFormatError(f"{mask}: {_what(key)} is {_wxh(sizes[mask])} but its "
                                             f"image {image} is {_wxh(sizes[image])}")
    widths, heights = zip(*(sizes[path] for folder in folders for path in folder.paths))
    return int(statistics.median_low(heights)), int(statistics.median_low(widths))


def _decoded_size(file):
    """(width, height) of an image file, after decoding it in full with Pillow: ``verify`` checks
    a PNG's checksums, ``load`` every pixel (a JPEG at 1/8 scale, which still reads every byte,
    so truncation shows). Pillow is imported here: the schema above is read by every command."""
    from PIL import Image

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
