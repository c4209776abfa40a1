"""Pre-flight checks of what a sweep reaches over the network: an Optuna study's database and a
Ray cluster (the tracking server's are ``xaiexp.tracking.health``'s).

Each is asked once, within seconds, before any MLflow run exists; a "no" is one line naming the
config key (ConfigError: exit code 2), not a traceback minutes into a sweep.
"""

import functools
import os
import socket
import urllib.parse

from xaiexp.app.config.validate import require
from xaiexp.tracking.store import MLFLOW_TABLES
from xaiexp.util.errors import ConfigError, first_line

CONNECT_TIMEOUT = 5  # seconds for a database or a cluster to accept a connection
STORAGE_KEY = "hydra.sweeper.storage"
OPTUNA_TABLES = {"studies", "trials", "version_info"}  # Optuna's RDB schema (a subset)


@functools.lru_cache(maxsize=8)
def check_study_database(storage: str | None) -> None:
    """A database server named by ``hydra.sweeper.storage`` (postgresql://, mysql://, ...)
    answers, lets xaiexp in, and holds an Optuna schema or no table: never another program's
    tables, MLflow's above all (Optuna would add its own beside them; both use a table named
    ``alembic_version``). SQLite files and journals are checked by study_storage.check_study_storage."""
    from xaiexp.app.sweep.study import is_journal, shown

    if not storage or is_journal(storage) or str(storage).strip().startswith("sqlite:"):
        return
    url = str(storage).strip()
    tables = _database_tables(url, shown(url))
    foreign = sorted(tables - OPTUNA_TABLES - {"alembic_version"})
    if not tables or OPTUNA_TABLES <= tables:
        return
    listing = ", ".join(foreign[:4]) + (", …" if len(foreign) > 4 else "")
    whose = "MLflow's tracking database" if MLFLOW_TABLES <= tables else "a database but not Optuna's"
    raise ConfigError(STORAGE_KEY, f"{shown(url)} is {whose} (it holds {listing}); give Optuna a "
                                   f"database of its own (e.g. CREATE DATABASE optuna)")


def _database_tables(url, shown_url):
    """The table names of database ``url``; ConfigError if it cannot be reached or read."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url, connect_args=_timeout_argument(url))
    except ModuleNotFoundError as error:
        raise ConfigError(STORAGE_KEY, f"{shown_url} needs the database driver {error.name!r}, which is "
                                       f"not installed (PostgreSQL: pip install \"psycopg[binary]\" "
                                       f"and a postgresql+psycopg:// URL)") from None
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ValueError) as error:
        raise ConfigError(STORAGE_KEY, f"cannot use {shown_url}: {_first_line(error)}") from None
    try:
        with engine.connect() as connection:
            return set(sqlalchemy.inspect(connection).get_table_names())
    except sqlalchemy.exc.DBAPIError as error:
        raise ConfigError(STORAGE_KEY, f"cannot reach the database {shown_url}: "
                                       f"{_first_line(error.orig or error)}") from None
    finally:
        engine.dispose()


def _timeout_argument(url):
    """The driver's own connect timeout (libpq's, MySQL's): a dead host must not hang."""
    dialect = urllib.parse.urlsplit(url).scheme.partition("+")[0]
    return {"connect_timeout": CONNECT_TIMEOUT} if dialect in ("postgresql", "mysql") else {}


def _first_line(error):
    return first_line(error).removeprefix("connection failed: ")  # psycopg's words before libpq's


RAY_LAUNCHER = "hydra_plugins.xaiexp_ray_launcher.RayLauncher"
RAY_SESSION_FILE = "/tmp/ray/ray_current_cluster"  # where `ray start --head` leaves its address


def check_launcher(launcher) -> None:
    """``hydra/launcher=ray_cluster``: Ray is installed and a cluster answers at
    ``hydra.launcher.address`` (``auto``: $RAY_ADDRESS, else this machine's ``ray start``)."""
    if not launcher or launcher.get("_target_") != RAY_LAUNCHER:
        return
    import importlib.util

    require(importlib.util.find_spec("ray") is not None, "hydra/launcher",
            "ray_cluster needs Ray, which is not installed: pip install \"ray[default]\"")
    address = str(launcher.get("address") or "auto")
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or _local_cluster()
        require(address is not None, "hydra.launcher.address",
                "auto finds no Ray cluster (RAY_ADDRESS is unset and no `ray start --head` runs on "
                "this machine); start one, or give hydra.launcher.address=host:6379")
    _check_reachable(address.removeprefix("ray://"))


def _local_cluster():
    try:
        with open(RAY_SESSION_FILE) as file:
            return file.read().strip() or None
    except OSError:
        return None


@functools.lru_cache(maxsize=4)
def _check_reachable(address):
    host, _, port = address.rpartition(":")
    require(port.isdigit(), "hydra.launcher.address", f"expected host:port, got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        reason = "connection refused" if isinstance(error, ConnectionRefusedError) else str(error)
        raise ConfigError("hydra.launcher.address", f"no Ray cluster answers at {address} ({reason}); "
                                                    f"is `ray start --head` running there?") from None
