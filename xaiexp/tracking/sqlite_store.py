"""Create an MLflow SQLite store, and repair or name a half-migrated one. Called under the
store's file lock (TrackingTarget.ensure_store), so one process at a time runs this."""

import sqlite3
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from sqlalchemy.exc import SQLAlchemyError

from xaiexp.util.errors import ConfigError, one_line

_MIGRATION_COPY = "_alembic_tmp_"  # alembic's copy of a table while SQLite migrates it


def prepare_store(uri: str, path: Path, artifact_root: str | None) -> None:
    """Make ``path`` an up-to-date MLflow store: created if new (MLflow's own migration), its
    leftover migration copies dropped, and a half-created store that holds no run yet made
    again. ``artifact_root`` is set only for xaiexp's embedded store, the one it may repair;
    any other store that MLflow refuses is named in a ConfigError with what to do."""
    ours = artifact_root is not None
    if ours and path.exists():
        _drop_migration_copies(path)
    try:
        SqlAlchemyStore(uri, artifact_root or path.parent.as_uri())
        return
    except (MlflowException, SQLAlchemyError) as error:
        problem = one_line(str(error))[:300]
        if not (ours and _holds_no_runs(path)):
            raise ConfigError("tracking.uri", f"the MLflow store {path} is half-migrated or from "
                                              f"another MLflow version ({problem}); back it up, then "
                                              f"run `mlflow db upgrade {uri}`") from None
    _drop_tables(path)  # a store created halfway, with nothing in it yet: make it again
    SqlAlchemyStore(uri, artifact_root)


def _tables(connection):
    return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _drop_migration_copies(path):
    """A migration killed midway leaves ``_alembic_tmp_<table>``, and every later migration
    fails on it. The copy is redundant while ``<table>`` exists; else it holds the data."""
    with sqlite3.connect(path) as connection:
        tables = _tables(connection)
        for copy in sorted(t for t in tables if t.startswith(_MIGRATION_COPY)):
            table = copy.removeprefix(_MIGRATION_COPY)
            if table in tables:
                connection.execute(f'DROP TABLE "{copy}"')
            else:
                connection.execute(f'ALTER TABLE "{copy}" RENAME TO "{table}"')
    connection.close()


def _drop_tables(path):
    """Empty the file (not delete it: MLflow keeps an engine open on it)."""
    with sqlite3.connect(path) as connection:
        for table in _tables(connection):
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')
    connection.close()


def _holds_no_runs(path):
    with sqlite3.connect(path) as connection:
        tables = _tables(connection)
        empty = "runs" not in tables or not connection.execute("SELECT 1 FROM runs LIMIT 1").fetchone()
    connection.close()
    return empty
