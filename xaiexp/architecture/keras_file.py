"""A model saved in Keras' native format (``model.save("model.keras")``) is a zip archive of its
config and weights: read with ``zipfile``, without TensorFlow, so that a run's pre-flight names a
truncated or corrupt file as such (Keras reports any zip it cannot open as "File not found")."""

import functools
import os
import zipfile


def keras_file_problem(path: str) -> str | None:
    """Why ``path`` (``~`` expanded) is no complete ``.keras`` archive, or None."""
    full = os.path.expanduser(path)
    if not os.path.isfile(full) or not full.endswith(".keras"):
        return f"{path} is not a .keras file (a model saved with model.save(...))"
    status = os.stat(full)
    return _archive_problem(full, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=8)
def _archive_problem(path, mtime, size):
    """Memoized by the file's time and size: a sweep checks every job's config."""
    try:
        with zipfile.ZipFile(path) as archive:
            failed = archive.testzip()  # the first member whose CRC does not match
            names = archive.namelist()
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        return f"{path} is truncated or corrupt: a .keras file is a zip archive, and this one is not whole ({error})"
    if failed:
        return f"{path} is corrupt: {failed} in its zip archive fails its checksum"
    if "config.json" not in names:
        return f"{path} is a zip archive but no Keras model (it has no config.json)"
    return None
