"""A full disk said in one line: which disk, how full, and which of the run's folders is on it."""

import errno
import os
import shutil
from pathlib import Path

from xaiexp.app.config.tracked import tracking_target
from xaiexp.util.sqlite_url import sqlite_path


def no_space_left(error, cfg, output_dir):
    """One line for an error a full disk caused (ENOSPC, SQLite's "database or disk is full", or
    TensorFlow's when a checkpoint hits it), naming the disk (its mount point) of the fuller of
    the run's folder and its SQLite store; None for any other error."""
    full = ("disk is full", "No space left on device")  # SQLite's words, TensorFlow's (a checkpoint)
    if getattr(error, "errno", None) != errno.ENOSPC and not any(words in str(error) for words in full):
        return None
    folders = [output_dir]
    uri = tracking_target(cfg).uri
    if cfg.tracking.enabled and sqlite_path(uri):
        folders.append(os.path.dirname(sqlite_path(uri)))
    free, folder = min((shutil.disk_usage(f).free, f) for f in folders if os.path.isdir(f))
    disk = Path(folder).absolute()
    while not disk.is_mount():
        disk = disk.parent
    cause = (str(error).splitlines() or [""])[0]
    return (f"no space left on the disk mounted at {disk} ({free / 2 ** 20:,.1f} MiB free), which "
            f"holds {folder}: {type(error).__name__}: {cause}")
