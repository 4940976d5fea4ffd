"""Opening the broadcaster's durable SQLite state files (sequence counter, upload spool)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from broadcaster.errors import StateError

__all__ = ["open_state_db"]


def open_state_db(path: Path, journal_mode: str, schema: str, what: str) -> sqlite3.Connection:
    """Open (creating it and its directory) a SQLite file with ``synchronous=FULL``.

    Parameters
    ----------
    path : Path
        The SQLite file.
    journal_mode : str
        ``"DELETE"`` (rollback journal) or ``"WAL"``.
    schema : str
        ``CREATE TABLE IF NOT EXISTS ...`` statement run once.
    what : str
        What the file is, for the error message (e.g. ``"the upload spool"``).

    Returns
    -------
    sqlite3.Connection
        Autocommit (``isolation_level=None``), usable from any thread (guard it with a lock).

    Raises
    ------
    StateError
        The file or its directory cannot be created, written or read (names the path and
        ``--state-dir``).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute(f"PRAGMA journal_mode={journal_mode}")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(schema)
    except (sqlite3.Error, OSError) as exc:
        raise StateError(
            f"cannot open {what} {str(path)!r}: {exc}; check that the state directory "
            "(--state-dir) is writable and the file is not corrupt"
        ) from exc
    return db
