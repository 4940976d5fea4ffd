"""The live bus between archive processes: PostgreSQL LISTEN/NOTIFY, or nothing (one process).

Every write on PostgreSQL sends ``NOTIFY jimaku_captions, '<channel>:<cursor>'`` inside its own
transaction (:meth:`archive_server.store.Store.put_caption`), so the hint is delivered exactly when
the caption is committed and never for a write that rolled back. The hint carries no caption body:
the database is the log, and a process that hears ``(channel, cursor)`` reads what it missed from
it (:class:`archive_server.relay.Relay`). NOTIFY is best-effort: a listener that is disconnected
misses hints, so after every reconnect the relay backfills every channel from the database.

:class:`PgListener` owns ONE dedicated connection per process (asyncpg, outside SQLAlchemy's pool:
a pooled connection would be handed back and LISTEN silently lost, asyncpg #189/#283). Connection
loss is noticed three ways, because asyncpg does not always notice it itself (#519): the
termination listener, a ``SELECT 1`` probe every ``probe_s`` with a timeout, and the relay's own
periodic check of the channels' cursors. It reconnects with jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

__all__ = ["APPLICATION_NAME", "NOTIFY_CHANNEL", "PgListener", "asyncpg_dsn", "parse_hint"]

log = logging.getLogger("archive_server.bus")

#: The PostgreSQL notification channel every archive process listens on.
NOTIFY_CHANNEL = "jimaku_captions"
#: ``application_name`` of the listener connections (find them in ``pg_stat_activity``).
APPLICATION_NAME = "jimaku-archive-bus"


def asyncpg_dsn(url: str) -> str:
    """Return the plain ``postgresql://`` DSN asyncpg takes for a SQLAlchemy URL."""
    import sqlalchemy as sa

    u = sa.engine.make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def parse_hint(payload: str) -> tuple[int, int] | None:
    """Return ``(channel, cursor)`` of a ``"<channel>:<cursor>"`` payload (None if malformed)."""
    ch, sep, cur = payload.partition(":")
    if not sep or not ch.isdigit() or not cur.isdigit():
        return None
    return int(ch), int(cur)


class PgListener:
    """A supervised LISTEN connection (see the module docstring).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the archive's PostgreSQL database.
    on_hint : callable
        ``on_hint(channel, cursor)``, called on the event loop for every notification.
    on_connect : callable
        Called (on the event loop) after every successful LISTEN, the first one included: the
        moment to backfill whatever was written while nobody listened.
    probe_s : float
        Seconds between liveness probes of the connection.
    backoff_max_s : float
        Upper bound of the reconnect backoff, seconds.
    """

    def __init__(
        self,
        url: str,
        on_hint: Callable[[int, int], None],
        on_connect: Callable[[], None],
        probe_s: float = 5.0,
        backoff_max_s: float = 5.0,
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._on_hint = on_hint
        self._on_connect = on_connect
        self._probe_s = probe_s
        self._backoff_max_s = backoff_max_s
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self.hints = 0

    def start(self) -> None:
        """Start the supervisor task (returns at once; ``connected`` is set when listening)."""
        self._task = asyncio.create_task(self._supervise(), name="pg-listener")

    async def close(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        hint = parse_hint(payload)
        if hint is None:
            log.warning("bad bus payload", extra={"json": {"payload": payload[:100]}})
            return
        self.hints += 1
        self._on_hint(*hint)

    async def _supervise(self) -> None:
        import asyncpg

        backoff = 0.1
        while True:
            conn: Any = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=5, server_settings={"application_name": APPLICATION_NAME}
                )
                conn.add_termination_listener(lambda _c, ev=lost: ev.set())
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
                self.connects += 1
                self.connected.set()
                backoff = 0.1
                log.info("bus listening", extra={"json": {"connects": self.connects}})
                self._on_connect()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self._probe_s)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=self._probe_s)
            except asyncio.CancelledError:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
                raise
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("bus connection lost", extra={"json": {"error": repr(exc)[:200]}})
            self.connected.clear()
            if conn is not None:
                conn.terminate()
            # Jittered so that N origins do not reconnect to a restarted database in step.
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(self._backoff_max_s, backoff * 2)
