"""Preflight: what a config points at (the dataset's file, the tracking server), checked before
TensorFlow is imported and before any MLflow run exists, so a wrong path or a dead server costs
a second and one line, not a failed run."""

import functools
import os
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from xaiexp.config import MIN_IMAGE_SIZE, ConfigError, plain_value, project_root, require


SERVER_TIMEOUT = 5.0  # seconds for the tracking server to answer GET /health
SERVER_DEADLINE = 8.0  # seconds for the whole probe, name resolution included: never a hang


@dataclass(frozen=True)
class _Facts:
    """What check_resources needs to know of a dataset."""
    class_names: tuple
    image_shape: Optional[tuple]  # (H, W, C); None: set by the config (shapes)
    source: str  # how messages name it: "cifar10", "/data/mine.npz"


def check_resources(cfg):
    """What the config points at, checked without TensorFlow; raises ConfigError naming the key.

    - ``dataset.path``: exists and has the dataset's format (npz: the checks of
      ``npz.load_data``, reading labels only; cifar10: a tar.gz of ``cifar-10-batches-py/``;
      mnist: an .npz with x_train, y_train, x_test, y_test; fashion_mnist: a folder with the
      four idx .gz files). With no path, the Keras cache is the loader's business (it may
      download), so nothing is checked.
    - ``dataset.class_names`` and ``dataset.normalize``: match the dataset's classes and channels;
      the images are large enough for ``model``.
    - ``tracking.uri`` (when tracking is enabled): an http(s) server answers within
      SERVER_DEADLINE seconds; a SQLite or file store's folder can be written.

    Each distinct dataset file and tracking target is checked once per process (a sweep's jobs
    share them); a changed file is checked again.
    """
    data = cfg.dataset
    name, model = plain_value(data.name), plain_value(cfg.model.name)
    path = os.path.abspath(os.path.expanduser(data.path)) if data.path is not None else None
    if path is not None and not os.path.exists(path):
        expected = _EXPECTED.get(name)
        raise ConfigError("dataset.path", f"no such file or folder: {data.path}"
                                          + (f" (expected {expected})" if expected else ""))
    require(path is None or os.path.isfile(path) or os.path.isdir(path), "dataset.path",
           f"{data.path} is neither a file nor a folder (a device or a pipe?)")
    facts = _dataset_facts(name, path if name != "shapes" else None, _stamp(path))
    if facts.image_shape is None:
        facts = _Facts(facts.class_names, (data.image_size, data.image_size, 3), facts.source)
    classes = facts.class_names
    if data.class_names is not None and len(data.class_names) != len(classes):
        listing = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise ConfigError("dataset.class_names", f"{len(data.class_names)} names given, but "
                                                 f"{facts.source} has {len(classes)} classes ({listing})")
    height, width, channels = facts.image_shape
    for key in ("mean", "std"):
        count = len(data.normalize[key])
        require(count in (1, channels), f"dataset.normalize.{key}",
               f"has {count} values, but {facts.source} images have {channels} channel(s): "
               f"give 1 value" + (f" or {channels}" if channels > 1 else ""))
    smallest = MIN_IMAGE_SIZE.get(model, 1)
    require(min(height, width) >= smallest, "dataset.path",
           f"{facts.source} has {height}x{width} images; model={model} needs at least "
           f"{smallest}x{smallest}")
    if cfg.tracking.enabled:
        uri = cfg.tracking.uri or None
        _check_tracking(uri, None if uri else project_root(), _file_store_allowed())


_EXPECTED = {"npz": "an .npz file with arrays x and y",
             "cifar10": "the official cifar-10-python.tar.gz",
             "mnist": "the mnist.npz that Keras downloads (x_train, y_train, x_test, y_test)",
             "fashion_mnist": "a folder with the four official Fashion-MNIST .gz files"}


def _stamp(path):
    """Changes when the file (or a folder's files) changes: part of the memo key."""
    if path is None:
        return None
    try:
        entries = [path] + ([os.path.join(path, e) for e in sorted(os.listdir(path))[:64]]
                            if os.path.isdir(path) else [])
        return tuple((e, s.st_mtime_ns, s.st_size) for e in entries for s in [os.lstat(e)])
    except OSError:  # unreadable: not memoized usefully, and the check itself will say why
        return None


@functools.lru_cache(maxsize=32)
def _dataset_facts(name, path, stamp):
    from xaiexp.dataset.data import cifar10, fashion_mnist, mnist, npz, shapes
    from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError

    if name == "shapes":
        return _Facts(tuple(shapes.CLASSES), None, "shapes")
    if name == "npz":
        require(path, "dataset.path", "dataset=npz needs dataset.path=/path/to/data.npz")
        try:
            summary = npz.inspect(path)
        except (DatasetFormatError, DatasetNotFoundError) as error:
            raise ConfigError("dataset.path", str(error)) from error
        return _Facts(summary.class_names, summary.image_shape, path)
    if name == "cifar10":
        if path:
            _check_cifar10(path)
        return _Facts(tuple(cifar10.CLASSES), (32, 32, 3), "cifar10")
    if name == "mnist":
        if path:
            _check_zip_members(path, ("x_train", "y_train", "x_test", "y_test"), _EXPECTED[name])
        return _Facts(tuple(mnist.CLASSES), (28, 28, 1), "mnist")
    if name == "fashion_mnist":
        if path:
            _check_fashion_mnist(path, fashion_mnist.FILES)
        return _Facts(tuple(fashion_mnist.CLASSES), (28, 28, 1), "fashion_mnist")
    raise ConfigError("dataset.name", f"unknown dataset {name!r}")


def _check_cifar10(path):
    """The archive opens as a gzipped tar whose first member is under cifar-10-batches-py/
    (the loader reads the rest; listing every member would decompress all 170 MB)."""
    expected = "expected the official cifar-10-python.tar.gz, a tar.gz of cifar-10-batches-py/"
    if os.path.isdir(path):
        raise ConfigError("dataset.path", f"{path} is a folder; {expected}")
    try:
        with tarfile.open(path, "r:gz") as tar:
            first = tar.next()
    except (OSError, EOFError, tarfile.TarError) as error:
        raise ConfigError("dataset.path", f"{path} is not a tar.gz ({error}); {expected}") from error
    if first is None or first.name.split("/")[0] != "cifar-10-batches-py":
        found = first.name if first else "nothing"
        raise ConfigError("dataset.path", f"{path} holds {found!r} first; {expected}")


def _check_zip_members(path, keys, expected):
    """An .npz (a zip of .npy files) holding at least ``keys``; reads only its directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {member.removesuffix(".npy") for member in archive.namelist()}
    except (OSError, zipfile.BadZipFile) as error:
        raise ConfigError("dataset.path", f"{path} is not an .npz ({error}); expected {expected}") \
            from error
    missing = [key for key in keys if key not in names]
    require(not missing, "dataset.path",
           f"{path} lacks {', '.join(missing)}; expected {expected}")


def _check_fashion_mnist(path, files):
    require(os.path.isdir(path), "dataset.path",
           f"{path} is not a folder; expected a folder with {', '.join(files)}")
    missing = [name for name in files if not os.path.isfile(os.path.join(path, name))]
    require(not missing, "dataset.path", f"{path} lacks {', '.join(missing)} (the official files)")
    for name in files:
        try:
            with open(os.path.join(path, name), "rb") as file:
                magic = file.read(2)
        except OSError as error:
            raise ConfigError("dataset.path", f"cannot read {os.path.join(path, name)}: {error}") \
                from error
        require(magic == b"\x1f\x8b", "dataset.path",
               f"{os.path.join(path, name)} is not a gzip file; expected the official {name}")


def _file_store_allowed():
    return os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() in ("true", "1")


_DATABASES = ("postgresql", "mysql", "mssql")  # MLflow's SQLAlchemy stores besides sqlite
_HOSTED = ("databricks", "databricks-uc", "uc")


@functools.lru_cache(maxsize=16)
def _check_tracking(uri, root, file_store_allowed):
    """``uri`` None: the embedded SQLite store under ``root``/outputs."""
    if uri is None:
        store = Path(root) / "outputs" / "mlflow.db"
        check_writable(store.parent, "tracking.uri", f"the embedded store {store}",
                        "set XAIEXP_HOME to a writable folder, or tracking.uri")
        return
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme in ("http", "https"):
        _probe_server(uri)
    elif scheme == "sqlite":
        require(uri.startswith("sqlite:///"), "tracking.uri",
               f"expected sqlite:///relative/path.db or sqlite:////absolute/path.db, got {uri}")
        database = Path(uri.removeprefix("sqlite:///").partition("?")[0]).expanduser()
        require(not database.is_dir(), "tracking.uri", f"{database} is a folder, not a SQLite file")
        require(not database.exists() or os.access(database, os.W_OK), "tracking.uri",
               f"{database} is not writable")
        check_writable(database.absolute().parent, "tracking.uri", f"the SQLite store {database}")
    elif scheme in ("file", "") or len(scheme) == 1:  # a folder (len 1: a Windows drive letter)
        require(file_store_allowed, "tracking.uri",
               f"{uri} is a file store, which MLflow 3 refuses unless MLFLOW_ALLOW_FILE_STORE=true; "
               f"use sqlite:///path/to/mlflow.db")
        folder = (urllib.request.url2pathname(urllib.parse.urlsplit(uri).path)
                  if scheme == "file" else uri)
        check_writable(Path(folder).expanduser().absolute(), "tracking.uri", f"the file store {folder}")
    elif scheme.partition("+")[0] not in (*_DATABASES, *_HOSTED) and not _plugin_scheme(scheme):
        raise ConfigError("tracking.uri", f"unknown scheme {scheme!r} in {uri}; expected "
                                          f"http(s)://host:port, sqlite:///path/mlflow.db, "
                                          f"file:///folder or a database URI")


def _plugin_scheme(scheme):
    """A scheme a tracking-store plugin registers (entry point group mlflow.tracking_store)."""
    from importlib.metadata import entry_points

    return any(point.name == scheme for point in entry_points(group="mlflow.tracking_store"))


def check_writable(folder, key, what, advice=""):
    """``folder`` can be created and written in: tried, not guessed from permission bits (which
    root ignores), so a read-only mount or a full disk is named here, not mid-run."""
    hint = f" ({advice})" if advice else ""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(key, f"{what} cannot be written: {error.strerror or error}: {folder}{hint}") from None


def check_output_dir(overrides, multirun):
    """Hydra's run (or sweep) folder: its fixed part, before any ``${...}``, must be writable."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [o.split("=", 1)[1] for o in overrides if o.startswith(f"{key}=")]
    folder = given[-1].split("$", 1)[0] if given else os.path.join(project_root(), "outputs")
    check_writable(folder or ".", key, "the output folder")


def _probe_server(uri):
    """GET <uri>/health within SERVER_DEADLINE (in a thread: name resolution ignores socket
    timeouts); any HTTP answer but 404 and 5xx counts as a server."""
    url = uri.rstrip("/") + "/health"
    outcome = {}

    def probe():
        try:
            with urllib.request.urlopen(url, timeout=SERVER_TIMEOUT) as response:
                outcome["status"] = response.status
        except urllib.error.HTTPError as error:
            outcome["status"] = error.code
        except Exception as error:  # noqa: BLE001 - URLError, timeouts, bad ports: all a "no"
            outcome["error"] = error

    thread = threading.Thread(target=probe, name="xaiexp-tracking-probe", daemon=True)
    thread.start()
    thread.join(SERVER_DEADLINE)
    if thread.is_alive():
        reason = f"no answer within {SERVER_DEADLINE:g} s"
    elif "error" in outcome:
        reason = _reason(outcome["error"])
    elif outcome["status"] == 404 or outcome["status"] >= 500:
        raise ConfigError("tracking.uri", f"the server at {uri} answers GET {url} with HTTP "
                                          f"{outcome['status']}: is it an MLflow server?")
    else:
        return
    raise ConfigError("tracking.uri", f"no MLflow server answers at {uri} ({reason})")


def _reason(error):
    import socket

    cause = getattr(error, "reason", error)
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"no answer within {SERVER_TIMEOUT:g} s"
    if isinstance(cause, socket.gaierror):
        return f"unknown host: {cause.strerror or cause}"
    return str(cause) or type(cause).__name__


