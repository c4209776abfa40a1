"""Preflight: what a config points at (the dataset's file, the tracking server), checked before
TensorFlow is imported and before any MLflow run exists, so a wrong path or a dead server costs
a second and one line, not a failed run."""

import errno
import functools
import importlib
import os
import shutil
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path


from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.paths import path_arguments
from xaiexp.app.config.remote_checks import check_server_store
from xaiexp.app.config.validate import dataset_keys, require, resolved, target_arguments
from xaiexp.architecture.keras_file import keras_file_problem
from xaiexp.architecture.keys import ModelKeys
from xaiexp.architecture.tensorflow.saved import SavedModelConfig
from xaiexp.dataset.data.summary import held_out
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.errors import ConfigError
from xaiexp.util.project import project_root
from xaiexp.util.sqlite_url import SQLITE_HEADER, is_sqlite_or_empty, sqlite_path

SERVER_TIMEOUT = 5.0  # seconds for the tracking server to answer GET /health
SERVER_DEADLINE = 8.0  # seconds for the whole probe, name resolution included: never a hang


def check_resources(cfg):
    """What the config points at, checked without TensorFlow; raises ConfigError naming the key.

    - the dataset: a built-in loader's ``inspect`` makes every check its ``load_data`` makes
      (files exist and have the format), reading as little as it can; a user's loader is
      checked when it runs.
    - ``dataset.class_names`` and ``dataset.normalize``: match the dataset's classes and
      channels; the images are large enough for the model; a pretrained model's weights are
      where Keras keeps them (nothing is downloaded).
    - ``tracking.uri`` (when tracking is enabled): an http(s) server answers within
      SERVER_DEADLINE seconds; a SQLite or file store's folder can be written.

    Each distinct dataset and tracking target is checked once per process (a sweep's jobs
    share them); a changed file is checked again.
    """
    model = cfg.model
    if model._target_ == SavedModelConfig._target_:
        problem = keras_file_problem(model.path)
        require(problem is None, "model.path", problem)
    data = cfg.dataset
    summary = dataset_summary(data)
    if summary is not None:
        _check_against(cfg, summary)
    if cfg.tracking.enabled:
        uri = cfg.tracking.uri or None
        _check_tracking(uri, None if uri else project_root(), _file_store_allowed())


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


def _check_against(cfg, summary):
    data, source = dataset_keys(cfg.dataset), cfg.dataset.get("path") or cfg.dataset._target_.split(".")[-2]
    classes = summary.class_names
    if data.class_names is not None and len(data.class_names) != len(classes):
        listing = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise ConfigError("dataset.class_names", f"{len(data.class_names)} names given, but "
                                                 f"{source} has {len(classes)} classes ({listing})")
    _check_rows(cfg.dataset, data.test_split, summary.rows, source)
    _check_memory(cfg.dataset, summary.in_memory, source)
    if summary.stored_size:
        _warn_resizing(summary.stored_size, summary.image_shape[:2], source)
    height, width, channels = summary.image_shape
    for key in ("mean", "std") if data.normalize is not None else ():
        count = len(data.normalize[key])
        require(count in (1, channels), f"dataset.normalize.{key}",
                f"has {count} values, but {source} images have {channels} channel(s): "
                f"give 1 value" + (f" or {channels}" if channels > 1 else ""))
    model = cfg.model._target_
    schema = target_schemas().get(model, ModelKeys)
    smallest = schema.MIN_IMAGE_SIZE
    require(min(height, width) >= smallest, "dataset.image_size" if "image_size" in cfg.dataset else "model",
            f"{source} has {height}x{width} images; model {model.split('.')[-1]} needs at least "
            f"{smallest}x{smallest}")
    if getattr(schema, "BACKBONE", None):
        from xaiexp.architecture.pretrained import weights_problem

        options = {"alpha": cfg.model.alpha} if "alpha" in cfg.model else {}
        problem = weights_problem(schema.BACKBONE, cfg.model.weights, summary.image_shape, **options)
        require(problem is None, "model.weights", problem)


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


@functools.lru_cache(maxsize=None)
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


def _file_store_allowed():
    return os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() in ("true", "1")


_DATABASES = ("postgresql", "mysql", "mssql")  # MLflow's SQLAlchemy stores besides sqlite
_HOSTED = ("databricks", "databricks-uc", "uc")


@functools.lru_cache(maxsize=16)
def _check_tracking(uri, root, file_store_allowed):
    """``uri`` None: the embedded SQLite store under ``root``/outputs."""
    if uri is None:
        store = sqlite_path(TrackingTarget.embedded(root).uri)
        check_writable(store.parent, "tracking.uri", f"the embedded store {store}",
                        "set XAIEXP_HOME to a writable folder, or tracking.uri")
        require(is_sqlite_or_empty(store), "tracking.uri",
                f"the embedded store {store} is not a SQLite database (move it away)")
        return
    try:
        scheme = urllib.parse.urlsplit(uri).scheme.lower()
    except ValueError as error:  # e.g. "http://[::1": an unclosed IPv6 address
        raise ConfigError("tracking.uri", f"cannot parse {uri!r}: {error}") from None
    if scheme in ("http", "https"):
        _probe_server(uri)
        check_server_store(uri)
    elif scheme == "sqlite":
        database = sqlite_path(uri)
        require(database is not None, "tracking.uri",
                f"expected sqlite:///relative/path.db or sqlite:////absolute/path.db, got {uri}")
        require(not database.is_dir(), "tracking.uri", f"{database} is a folder, not a SQLite file")
        require(not database.exists() or os.access(database, os.W_OK), "tracking.uri",
               f"{database} is not writable")
        require(is_sqlite_or_empty(database), "tracking.uri",
                f"{database} is not a SQLite database (it does not start with {SQLITE_HEADER!r})")
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


def no_space_left(error, cfg, output_dir):
    """One line for an error a full disk caused (ENOSPC, SQLite's "database or disk is full", or
    TensorFlow's when a checkpoint hits it), naming the disk (its mount point) of the fuller of
    the run's folder and its SQLite store; None for any other error."""
    full = ("disk is full", "No space left on device")  # SQLite's words, TensorFlow's (a checkpoint)
    if getattr(error, "errno", None) != errno.ENOSPC and not any(words in str(error) for words in full):
        return None
    folders = [output_dir]
    uri = TrackingTarget.from_config(cfg.tracking.uri, project_root()).uri
    if cfg.tracking.enabled and sqlite_path(uri):
        folders.append(os.path.dirname(sqlite_path(uri)))
    free, folder = min((shutil.disk_usage(f).free, f) for f in folders if os.path.isdir(f))
    disk = Path(folder).absolute()
    while not disk.is_mount():
        disk = disk.parent
    cause = (str(error).splitlines() or [""])[0]
    return (f"no space left on the disk mounted at {disk} ({free / 2 ** 20:,.1f} MiB free), which "
            f"holds {folder}: {type(error).__name__}: {cause}")


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


