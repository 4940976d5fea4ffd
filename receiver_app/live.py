"""Following the archive's live WebSocket for partial text and corrections.

A background thread runs an asyncio loop with :class:`archive_client.AsyncArchiveClient` and
follows ``WS /v1/channels/{ch}/live`` for the channel the receiver currently hears. Every event's
caption goes to ``on_caption`` (the app caches it, and updates it in place if it is on screen).
When the connection drops it reconnects with jittered backoff
(:meth:`archive_client.AsyncArchiveClient.follow`) and resumes from the last cursor seen, so no
correction is missed; on a channel switch it follows the new channel (each channel keeps its own
cursor). Joining a channel at a heard trigger asks for that trigger's caption as it stands
(``from_seq``), so its first words are shown at once rather than at its next revision.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from receiver_app.settings import ReceiverSettings

__all__ = ["LiveFollower"]


class LiveFollower:
    """Follow one channel's live caption stream in a background thread.

    Parameters
    ----------
    settings : ReceiverSettings
        Archive URL and backoff.
    on_caption : callable
        Called (from the follower's thread) with each event's ``Caption``.
    on_status : callable
        Called with one-line statuses (connection lost / restored).
    on_rejected : callable, optional
        Called with (channel, one-line message) when the archive refuses the channel (no such
        channel): the app decides whether to tell it (a false ID's channel is not told). Without
        it the message goes to ``on_status``.
    """

    def __init__(
        self,
        settings: ReceiverSettings,
        on_caption: Callable[[Any], None],
        on_status: Callable[[str], None],
        on_rejected: Callable[[int, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_rejected = on_rejected
        self._on_caption = on_caption
        self._on_status = on_status
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live", daemon=True)
        self._thread.start()
        self._task: concurrent.futures.Future[None] | None = None
        self.cursors: dict[int, int] = {}
        self.events = 0
        self.reconnects = 0
        self.channel: int | None = None

    def follow(self, channel: int, from_seq: int | None = None) -> None:
        """Follow ``channel`` (stops following the previous one).

        ``from_seq``: the trigger that made the receiver join; when the channel has no cursor
        yet, the stream starts with that caption as the archive has it now.
        """
        if channel == self.channel:
            return
        self.channel = channel
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.run_coroutine_threadsafe(self._run(channel, from_seq), self._loop)

    async def _run(self, channel: int, from_seq: int | None) -> None:
        from archive_client import ArchiveRejected, ArchiveUnavailable, AsyncArchiveClient

        down = [False]

        def dropped(exc: ArchiveUnavailable) -> None:
            self.reconnects += 1
            if not down[0]:
                self._on_status(
                    f"live captions for channel {channel} interrupted ({exc}); reconnecting"
                )
                down[0] = True

        try:
            async with AsyncArchiveClient(
                self.settings.archive_url, timeout_s=self.settings.http_timeout_s
            ) as ac:
                # follow(): jittered reconnects, resume after the last cursor, duplicates dropped
                cursor = self.cursors.get(channel)
                async for ev in ac.follow(
                    channel,
                    after_cursor=cursor,
                    from_seq=from_seq if cursor is None else None,
                    backoff_initial_s=self.settings.retry_initial_s,
                    backoff_max_s=self.settings.retry_max_s,
                    on_drop=dropped,
                ):
                    if down[0]:
                        self._on_status(f"live captions for channel {channel} resumed")
                        down[0] = False
                    self.cursors[channel] = int(ev.cursor)
                    self.events += 1
                    self._on_caption(ev.caption)
        except ArchiveRejected as exc:
            msg = f"no live captions for channel {channel}: {exc}"
            if self._on_rejected is not None:
                self._on_rejected(channel, msg)
            else:
                self._on_status(msg)

    def close(self) -> None:
        """Stop following and end the thread."""

        async def _shutdown() -> None:
            # Cancel and await every task on the loop, so none is destroyed while pending.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        fut = asyncio.run_coroutine_threadsafe(_shutdown(), self._loop)
        with contextlib.suppress(Exception):
            fut.result(timeout=3.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self._loop.close()
