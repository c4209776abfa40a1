"""``hydra.sweeper.storage``, checked before any job of a sweep starts: a study Optuna can open,
one branch per kind of storage (see ``xaiexp.app.sweep.study``), else one line naming the key. Optuna
itself would stop the sweep with a traceback, or write its tables into another app's database."""

import contextlib
import functools
import json
import sqlite3

from xaiexp.app.config.writable_folders import check_writable
from xaiexp.app.config.validate import require
from xaiexp.util.errors import ConfigError
from xaiexp.util.sqlite_url import is_sqlite_or_empty

STORAGE_KEY = "hydra.sweeper.storage"
NEW_STUDY = "give a new file for a new study"


def check_study_storage(storage):
    """A journal file (one JSON record a line), an Optuna SQLite database (not, e.g., xaiexp's
    MLflow store), or a database URL of a dialect SQLAlchemy has; raises ConfigError."""
    from xaiexp.app.sweep.study import is_journal, storage_file

    if storage is None or not str(storage).strip():
        return
    storage = str(storage).strip()
    if is_journal(storage):
        _check_journal(storage_file(storage))
    elif (path := storage_file(storage)) is not None:
        _check_optuna_sqlite(path)
    else:
        _check_database_url(storage)


def _check_storage_file(path, what):
    """``path`` can hold a study: not a folder or a device, in a writable folder (Optuna keeps a
    journal's lock file beside it, SQLite its rollback journal)."""
    require(not path.is_dir(), STORAGE_KEY, f"{path} is a folder; expected {what}")
    require(not path.exists() or path.is_file(), STORAGE_KEY, f"{path} is not a regular file; expected {what}")
    check_writable(path.parent, STORAGE_KEY, f"the folder of {path}")


def _check_journal(path):
    _check_storage_file(path, "an Optuna journal file")
    if path.exists():
        status = path.stat()
        _check_journal_records(str(path), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=8)
def _check_journal_records(path, mtime, size):
    """Every line is a journal record: Optuna replays them all (a torn last line it skips, but
    its next record is appended to that line, which breaks the journal for good). Memoized by
    the file's time and size: a sweep checks each job's config."""
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            require(isinstance(record, dict) and "op_code" in record, STORAGE_KEY,
                    f"{path} is not an Optuna journal file (line {number} is no journal record); {NEW_STUDY}")


def _check_optuna_sqlite(path):
    """An absent or empty file, or a SQLite database that holds Optuna's tables and no other's."""
    from optuna.storages._rdb.models import BaseModel  # Optuna's table definitions

    _check_storage_file(path, "a SQLite database file")
    require(is_sqlite_or_empty(path), STORAGE_KEY, f"{path} is not a SQLite database; {NEW_STUDY}")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            tables = sorted(name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"))
    except sqlite3.DatabaseError as error:
        raise ConfigError(STORAGE_KEY, f"{path} cannot be read as a SQLite database ({error}); "
                                       f"{NEW_STUDY}") from None
    others = [name for name in tables if name not in {*BaseModel.metadata.tables, "alembic_version"}]
    listed = ", ".join(others[:4]) + (", …" if len(others) > 4 else "")
    require(not tables or ({"studies", "version_info"} <= set(tables) and not others), STORAGE_KEY,
            f"{path} is a SQLite database but not Optuna's (it holds {listed or ', '.join(tables)}); "
            f"{NEW_STUDY}")


def _check_database_url(url):
    """A URL SQLAlchemy parses, of a dialect it has (Optuna imports the driver when it connects)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from xaiexp.app.sweep.study import shown

    expected = ("expected a journal file (outputs/optuna.journal), sqlite:///outputs/optuna.db or a "
                "database URL (postgresql://user@host/db)")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(STORAGE_KEY, f"cannot parse {shown(url)} as a database URL; {expected}") from None
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(STORAGE_KEY, f"unknown database {parsed.drivername!r} in {shown(url)}; "
                                       f"{expected}") from None
