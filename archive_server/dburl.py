"""The database URL forms people type, mapped to the async drivers the archive runs on.

The archive uses SQLAlchemy's asyncio extension, which needs an async driver: ``aiosqlite`` for
SQLite and ``asyncpg`` for PostgreSQL (both installed by ``jimaku[server]``). People write the
forms they know from other tools, so :func:`async_db_url` accepts

========================================  ==============================================
typed                                     used
========================================  ==============================================
``captions.db``, ``data/captions.db``      ``sqlite+aiosqlite:///captions.db`` (a file path)
``sqlite:///captions.db``                 ``sqlite+aiosqlite:///captions.db``
``postgresql://user@host/db``             ``postgresql+asyncpg://user@host/db``
``postgres://...``, ``+psycopg2``,        ``postgresql+asyncpg://...``
``+psycopg`` (when psycopg is missing)
``?sslmode=require``                      ``?ssl=require`` (asyncpg's name for it)
========================================  ==============================================

and refuses everything else with one line that says what to write instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from archive_server.errors import SettingsError

__all__ = ["async_db_url"]

_EXAMPLES = "a file path (captions.db), sqlite:///captions.db or postgresql://user@host/db"
#: libpq's sslmode values that asyncpg's ``ssl`` parameter understands under the same name
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def _sqlite(path: str, typed: str) -> str:
    if path in ("", ":memory:"):
        raise SettingsError(
            f"database {typed!r} names no file; the archive must outlive the process: "
            "give a file path such as captions.db"
        )
    parent = Path(path).expanduser().parent
    if not parent.is_dir():
        raise SettingsError(
            f"database {typed!r}: directory {str(parent)!r} does not exist; create it first "
            f"(mkdir -p {parent})"
        )
    return URL.create("sqlite+aiosqlite", database=str(Path(path).expanduser())).render_as_string()


def async_db_url(text: str) -> str:
    """Return the SQLAlchemy async URL for what a user typed as ``--db``.

    Parameters
    ----------
    text : str
        A file path, or a ``sqlite``/``postgresql`` URL with or without a driver.

    Returns
    -------
    str
        ``sqlite+aiosqlite:///PATH`` or ``postgresql+asyncpg://...`` (password kept as typed).

    Raises
    ------
    SettingsError
        Empty, unparsable, an unknown scheme, an in-memory SQLite database or a SQLite file in a
        directory that does not exist.
    """
    typed = text.strip()
    if not typed:
        raise SettingsError(f"empty database URL; give {_EXAMPLES}")
    if "://" not in typed:
        return _sqlite(typed, typed)
    try:
        url = make_url(typed)
    except (ArgumentError, ValueError) as exc:
        raise SettingsError(
            f"cannot read database URL {typed!r} ({exc}); give {_EXAMPLES}"
        ) from None
    backend = url.get_backend_name()
    driver = url.get_driver_name() if "+" in url.drivername else ""
    if backend == "sqlite":
        if driver not in ("", "aiosqlite", "pysqlite"):
            raise SettingsError(f"SQLite driver {driver!r} is not async; use sqlite:///FILE")
        return _sqlite(url.database or "", typed)
    if backend in ("postgresql", "postgres"):
        keep = driver == "psycopg" and importlib.util.find_spec("psycopg") is not None
        if driver not in ("", "asyncpg", "psycopg", "psycopg2", "pg8000"):
            raise SettingsError(
                f"PostgreSQL driver {driver!r} is not supported; use postgresql://user@host/db"
            )
        query = dict(url.query)
        if not keep and "sslmode" in query:
            mode = query.pop("sslmode")
            if mode not in _SSLMODES:
                raise SettingsError(f"sslmode={mode!r} is unknown; use one of {sorted(_SSLMODES)}")
            query["ssl"] = mode
        url = url.set(drivername="postgresql+psycopg" if keep else "postgresql+asyncpg")
        url = url.set(query=query)
        return url.render_as_string(hide_password=False)
    raise SettingsError(f"database {url.drivername!r} is not supported; give {_EXAMPLES}")
