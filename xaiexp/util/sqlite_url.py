"""The file a SQLite database URL names, read as SQLAlchemy reads it (MLflow and Optuna both hand
the URL to SQLAlchemy, see https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#connect-strings):
``sqlite:///relative.db`` and ``sqlite:////absolute.db``, a query string (``?timeout=30``) that is
no part of the path, a driver (``sqlite+pysqlite://``), and SQLite's own ``file:`` URIs
(``sqlite:///file:path.db?mode=ro&uri=true``)."""

import os
import urllib.parse
import urllib.request
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file


def sqlite_path(url: str, root: str | os.PathLike | None = None) -> Path | None:
    """The database file of SQLite URL ``url``, ``~`` expanded, a relative path taken under
    ``root`` (None: the working directory, as SQLite takes it); None when ``url`` is no SQLite
    URL or names an in-memory database."""
    database = _sqlite_database(url)
    if database is None:
        return None
    if database.startswith("file:"):
        parts = urllib.parse.urlsplit(database)
        if "mode=memory" in parts.query:
            return None
        database = urllib.request.url2pathname(parts.path)
    path = Path(os.path.expanduser(database))
    return path if path.is_absolute() or root is None else Path(root, path)


def absolute_sqlite_url(url: str, root: str | os.PathLike) -> str:
    """``url`` with its database file made absolute under ``root`` (query and driver kept), so
    that every process opens the same file whatever its working directory."""
    from sqlalchemy.engine import make_url

    path = sqlite_path(url, root)
    if path is None:
        return url
    parsed = make_url(url)
    database = f"file:{path}" if parsed.database.startswith("file:") else str(path)
    return parsed.set(database=database).render_as_string(hide_password=False)


def is_sqlite_or_empty(path: str | os.PathLike) -> bool:
    """``path`` is absent, empty (SQLite makes a database of it) or a SQLite database."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError:  # absent, or unreadable: the writability checks name that
        return True
    return not head or head == SQLITE_HEADER


def _sqlite_database(url):
    """The ``database`` part of a SQLite URL (None for another URL, or none at all)."""
    url = str(url).strip()
    if not url.lower().startswith("sqlite"):
        return None
    plain = url.removeprefix("sqlite:///")
    if plain != url and plain and not any(sign in plain for sign in "?%") and not plain.startswith(
            ("file:", ":memory:")):
        return plain  # what SQLAlchemy reads there too; spares its import (~0.4 s) on every run
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database
