"""In-process notification: long-poll waiters per (channel, seq) and live subscribers per channel.

One server process owns the database, so a write can wake its waiters directly instead of anyone
polling the database.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from archive_server.models import Caption, LiveMessage

__all__ = ["Hub"]


class Hub:
    """Fan-out of caption writes to waiters and live subscribers (single event loop)."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._waiters: dict[tuple[int, int], set[asyncio.Event]] = defaultdict(set)
        self._subs: dict[int, set[asyncio.Queue[LiveMessage | None]]] = defaultdict(set)
        self._queue_size = queue_size

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

    def subscribe(self, channel: int) -> asyncio.Queue[LiveMessage | None]:
        """Return a bounded queue of live messages (``None``: too slow, resync from the DB)."""
        q: asyncio.Queue[LiveMessage | None] = asyncio.Queue(self._queue_size)
        self._subs[channel].add(q)
        return q

    def unsubscribe(self, channel: int, q: asyncio.Queue[LiveMessage | None]) -> None:
        """Forget a subscriber."""
        self._subs[channel].discard(q)

    def publish(self, cursor: int, created: bool, caption: Caption) -> None:
        """Wake waiters of this caption and push it to the channel's subscribers."""
        for ev in self._waiters.get((caption.channel, caption.seq), ()):
            ev.set()
        msg = LiveMessage(cursor=cursor, event="created" if created else "updated", caption=caption)
        for q in list(self._subs.get(caption.channel, ())):
            try:
                q.put_nowait(msg)
            except asyncio.QueueFull:
                # A subscriber that cannot keep up resyncs from the database by cursor.
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(None)
