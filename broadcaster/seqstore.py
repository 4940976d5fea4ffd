"""The per-channel caption sequence counter, persisted before an ID is used.

Each :meth:`SeqStore.next` commits the incremented counter to SQLite with ``synchronous=FULL`` and
a rollback journal, so the new value is fsync'd to disk before the ID is returned: after a crash or
restart the counter continues after every ID ever handed out, so a recent ID is never reused (a
receiver that still has the old caption cached would show the wrong text). The 20-bit sequence
wraps after 1,048,576 captions (about four months at one caption every 10 s).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from broadcaster.errors import StateError
from broadcaster.statedb import open_state_db
from trigger_codec.ids import SEQ_MODULUS

__all__ = ["SEQ_MODULUS", "SeqStore"]

#: Sequence numbers are 20 bits in the trigger ID.


class SeqStore:
    """Durable next-sequence counter per channel.

    Parameters
    ----------
    path : Path
        SQLite file (created with its directory when missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_state_db(
            path,
            "DELETE",
            "CREATE TABLE IF NOT EXISTS counters (channel INTEGER PRIMARY KEY, "
            "next_seq INTEGER NOT NULL)",
            "the sequence state file",
        )

    def peek(self, channel: int) -> int:
        """Return the sequence number :meth:`next` would return, without using it."""
        with self._lock:
            row = self._db.execute(
                "SELECT next_seq FROM counters WHERE channel = ?", (channel,)
            ).fetchone()
        return int(row[0]) % SEQ_MODULUS if row else 0

    def next(self, channel: int) -> int:
        """Reserve and return the next sequence number of *channel* (durable before returning)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute(
                    "SELECT next_seq FROM counters WHERE channel = ?", (channel,)
                ).fetchone()
                seq = int(row[0]) % SEQ_MODULUS if row else 0
                self._db.execute(
                    "INSERT INTO counters(channel, next_seq) VALUES (?, ?) "
                    "ON CONFLICT(channel) DO UPDATE SET next_seq = excluded.next_seq",
                    (channel, (seq + 1) % SEQ_MODULUS),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StateError(
                    f"cannot persist the sequence counter in {str(self.path)!r}: {exc}; no "
                    "caption ID was used (disk full or read-only?)"
                ) from exc
        return seq

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
