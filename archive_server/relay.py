"""Publishing writes to this process's hub in cursor order, whoever made them.

Each channel's cursors are gap-free in the database (:mod:`archive_server.store`), so the hub
knows it has seen everything up to ``hub.last_cursor(channel)``. A write this process made, or a
hint from the bus that another process made one, either continues that sequence (the local write
with the next cursor is published at once, without a database read) or leaves a gap, which the
relay fills from the database (:meth:`Store.events_after`) before anything newer is published.
So nothing a subscriber, a long-poll waiter or the rendered-caption cache of ANY process should
see depends on the bus delivering every hint: a lost hint is recovered at the next hint of the
channel, at the listener's reconnect, or by the periodic check of every channel's newest cursor
(one small query every ``check_s``), whichever comes first.

With one process and the in-memory bus, the only hints are the process's own writes; gaps then
come from concurrent writers committing out of order, and are filled the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from archive_server.bus import PgListener
from archive_server.errors import StorageError
from archive_server.hub import Hub
from archive_server.settings import ArchiveSettings
from archive_server.store import PutResult, Store

__all__ = ["Relay", "start_fanout"]

log = logging.getLogger("archive_server.relay")


class Relay:
    """Hub feeder with gap backfill (see the module docstring).

    Parameters
    ----------
    hub : Hub
        This process's hub (waiters, live subscribers).
    store : Store
        The database (the log) and its rendered-caption cache.
    check_s : float or None
        Seconds between checks of every channel's newest cursor; None: no periodic check (one
        process: every write is this process's own).
    """

    def __init__(self, hub: Hub, store: Store, check_s: float | None = None) -> None:
        self.hub = hub
        self.store = store
        self.check_s = check_s
        self._want: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._checker: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.backfills = 0
        self.backfilled = 0

    async def start(self) -> None:
        """Learn every channel's newest cursor and start the backfill (and check) tasks."""
        await self._learn_cursors()
        self._task = asyncio.create_task(self._backfill_loop(), name="relay-backfill")
        if self.check_s is not None:
            self._checker = asyncio.create_task(self._check_loop(), name="relay-check")

    async def close(self) -> None:
        """Stop the tasks."""
        for t in (self._task, self._checker, *self._pending):
            if t is not None:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        self._task = self._checker = None

    def local_write(self, res: PutResult) -> None:
        """Publish a write this process committed (no I/O when it is the next cursor)."""
        ch = res.caption.channel
        last = self.hub.last_cursor(ch)
        if last is None or res.cursor == last + 1:
            self.hub.publish(res.cursor, res.created, res.caption)
        elif res.cursor > last + 1:
            self._need(ch)

    def hint(self, channel: int, cursor: int) -> None:
        """Note that a write with ``cursor`` was committed on ``channel`` (by any process)."""
        last = self.hub.last_cursor(channel)
        if last is None or cursor > last:
            self._need(channel)

    def resync_all(self) -> None:
        """Check every channel against the database (after a bus reconnect)."""
        t = asyncio.get_running_loop().create_task(self._check_once())
        self._pending.add(t)
        t.add_done_callback(self._pending.discard)

    def _need(self, channel: int) -> None:
        self._want.add(channel)
        self._wake.set()

    async def _learn_cursors(self) -> dict[int, int]:
        cursors = await self.store.channel_cursors()
        for ch, cur in cursors.items():
            if self.hub.last_cursor(ch) is None:
                self.hub.note_cursor(ch, cur)
        return cursors

    async def _check_once(self) -> None:
        try:
            cursors = await self.store.channel_cursors()
        except StorageError as exc:
            log.warning("cursor check failed", extra={"json": {"error": str(exc)[:200]}})
            return
        for ch, cur in cursors.items():
            last = self.hub.last_cursor(ch)
            if last is None:
                # a channel created after start: everything in it is new to this process
                self.hub.note_cursor(ch, 0)
                last = 0
            if cur > last:
                self._need(ch)

    async def _check_loop(self) -> None:
        assert self.check_s is not None
        while True:
            await asyncio.sleep(self.check_s)
            await self._check_once()

    async def _backfill_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._want:
                ch = self._want.pop()
                try:
                    await self._backfill(ch)
                except StorageError as exc:
                    # The database is down: keep the channel wanted, retry at the next wake-up
                    # (the next hint, the listener's reconnect or the periodic check).
                    log.warning("backfill failed", extra={"json": {"error": str(exc)[:200]}})
                    self._want.add(ch)
                    await asyncio.sleep(0.5)
                    self._wake.set()
                    break

    async def _backfill(self, channel: int) -> None:
        self.backfills += 1
        while True:
            last = self.hub.last_cursor(channel)
            if last is None:
                last = 0
                self.hub.note_cursor(channel, 0)
            batch = await self.store.events_after(channel, last, 1000)
            for cur, cap in batch:
                # Publishing is synchronous: a local write published during the await above
                # has moved the hub on, and what it already covered is skipped here.
                if cur <= (self.hub.last_cursor(channel) or 0):
                    continue
                self.store.remember(cap)
                self.hub.publish(cur, cap.revision == 1, cap)
                self.backfilled += 1
            if len(batch) < 1000:
                return


async def start_fanout(
    settings: ArchiveSettings, hub: Hub, store: Store
) -> tuple[Relay, PgListener | None]:
    """Start the relay and, for the ``postgres`` bus, its listener (listening when this returns).

    Returns
    -------
    (Relay, PgListener or None)
        Close both (listener first) at shutdown.
    """
    if settings.bus_kind() == "memory":
        relay = Relay(hub, store)
        await relay.start()
        return relay, None
    relay = Relay(hub, store, check_s=settings.bus_check_s)
    await relay.start()
    listener = PgListener(settings.db, relay.hint, relay.resync_all)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
    except TimeoutError:
        # Not fatal: the listener keeps trying and the periodic check covers the meantime.
        log.warning("bus not listening after 10 s; retrying in the background")
    return relay, listener
