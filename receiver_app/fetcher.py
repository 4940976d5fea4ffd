"""Fetching caption text for heard triggers: a cache, keep-alive GETs, retry with backoff.

One :class:`archive_client.ArchiveClient` (httpx, keep-alive) is shared by a few worker threads.
For each (channel, seq) heard, one job asks ``GET .../captions/{seq}?wait=S`` until the caption is
there and final, the archive says nothing exists after ``fetch_give_up_s``, or the trigger is no
longer current. Every phone sends that same request (S is ``fetch_wait_s``, not shortened to the
time left), so a proxy cache in front of the archive answers the crowd with one origin request
(docs/archive.md). An answer that is not final yet (404 or a partial) and came back in under
``_REPOLL_S`` came from a cache: the next poll waits out the rest of that second (jittered), so a
phone never spins on a cached answer. While the archive is unreachable the job backs off
(doubling up to ``retry_max_s``, jittered) and reports it once per outage through ``on_status``;
the rest of the app keeps listening. A small LRU cache of final captions makes a repeated trigger
cost no request; the live WebSocket follower fills the same cache.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from receiver_app.settings import ReceiverSettings

__all__ = ["CaptionCache", "CaptionFetcher", "FetchResult"]

#: a non-final answer sooner than this is a cached one (the archive's poll_max_age_s is 1 s)
_REPOLL_S = 1.0


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one trigger's caption.

    Attributes
    ----------
    channel, seq : int
        The trigger.
    caption : Any or None
        The :class:`archive_client.Caption`, or None when it never came.
    reason : str
        ``"ok"``, ``"cached"``, ``"missing"`` (404 until give-up), ``"unknown_channel"``
        (the archive has no such channel), ``"refused"`` or ``"unreachable"``.
    attempts : int
        Requests made.
    """

    channel: int
    seq: int
    caption: Any
    reason: str
    attempts: int


class CaptionCache:
    """A thread-safe LRU of captions by (channel, seq)."""

    def __init__(self, size: int) -> None:
        self._items: LRUCache[tuple[int, int], Any] = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: tuple[int, int]) -> Any:
        """Return the cached caption, or None."""
        with self._lock:
            cap = self._items.get(key)
            if cap is not None:
                self.hits += 1
            return cap

    def put(self, key: tuple[int, int], caption: Any) -> None:
        """Remember a caption (newer revisions replace older ones)."""
        with self._lock:
            old = self._items.get(key)
            if old is not None and getattr(old, "revision", 0) > getattr(caption, "revision", 0):
                return
            self._items[key] = caption


class CaptionFetcher:
    """Fetch captions in the background.

    Parameters
    ----------
    settings : ReceiverSettings
        Archive URL, waits, backoff, cache size.
    on_result : callable
        Called (from a worker thread) with each :class:`FetchResult`.
    on_status : callable
        Called with a one-line status for the viewer ("archive unreachable ... retrying",
        "archive reachable again").
    """

    def __init__(
        self,
        settings: ReceiverSettings,
        on_result: Callable[[FetchResult], None],
        on_status: Callable[[str], None],
    ) -> None:
        from archive_client import ArchiveClient

        self.settings = settings
        self.cache = CaptionCache(settings.cache_size)
        self._client = ArchiveClient(
            settings.archive_url, token=None, timeout_s=settings.http_timeout_s
        )
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fetch")
        self._on_result = on_result
        self._on_status = on_status
        self._inflight: set[tuple[int, int]] = set()
        self._lock = threading.Lock()
        self._down = False
        self._closed = threading.Event()
        self.requests = 0

    def request(self, channel: int, seq: int) -> bool:
        """Fetch (channel, seq) unless it is cached or already being fetched.

        Returns
        -------
        bool
            True if a result will be delivered through ``on_result`` (cached ones immediately).
        """
        key = (channel, seq)
        cap = self.cache.get(key)
        if cap is not None and bool(getattr(cap, "final", True)):
            self._on_result(FetchResult(channel, seq, cap, "cached", 0))
            return True
        with self._lock:
            if key in self._inflight:
                return False
            self._inflight.add(key)
        self._pool.submit(self._job, channel, seq)
        return True

    def _set_down(self, down: bool, detail: str) -> None:
        with self._lock:
            changed = down != self._down
            self._down = down
        if changed:
            self._on_status(
                f"archive {self.settings.archive_url} unreachable ({detail}); still listening, "
                "retrying"
                if down
                else f"archive {self.settings.archive_url} reachable again"
            )

    def _job(self, channel: int, seq: int) -> None:
        from archive_client import ArchiveError, ArchiveUnavailable

        s = self.settings
        deadline = time.monotonic() + s.fetch_give_up_s
        backoff = s.retry_initial_s
        attempts = 0
        reason = "missing"
        caption: Any = None
        try:
            while not self._closed.is_set():
                cached = self.cache.get((channel, seq))
                if cached is not None and bool(getattr(cached, "final", True)):
                    if reason == "unreachable":
                        # the live socket (rejoined at this trigger) brought it while this job
                        # backed off: the archive is back, said once as a GET would say it
                        self._set_down(False, "")
                    caption, reason = cached, "cached"
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                attempts += 1
                self.requests += 1
                t_ask = time.monotonic()
                try:
                    got = self._client.get_caption(channel, seq, wait_s=s.fetch_wait_s)
                except ArchiveUnavailable as exc:
                    reason = "unreachable"
                    self._set_down(True, str(exc))
                    pause = backoff * random.uniform(0.5, 1.0)
                    self._closed.wait(min(pause, max(0.0, deadline - time.monotonic())))
                    backoff = min(s.retry_max_s, backoff * 2)
                    continue
                except ArchiveError as exc:
                    # A refusal will not change by retrying. No such channel is the app's to
                    # tell (it may be a false ID: receiver_app.app says it only if heard again).
                    if getattr(exc, "code", "") == "channel_not_found":
                        reason = "unknown_channel"
                        break
                    self._on_status(f"archive refused caption {channel}/{seq}: {exc}")
                    reason = "refused"
                    break
                self._set_down(False, "")
                backoff = s.retry_initial_s
                if got is not None:
                    caption = got
                    self.cache.put((channel, seq), got)
                    if bool(getattr(got, "final", True)):
                        reason = "ok"
                        break
                    reason = "partial"
                else:
                    reason = "missing"
                if s.fetch_wait_s == 0:
                    pause = 0.25
                else:
                    pause = _REPOLL_S - (time.monotonic() - t_ask)
                    pause = pause + random.uniform(0.0, 0.2) if pause > 0 else 0.0
                self._closed.wait(min(pause, max(0.0, deadline - time.monotonic())))
        finally:
            with self._lock:
                self._inflight.discard((channel, seq))
        self._on_result(FetchResult(channel, seq, caption, reason, attempts))

    def close(self) -> None:
        """Stop retrying and release the connection pool."""
        self._closed.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(self._client, "close", None)
        if close is not None:
            close()
