"""Keras' dataset cache, used without Keras: find, verify and (if the network answers) fetch.

The files live where ``keras.datasets.*.load_data()`` keeps them (``$KERAS_HOME/datasets``, else
``~/.keras/datasets``) and under the same names, so a cache filled by either is used by both. We
do not call Keras here: on a hash mismatch it deletes the user's file and re-downloads with no
timeout, it reads ``KERAS_HOME`` once when imported, and importing it costs seconds of
TensorFlow start-up. Here a mismatch is refused, an offline machine fails within seconds, and
nothing the user placed is ever removed.
"""

import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError
from xaiexp.dataset.keys import DatasetKeys

PROBE_TIMEOUT = 3.0  # seconds to wait for the download host before declaring it unreachable
READ_TIMEOUT = 60.0  # seconds a started download may stall before it is abandoned


@dataclass(frozen=True)
class CachedFile:
    """One file as Keras caches it: its name under the cache dir, origin, and upstream name."""

    name: str  # relative to the datasets dir, e.g. "fashion-mnist/t10k-labels-idx1-ubyte.gz"
    url: str
    official: str  # the name the file has upstream, e.g. "cifar-10-python.tar.gz"
    sha256: str | None = None


@dataclass
class KerasDatasetConfig(DatasetKeys):
    """The schema of a dataset Keras caches: read from the cache, or from ``path``, the
    official file(s)."""
    path: Optional[str] = None


def datasets_dir():
    """Read at every call (not at import, as Keras does) so a changed KERAS_HOME is honoured."""
    return Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser() / "datasets"


def sha256(path):
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def local(path, expected):
    """A user-given path, or a DatasetNotFoundError that names it and what it should be."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(f"{path} does not exist (expected {expected})")
    return path


def fetch(files, dataset, path_hint):
    """Paths of ``files`` in the cache: verified if present, downloaded if missing and reachable.

    ``path_hint`` is what the error suggests passing as ``dataset.path`` instead.
    """
    root = datasets_dir()
    missing = []
    for file in files:
        target = root / file.name
        if target.exists():
            _verify(target, file)
        else:
            missing.append(file)
    if missing:
        advice = _advice(root, missing, path_hint)
        reason = _unreachable(missing[0].url)
        if reason:
            raise DatasetNotFoundError(
                f"{dataset} is not cached and cannot be downloaded ({reason}): {advice}")
        for file in missing:
            try:
                _download(file, root / file.name)
            except OSError as error:
                raise DatasetNotFoundError(
                    f"{dataset}: downloading {file.url} failed ({error}): {advice}") from error
    return [root / file.name for file in files]


def _advice(root, missing, path_hint):
    if len(missing) == 1:
        place = f"the official {missing[0].official} at {root / missing[0].name}"
    else:
        names = ", ".join(file.official for file in missing)
        place = f"the official {names} in {(root / missing[0].name).parent}/"
    return f"place {place}, or pass dataset.path={path_hint}"


def _verify(target, file):
    if file.sha256 and (actual := sha256(target)) != file.sha256:
        raise DatasetFormatError(
            f"{target} is not the official {file.official} (sha256 {actual}, expected "
            f"{file.sha256}); replace it, or move it away to download it again")


def _unreachable(url):
    """Why the host of ``url`` does not answer within PROBE_TIMEOUT, or None if it does."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                               timeout=PROBE_TIMEOUT).close()
    except OSError as error:  # URLError, HTTPError and timeouts are all OSErrors
        return f"{url}: {getattr(error, 'reason', error)}"
    return None


def _download(file, target):
    """Stream into a side file, renamed once complete and verified: never a half file in place."""
    print(f"Downloading {file.url} to {target}", file=sys.stderr, flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(file.url, timeout=READ_TIMEOUT) as response, \
                open(partial, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if file.sha256 and digest.hexdigest() != file.sha256:
            raise DatasetFormatError(
                f"{file.url} downloaded with sha256 {digest.hexdigest()}, expected {file.sha256}")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
