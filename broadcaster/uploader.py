"""Send captions to the archive from a background thread, through the durable spool.

Finals: written to the :class:`~broadcaster.spool.Spool` first, then PUT; on
``ArchiveUnavailable`` the caption stays spooled and is retried with exponential backoff (0.5 s
doubling to 30 s); on ``ArchiveRejected`` (the archive will never accept this body) it is kept in
the spool as ``rejected`` for the operator, reported as ``failed``. Partials: only the newest one
per caption is sent, at most every ``partial_interval_s``, and never spooled (a stale partial is
worthless once the final exists). Nothing here ever blocks the programme audio: callers only
append to the spool and set an event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from broadcaster.spool import Spool, SpoolItem
from jimaku import events as ev

__all__ = ["Uploader", "utc_iso"]

Emit = Callable[[ev.BroadcastEventBase], None]


def utc_iso(t: float) -> str:
    """ISO-8601 UTC for a POSIX time *t* (s)."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat()


class Uploader:
    """The upload worker.

    Parameters
    ----------
    client : archive_client.ArchiveClient
        Talks to the archive (its errors are the archive_client tree).
    spool : Spool
        Durable queue of finals.
    emit : callable
        Receives status events (:class:`jimaku.events.Upload`, ``ArchiveHealth``, ...).
    partial_interval_s : float
        Minimum time between two partial PUTs (s).
    backoff_initial_s, backoff_max_s : float
        Retry delay after the archive was unreachable: doubles from initial up to max (s).
    """

    def __init__(
        self,
        client: Any,
        spool: Spool,
        emit: Emit,
        *,
        partial_interval_s: float = 0.5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.client = client
        self.spool = spool
        self.emit = emit
        self.partial_interval_s = partial_interval_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._backoff_s = backoff_initial_s
        self._retry_at = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._partial: tuple[int, int, dict[str, Any]] | None = None
        self._partial_lock = threading.Lock()
        self._last_partial_t = 0.0
        self._last_partial_key: tuple[int, int] | None = None
        self._finalised: set[tuple[int, int]] = set()
        self.healthy: bool | None = None
        self.stored = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="jimaku-uploader", daemon=True)

    def start(self) -> None:
        """Start the worker thread (also sends whatever an earlier run left in the spool)."""
        self._thread.start()

    def submit_final(self, channel: int, seq: int, body: dict[str, Any]) -> None:
        """Spool a final caption (durable when this returns) and wake the worker."""
        with self._partial_lock:
            self._finalised.add((channel, seq))
            if self._partial and self._partial[:2] == (channel, seq):
                self._partial = None
        self.spool.put(channel, seq, body)
        self._wake.set()

    def submit_partial(self, channel: int, seq: int, body: dict[str, Any]) -> None:
        """Offer the newest partial text of caption *channel*/*seq* (may be skipped)."""
        with self._partial_lock:
            if (channel, seq) not in self._finalised:
                self._partial = (channel, seq, body)
        self._wake.set()

    def pending(self) -> int:
        """Count the finals not yet confirmed by the archive."""
        return self.spool.count()

    def drain(self, timeout_s: float) -> bool:
        """Wait until the spool is empty of retryable items or *timeout_s* passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(i.state != "rejected" for i in self.spool.items()):
                return True
            self._wake.set()
            time.sleep(0.05)
        return not any(i.state != "rejected" for i in self.spool.items())

    def stop(self) -> None:
        """Stop the worker (the spool keeps anything unsent for the next run)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _set_health(self, ok: bool, detail: str = "") -> None:
        if ok != self.healthy:
            self.healthy = ok
            self.emit(ev.ArchiveHealth(healthy=ok, detail=detail))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.25)
            self._wake.clear()
            self._send_partial()
            if self.healthy is False and time.monotonic() < self._retry_at:
                continue  # archive down: one probe per backoff step, not one per new caption
            for item in self.spool.due():
                if self._stop.is_set() or not self._send_final(item):
                    break

    def _send_partial(self) -> None:
        from archive_client import ArchiveError, CaptionIn

        with self._partial_lock:
            p = self._partial
            now = time.monotonic()
            if p is None:
                return
            # a new utterance's first words go out at once (its trigger may be on air already);
            # later partials of the same utterance at most every partial_interval_s
            first = p[:2] != self._last_partial_key
            if not first and now - self._last_partial_t < self.partial_interval_s:
                return
            if self.healthy is False:
                return  # the finals' retries probe the archive; partials would only pile up
            self._partial = None
            self._last_partial_t = now
            self._last_partial_key = p[:2]
        channel, seq, body = p
        try:
            self.client.put_caption(channel, seq, CaptionIn(**body))
        except (ArchiveError, ValidationError) as exc:
            self.emit(ev.PartialUpload(seq=seq, ok=False, error=str(exc)))
            return
        self.emit(ev.PartialUpload(seq=seq, ok=True, first=first))

    def _send_final(self, item: SpoolItem) -> bool:
        """Try one spooled caption; False when the archive is down (stop this round)."""
        from archive_client import ArchiveError, ArchiveRejected, ArchiveUnavailable, CaptionIn

        try:
            self.client.put_caption(item.channel, item.seq, CaptionIn(**item.body))
        except ValidationError as exc:
            # the archive's own limits (archive_client mirrors them): it would answer 422
            first = exc.errors()[0]
            why = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            return self._rejected(item, f"the archive would refuse this caption ({why})")
        except ArchiveUnavailable as exc:
            self._set_health(False, str(exc))
            self.spool.retry_later(item, self._backoff_s, str(exc), "spooled")
            self._retry_at = time.monotonic() + self._backoff_s
            self.emit(
                ev.Upload(
                    channel=item.channel,
                    seq=item.seq,
                    state="spooled",
                    attempts=item.attempts + 1,
                    error=str(exc),
                    retry_in_s=self._backoff_s,
                )
            )
            self._backoff_s = min(self._backoff_s * 2, self.backoff_max_s)
            return False
        except ArchiveRejected as exc:
            return self._rejected(item, str(exc))
        except ArchiveError as exc:  # e.g. ArchiveAuthError: keep it, retry slowly
            self.spool.retry_later(item, self.backoff_max_s, str(exc), "spooled")
            self._retry_at = time.monotonic() + self.backoff_max_s
            self.emit(
                ev.Upload(
                    channel=item.channel,
                    seq=item.seq,
                    state="failed",
                    error=str(exc),
                    retry_in_s=self.backoff_max_s,
                )
            )
            return False
        self._set_health(True)
        self._backoff_s = self.backoff_initial_s
        if self.spool.done(item):
            self.stored += 1
            self.emit(
                ev.Upload(
                    channel=item.channel,
                    seq=item.seq,
                    state="stored",
                    stored_at=utc_iso(time.time()),
                    attempts=item.attempts + 1,
                )
            )
        return True

    def _rejected(self, item: SpoolItem, why: str) -> bool:
        """Keep a caption the archive refuses (state ``rejected``) and go on with the next."""
        self.spool.retry_later(item, 0.0, why, "rejected")
        self.failed += 1
        self.emit(
            ev.Upload(
                channel=item.channel,
                seq=item.seq,
                state="failed",
                error=why,
            )
        )
        return True
