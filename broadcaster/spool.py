"""The durable upload spool: every caption is written here before the first upload attempt.

A row is deleted only after the archive confirmed it, so a caption survives an archive outage, a
crash or a restart (the next run's uploader sends what is left). A newer revision of the same
caption (a correction) replaces the pending body; ``version`` makes sure an upload that raced with
the correction does not delete the newer text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadcaster.errors import StateError
from broadcaster.statedb import open_state_db

__all__ = ["Spool", "SpoolItem"]


@dataclass(frozen=True)
class SpoolItem:
    """A caption waiting for the archive."""

    id: int
    channel: int
    seq: int
    body: dict[str, Any]
    version: int
    attempts: int
    next_try: float
    state: str
    last_error: str


class Spool:
    """SQLite-backed queue of captions to upload.

    Parameters
    ----------
    path : Path
        SQLite file (created when missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_state_db(
            path,
            "WAL",
            "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "channel INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, "
            "version INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0, "
            "next_try REAL NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'pending', "
            "last_error TEXT NOT NULL DEFAULT '', UNIQUE(channel, seq))",
            "the upload spool",
        )

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StateError(f"upload spool {str(self.path)!r} failed: {exc}") from exc

    def put(self, channel: int, seq: int, body: dict[str, Any]) -> None:
        """Store (or replace with a newer revision) the caption *channel*/*seq*, durably."""
        self._exec(
            "INSERT INTO pending(channel, seq, body) VALUES (?, ?, ?) ON CONFLICT(channel, seq) "
            "DO UPDATE SET body = excluded.body, version = version + 1, next_try = 0, "
            "state = 'pending', attempts = 0, last_error = ''",
            (channel, seq, json.dumps(body, ensure_ascii=False)),
        )

    def due(self, now: float | None = None, limit: int = 50) -> list[SpoolItem]:
        """Items whose next attempt is due, oldest first (rejected ones are not retried)."""
        t = time.time() if now is None else now
        rows = self._exec(
            "SELECT id, channel, seq, body, version, attempts, next_try, state, last_error "
            "FROM pending WHERE next_try <= ? AND state != 'rejected' ORDER BY id LIMIT ?",
            (t, limit),
        )
        return [
            SpoolItem(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])
            for r in rows
        ]

    def done(self, item: SpoolItem) -> bool:
        """Remove *item* after the archive stored it; False if a newer revision replaced it."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM pending WHERE id = ? AND version = ?", (item.id, item.version)
            )
            return cur.rowcount == 1

    def retry_later(self, item: SpoolItem, delay_s: float, error: str, state: str) -> None:
        """Record a failed attempt; try again after *delay_s* (state 'spooled' or 'rejected')."""
        self._exec(
            "UPDATE pending SET attempts = attempts + 1, next_try = ?, last_error = ?, state = ? "
            "WHERE id = ? AND version = ?",
            (time.time() + delay_s, error[:500], state, item.id, item.version),
        )

    def items(self) -> list[SpoolItem]:
        """Everything still in the spool (for the operator view and tests)."""
        rows = self._exec(
            "SELECT id, channel, seq, body, version, attempts, next_try, state, last_error "
            "FROM pending ORDER BY id"
        )
        return [
            SpoolItem(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])
            for r in rows
        ]

    def count(self) -> int:
        """Count the captions not yet on the archive."""
        return int(self._exec("SELECT COUNT(*) FROM pending")[0][0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
