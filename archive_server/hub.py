"""In-process notification: long-poll waiters per (channel, seq) and live subscribers per channel.

Every write of the database reaches the hub of every process in cursor order through
:class:`~archive_server.relay.Relay` (this process's own writes directly, other processes' through
the bus and a read of the database), so waiters are woken without anyone polling. A write is
serialised to its live JSON text ONCE in :meth:`Hub.publish`; every subscriber's queue gets the
same ``(cursor, text)`` and sends those bytes. A subscriber whose bounded queue is full is dropped
(its ``on_overflow`` is called, which disconnects it); it reconnects and resumes by cursor from
the database, so a slow phone costs a bounded amount of memory and never slows the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable

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
        self._subs: dict[int, dict[asyncio.Queue[LiveItem], Callable[[], None] | None]] = (
            defaultdict(dict)
        )
        self._queue_size = queue_size
        # Newest cursor published per channel (everything up to it has been published).
        self._last: dict[int, int] = {}
        self.overflows = 0
        self._n_waiters = 0

    @property
    def subscribers(self) -> int:
        """Live subscribers connected now."""
        return sum(len(s) for s in self._subs.values())

    @property
    def waiters(self) -> int:
        """Long-poll waiters registered now."""
        return self._n_waiters

    def waiting(self, channel: int, seq: int) -> bool:
        """Whether some long-poll is waiting for (channel, seq) now."""
        return (channel, seq) in self._waiters

    def waiter(self, channel: int, seq: int) -> asyncio.Event:
        """Return an event set at the next write of (channel, seq); pair with :meth:`unwait`."""
        ev = asyncio.Event()
        self._waiters[(channel, seq)].add(ev)
        self._n_waiters += 1
        return ev

    def unwait(self, channel: int, seq: int, ev: asyncio.Event) -> None:
        """Forget a waiter."""
        s = self._waiters.get((channel, seq))
        if s is not None and ev in s:
            s.discard(ev)
            self._n_waiters -= 1
            if not s:
                del self._waiters[(channel, seq)]

    def last_cursor(self, channel: int) -> int | None:
        """Return the newest cursor this hub has seen on ``channel`` (None: not known yet)."""
        return self._last.get(channel)

    def note_cursor(self, channel: int, cursor: int) -> None:
        """Record a cursor read from the database (a newer published one wins)."""
        if cursor > self._last.get(channel, -1):
            self._last[channel] = cursor

    def subscribe(
        self, channel: int, on_overflow: Callable[[], None] | None = None
    ) -> asyncio.Queue[LiveItem]:
        """Return a bounded queue of live messages for ``channel``.

        When the queue is full at a publish, the subscriber is removed and ``on_overflow`` is
        called (synchronously, from :meth:`publish`); without one, the queue gets ``None``
        (:data:`RESYNC`) instead, meaning: resync from the database.
        """
        q: asyncio.Queue[LiveItem] = asyncio.Queue(self._queue_size)
        self._subs[channel][q] = on_overflow
        return q

    def unsubscribe(self, channel: int, q: asyncio.Queue[LiveItem]) -> None:
        """Forget a subscriber."""
        self._subs[channel].pop(q, None)

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
                self.overflows += 1
                kick = subs[q]
                if kick is None:
                    _resync(q)
                else:
                    del subs[q]
                    kick()


def _resync(q: asyncio.Queue[LiveItem]) -> None:
    while not q.empty():
        q.get_nowait()
    q.put_nowait(RESYNC)
