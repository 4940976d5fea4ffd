"""In-process notification: long-poll waiters per (channel, seq) and live subscribers per channel.

One server process owns the database, so a write can wake its waiters directly instead of anyone
polling the database. A write is serialised to its live JSON text ONCE in :meth:`Hub.publish`; every
subscriber's queue gets the same ``(cursor, text)`` and sends those bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from archive_server.models import Caption, LiveMessage

__all__ = ["RESYNC", "Hub", "LiveItem"]

LiveItem = tuple[int, str, float] | None
"""What a subscriber's queue holds: ``(cursor, message JSON, time.perf_counter() at publish)``,
or ``None`` (:data:`RESYNC`)."""
RESYNC = None


class Hub:
    """Fan-out of caption writes to waiters and live subscribers (single event loop)."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._waiters: dict[tuple[int, int], set[asyncio.Event]] = defaultdict(set)
        self._subs: dict[int, set[asyncio.Queue[LiveItem]]] = defaultdict(set)
        self._queue_size = queue_size
        # Newest cursor published per channel (writes go through this process only).
        self._last: dict[int, int] = {}

    @property
    def subscribers(self) -> int:
        """Live subscribers connected now."""
        return sum(len(s) for s in self._subs.values())

    def waiter(self, channel: int, seq: int) -> asyncio.Event:
        """Return an event set at the next write of (channel, seq); pair with :meth:`unwait`."""
        ev = asyncio.Event()
        self._waiters[(channel, seq)].add(ev)
        return ev

    def unwait(self, channel: int, seq: int, ev: asyncio.Event) -> None:
        """Forget a waiter."""
        s = self._waiters.get((channel, seq))
        if s is not None:
            s.discard(ev)
            if not s:
                del self._waiters[(channel, seq)]

    def last_cursor(self, channel: int) -> int | None:
        """Return the newest cursor this hub has seen on ``channel`` (None: not known yet)."""
        return self._last.get(channel)

    def note_cursor(self, channel: int, cursor: int) -> None:
        """Record a cursor read from the database (a newer published one wins)."""
        if cursor > self._last.get(channel, -1):
            self._last[channel] = cursor

    def subscribe(self, channel: int) -> asyncio.Queue[LiveItem]:
        """Return a bounded queue of live messages (``None``: too slow, resync from the DB)."""
        q: asyncio.Queue[LiveItem] = asyncio.Queue(self._queue_size)
        self._subs[channel].add(q)
        return q

    def unsubscribe(self, channel: int, q: asyncio.Queue[LiveItem]) -> None:
        """Forget a subscriber."""
        self._subs[channel].discard(q)

    def publish(self, cursor: int, created: bool, caption: Caption) -> None:
        """Wake waiters of this caption and push it to the channel's subscribers."""
        for ev in self._waiters.get((caption.channel, caption.seq), ()):
            ev.set()
        self.note_cursor(caption.channel, cursor)
        subs = self._subs.get(caption.channel)
        if not subs:
            return
        msg = LiveMessage(cursor=cursor, event="created" if created else "updated", caption=caption)
        item = (cursor, msg.model_dump_json(), time.perf_counter())
        for q in list(subs):
            try:
                q.put_nowait(item)
            except asyncio.QueueFull:
                # A subscriber that cannot keep up resyncs from the database by cursor.
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(RESYNC)
