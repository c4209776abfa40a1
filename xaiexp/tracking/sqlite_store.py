"""Create an MLflow SQLite store, and repair or name a half-migrated one. Called under the
store's file lock (TrackingTarget.ensure_store), so one process at a time runs this; jobs
already past it may be writing to the store meanwhile, so a busy store is waited for and an
up-to-date one is only read."""

import sqlite3
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.store.db.utils import _get_latest_schema_revision
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from sqlalchemy.exc import SQLAlchemyError

from xaiexp.util.errors import ConfigError, one_line

_MIGRATION_COPY = "_alembic_tmp_"  # alembic's copy of a table while SQLite migrates it
BUSY_WAIT = 30.0  # seconds to wait for another job's write (MLflow's own sessions wait 20 s)


def prepare_store(uri: str, path: Path, artifact_root: str | None) -> None:
    """Make ``path`` an up-to-date MLflow store: created if new (MLflow's own migration), its
    leftover migration copies dropped, and a half-created store that holds no run yet made
    again. ``artifact_root`` is set only for xaiexp's embedded store, the one it may repair;
    any other store that MLflow refuses is named in a ConfigError with what to do."""
    ours = artifact_root is not None
    if path.exists():
        if ours:
            _drop_migration_copies(path)
        if _is_current(path):
            return  # the common case: nothing to create, nothing written
    try:
        SqlAlchemyStore(uri, artifact_root or path.parent.as_uri())
        return
    except (MlflowException, SQLAlchemyError) as error:
        problem = one_line(str(error))[:300]
    if not (ours and _emptied_if_unused(path)):
        raise ConfigError("tracking.uri", f"the MLflow store {path} is half-migrated or from "
                                          f"another MLflow version ({problem}); back it up, then "
                                          f"run `mlflow db upgrade {uri}`")
    SqlAlchemyStore(uri, artifact_root)  # a store created halfway, with nothing in it yet


def _connect(path):
    return sqlite3.connect(path, timeout=BUSY_WAIT, isolation_level=None)


def _tables(connection):
    return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _is_current(path):
    """Whether the store's schema is the one this MLflow writes (what MLflow itself checks)."""
    connection = _connect(path)
    try:
        if "alembic_version" not in _tables(connection):
            return False
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        connection.close()
    return row is not None and row[0] == _get_latest_schema_revision()


def _drop_migration_copies(path):
    """A migration killed midway leaves ``_alembic_tmp_<table>``, and every later migration
    fails on it. The copy is redundant while ``<table>`` exists; else it holds the data."""
    connection = _connect(path)
    try:
        tables = _tables(connection)
        for copy in sorted(t for t in tables if t.startswith(_MIGRATION_COPY)):
            table = copy.removeprefix(_MIGRATION_COPY)
            if table in tables:
                connection.execute(f'DROP TABLE "{copy}"')
            else:
                connection.execute(f'ALTER TABLE "{copy}" RENAME TO "{table}"')
    finally:
        connection.close()


def _emptied_if_unused(path):
    """Drop every table if the store holds no run, in one exclusive transaction (no job can add
    a run between the look and the drop); the file stays, since MLflow keeps an engine open on
    it. False, leaving it as it was, if it holds a run."""
    connection = _connect(path)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        tables = _tables(connection)
        if "runs" in tables and connection.execute("SELECT 1 FROM runs LIMIT 1").fetchone():
            connection.execute("ROLLBACK")
            return False
        for table in tables:
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')
        connection.execute("COMMIT")
        return True
    finally:
        connection.close()
