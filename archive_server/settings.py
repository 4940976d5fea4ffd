"""Settings of the archive server: environment ``JIMAKU_ARCHIVE_*`` overridden by CLI flags."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ArchiveSettings", "get_settings", "safe_url"]


class ArchiveSettings(BaseSettings):
    """Everything the server can be told (frozen; tests build their own and override the dep).

    Attributes
    ----------
    db : str
        SQLAlchemy async URL: ``sqlite+aiosqlite:///path.db`` or ``postgresql+asyncpg://...``.
    host, port : str, int
        Where uvicorn listens (loopback by default).
    max_wait_s : float
        Upper bound of ``?wait=`` long-polls, seconds.
    write_rate_per_s, write_burst : float, int
        Token bucket per write token (PUTs per second, bucket size).
    wait_rate_per_s, wait_burst : float, int
        Token bucket per client address for long-polls (``wait > 0``).
    final_max_age_s : int
        ``Cache-Control: max-age`` for final captions; short because corrections happen.
    cors_origins : list[str]
        Origins allowed to read (reads are public).
    max_body_bytes : int
        Request bodies above this get 413.
    ws_impl : str
        uvicorn's WebSocket implementation (``auto``, ``websockets``, ``websockets-sansio``,
        ``wsproto``).
    bus : str
        How writes reach the other archive processes: ``postgres`` (LISTEN/NOTIFY on the
        archive's database), ``memory`` (one process only) or ``auto`` (``postgres`` for a
        PostgreSQL URL, ``memory`` for SQLite).
    bus_check_s : float
        With the ``postgres`` bus, seconds between checks of every channel's newest cursor, which
        recover a notification the bus lost without a disconnect.
    live_queue : int
        Live messages queued at most for one WebSocket subscriber; a subscriber that falls
        further behind is disconnected (close code 1013) and resumes by cursor.
    ws_ping_interval_s, ws_ping_timeout_s : float
        WebSocket pings from the server (under nginx's 60 s and Cloudflare's 100 s idle timeouts)
        and how long a pong may take before the socket is closed.
    poll_max_age_s : int
        ``Cache-Control: max-age`` of a long-poll answer that is not a final caption (a 404 or a
        partial after the wait): long enough that a proxy collapses the crowd's next round of
        polls into one origin request, short enough that a caption stored just after is late by
        at most this much.
    max_waiters : int
        Long-polls held open at most (more get 429).
    loop : str
        uvicorn's event loop: ``asyncio`` (default) or ``uvloop``. Measured with
        ``benchmarks/bench_archive.py`` (200 wrk clients connecting at once, 2 cores): uvloop
        leaves some connections unserved for up to ~1 s while it answers the others (GET p99
        250-650 ms over 10 s runs, p90 ~240 ms in the first second); the standard loop serves
        them in turn (p99 17-20 ms, max 24 ms) at ~12 % less throughput (13,500 vs 15,300 req/s).
    """

    model_config = SettingsConfigDict(env_prefix="JIMAKU_ARCHIVE_", frozen=True)

    db: str = "sqlite+aiosqlite:///jimaku-archive.db"
    host: str = "127.0.0.1"
    port: int = 8000
    max_wait_s: float = 30.0
    write_rate_per_s: float = 50.0
    write_burst: int = 200
    wait_rate_per_s: float = 20.0
    wait_burst: int = 60
    final_max_age_s: int = 2
    cors_origins: list[str] = ["*"]
    max_body_bytes: int = 64 * 1024
    log_level: str = "info"
    ws_impl: str = "auto"
    loop: Literal["asyncio", "uvloop"] = "asyncio"
    bus: Literal["auto", "memory", "postgres"] = "auto"
    bus_check_s: float = 2.0
    live_queue: int = 1000
    ws_ping_interval_s: float = 20.0
    ws_ping_timeout_s: float = 20.0
    poll_max_age_s: int = 1
    max_waiters: int = 50_000

    def bus_kind(self) -> Literal["memory", "postgres"]:
        """Return the bus actually used (``auto`` resolved from the database URL)."""
        if self.bus != "auto":
            return self.bus
        return "postgres" if self.db.startswith("postgresql") else "memory"


@lru_cache(maxsize=1)
def get_settings() -> ArchiveSettings:
    """Return the settings from the environment (cached; tests override the dependency)."""
    return ArchiveSettings()


def safe_url(url: str) -> str:
    """Return ``url`` with any user/password part masked (for logs and messages)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
