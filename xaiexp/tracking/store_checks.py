"""What a tracking URI must name before a run is tracked there, checked without importing MLflow
(seconds): a server that answers, a SQLite file that is one and can be written, a file store only
where MLflow 3 allows one, or a database or plugin scheme MLflow knows."""

import os
import urllib.parse
import urllib.request
from pathlib import Path

from xaiexp.tracking.health import server_problem
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.sqlite_url import SQLITE_HEADER, is_sqlite_or_empty, sqlite_path
from xaiexp.util.writable import write_problem

DATABASES = ("postgresql", "mysql", "mssql")  # MLflow's SQLAlchemy stores besides sqlite
HOSTED = ("databricks", "databricks-uc", "uc")


def file_store_allowed() -> bool:
    """MLflow 3 refuses a file store unless MLFLOW_ALLOW_FILE_STORE is true."""
    return os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() in ("true", "1")


def store_problem(uri: str | None, root=None, allow_file_store: bool = False) -> str | None:
    """Why no run can be tracked in ``uri`` (None: the embedded SQLite store under ``root``), in
    one line; None when one can."""
    if uri is None:
        return _embedded_problem(root)
    try:
        scheme = urllib.parse.urlsplit(uri).scheme.lower()
    except ValueError as error:  # e.g. "http://[::1": an unclosed IPv6 address
        return f"cannot parse {uri!r}: {error}"
    if scheme in ("http", "https"):
        return server_problem(uri)
    if scheme == "sqlite":
        return _sqlite_problem(uri)
    if scheme in ("file", "") or len(scheme) == 1:  # a folder (len 1: a Windows drive letter)
        return _file_store_problem(uri, scheme, allow_file_store)
    if scheme.partition("+")[0] in (*DATABASES, *HOSTED) or _plugin_scheme(scheme):
        return None
    return (f"unknown scheme {scheme!r} in {uri}; expected http(s)://host:port, "
            f"sqlite:///path/mlflow.db, file:///folder or a database URI")


def _embedded_problem(root):
    store = sqlite_path(TrackingTarget.embedded(root).uri)
    unwritable = write_problem(store.parent, f"the embedded store {store}",
                               "set XAIEXP_HOME to a writable folder, or tracking.uri")
    if unwritable or is_sqlite_or_empty(store):
        return unwritable
    return f"the embedded store {store} is not a SQLite database (move it away)"


def _sqlite_problem(uri):
    database = sqlite_path(uri)
    if database is None:
        return f"expected sqlite:///relative/path.db or sqlite:////absolute/path.db, got {uri}"
    if database.is_dir():
        return f"{database} is a folder, not a SQLite file"
    if database.exists() and not os.access(database, os.W_OK):
        return f"{database} is not writable"
    if not is_sqlite_or_empty(database):
        return f"{database} is not a SQLite database (it does not start with {SQLITE_HEADER!r})"
    return write_problem(database.absolute().parent, f"the SQLite store {database}")


def _file_store_problem(uri, scheme, allowed):
    if not allowed:
        return (f"{uri} is a file store, which MLflow 3 refuses unless MLFLOW_ALLOW_FILE_STORE=true; "
                f"use sqlite:///path/to/mlflow.db")
    folder = urllib.request.url2pathname(urllib.parse.urlsplit(uri).path) if scheme == "file" else uri
    return write_problem(Path(folder).expanduser().absolute(), f"the file store {folder}")


def _plugin_scheme(scheme):
    """A scheme a tracking-store plugin registers (entry point group mlflow.tracking_store)."""
    from importlib.metadata import entry_points

    return any(point.name == scheme for point in entry_points(group="mlflow.tracking_store"))
