"""Sync and async HTTP/WebSocket clients of the archive (httpx + websockets)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import httpx

from archive_client.errors import (
    ArchiveAuthError,
    ArchiveError,
    ArchiveRejected,
    ArchiveUnavailable,
    NotAnArchive,
)
from archive_client.models import Caption, CaptionIn, LiveEvent

__all__ = ["LONG_POLL_S", "PROXY_HOLD_S", "ArchiveClient", "AsyncArchiveClient"]

#: The long-poll receivers send: ``GET /v1/channels/{c}/captions/{s}?wait=10`` (the same request
#: from every phone, so a proxy cache collapses them; docs/archive.md "The crowd's read path").
LONG_POLL_S = 10.0
#: How long a proxy in front may hold any long-poll (deploy/nginx sends ``wait=10`` upstream,
#: whatever the client asked): a long-poll's read timeout covers at least this.
PROXY_HOLD_S = 10.0


def _poll_timeout(timeout_s: float, wait_s: float) -> float:
    return timeout_s + (max(wait_s, PROXY_HOLD_S) if wait_s > 0 else 0.0)


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _check(r: httpx.Response, what: str) -> None:
    if r.status_code < 400:
        return
    try:
        body = r.json()
        detail, code = str(body.get("detail", "")), str(body.get("code", ""))
    except (ValueError, AttributeError):
        detail, code = r.text[:200], ""
    msg = f"{what}: HTTP {r.status_code}: {detail}"
    if r.status_code in (401, 403):
        raise ArchiveAuthError(msg, r.status_code)
    if r.status_code == 429 or r.status_code >= 500:
        raise ArchiveUnavailable(msg)
    raise ArchiveRejected(msg, r.status_code, detail, code)


def _body(c: CaptionIn) -> dict[str, Any]:
    return json.loads(c.model_dump_json())  # type: ignore[no-any-return]


class ArchiveClient:
    """Blocking client (one keep-alive connection pool; thread-safe per httpx).

    Parameters
    ----------
    url : str
        Archive base URL, e.g. ``http://127.0.0.1:8000``.
    token : str or None
        Channel write token (only for :meth:`put_caption`).
    timeout_s : float
        Connect/read timeout, seconds (a long-poll adds its wait on top).
    """

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)

    def _req(self, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise ArchiveUnavailable(f"{what}: archive at {self.url} timed out ({exc!r})") from exc
        except httpx.HTTPError as exc:
            raise ArchiveUnavailable(
                f"{what}: archive at {self.url} unreachable ({exc!r})"
            ) from exc
        return r

    def put_caption(self, channel: int, seq: int, caption: CaptionIn) -> Caption:
        """Create/update caption (channel, seq); returns what the archive stored."""
        what = f"PUT caption {channel}/{seq}"
        r = self._req(
            "PUT",
            f"/v1/channels/{channel}/captions/{seq}",
            what,
            json=_body(caption),
            headers=_headers(self.token),
        )
        _check(r, what)
        return Caption.model_validate(r.json())

    def get_caption(self, channel: int, seq: int, wait_s: float = 0.0) -> Caption | None:
        """Return the caption, or None (404); ``wait_s`` > 0 long-polls until it is final."""
        what = f"GET caption {channel}/{seq}"
        params = {"wait": f"{min(wait_s, 30.0):.3f}"} if wait_s > 0 else None
        r = self._req(
            "GET",
            f"/v1/channels/{channel}/captions/{seq}",
            what,
            params=params,
            timeout=_poll_timeout(self.timeout_s, wait_s),
        )
        if r.status_code == 404 and r.json().get("code") == "not_found":
            return None
        _check(r, what)
        return Caption.model_validate(r.json())

    def list_captions(
        self, channel: int, after: int | None = None, limit: int = 100
    ) -> list[Caption]:
        """History of a channel (by seq above ``after``)."""
        what = f"GET captions of channel {channel}"
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        r = self._req("GET", f"/v1/channels/{channel}/captions", what, params=params)
        _check(r, what)
        return [Caption.model_validate(c) for c in r.json()["captions"]]

    def health(self) -> bool:
        """Return True when /healthz answers 200 (ArchiveUnavailable when down)."""
        r = self._req("GET", "/healthz", "health check")
        return r.status_code == 200

    def check_is_archive(self) -> None:
        """Make sure the URL is a jimaku archive, as far as can be told now.

        Raises
        ------
        NotAnArchive
            A server answers ``GET /healthz``, but not with the archive's 200
            ``{"status": "ok"}``, or it does not speak HTTP at all.
        ArchiveUnavailable
            Nothing answers now, or a proxy's 429/502/503/504: an archive may be down behind it.
        """
        try:
            r = self._http.get("/healthz")
        except httpx.RemoteProtocolError as exc:
            raise NotAnArchive(f"{self.url} is not an HTTP server ({exc})") from exc
        except httpx.HTTPError as exc:
            raise ArchiveUnavailable(f"health check: archive at {self.url}: {exc!r}") from exc
        if r.status_code in (429, 502, 503, 504):
            raise ArchiveUnavailable(f"health check: archive at {self.url}: HTTP {r.status_code}")
        try:
            ok = r.status_code == 200 and r.json() == {"status": "ok"}
        except ValueError:
            ok = False
        if not ok:
            raise NotAnArchive(
                f"{self.url} is not a jimaku archive (GET /healthz answered {r.status_code}, "
                'not {"status": "ok"})'
            )

    def close(self) -> None:
        """Close connections."""
        self._http.close()

    def __del__(self) -> None:
        # A client dropped without close() must not leak its keep-alive socket.
        http = getattr(self, "_http", None)
        if http is not None:
            with contextlib.suppress(Exception):
                http.close()

    def __enter__(self) -> ArchiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncArchiveClient:
    """Async twin of :class:`ArchiveClient`, plus :meth:`live`. Use as ``async with``."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout_s)

    async def __aenter__(self) -> AsyncArchiveClient:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close connections."""
        await self._http.aclose()

    async def _req(self, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise ArchiveUnavailable(f"{what}: archive at {self.url} timed out ({exc!r})") from exc
        except httpx.HTTPError as exc:
            raise ArchiveUnavailable(
                f"{what}: archive at {self.url} unreachable ({exc!r})"
            ) from exc

    async def put_caption(self, channel: int, seq: int, caption: CaptionIn) -> Caption:
        """See :meth:`ArchiveClient.put_caption`."""
        what = f"PUT caption {channel}/{seq}"
        r = await self._req(
            "PUT",
            f"/v1/channels/{channel}/captions/{seq}",
            what,
            json=_body(caption),
            headers=_headers(self.token),
        )
        _check(r, what)
        return Caption.model_validate(r.json())

    async def get_caption(self, channel: int, seq: int, wait_s: float = 0.0) -> Caption | None:
        """See :meth:`ArchiveClient.get_caption`."""
        what = f"GET caption {channel}/{seq}"
        params = {"wait": f"{min(wait_s, 30.0):.3f}"} if wait_s > 0 else None
        r = await self._req(
            "GET",
            f"/v1/channels/{channel}/captions/{seq}",
            what,
            params=params,
            timeout=_poll_timeout(self.timeout_s, wait_s),
        )
        if r.status_code == 404 and r.json().get("code") == "not_found":
            return None
        _check(r, what)
        return Caption.model_validate(r.json())

    async def health(self) -> bool:
        """See :meth:`ArchiveClient.health`."""
        r = await self._req("GET", "/healthz", "health check")
        return r.status_code == 200

    async def live(
        self, channel: int, after_cursor: int | None = None, from_seq: int | None = None
    ) -> AsyncIterator[LiveEvent]:
        """Follow a channel live; pass the last ``cursor`` seen to resume without gaps.

        Parameters
        ----------
        channel : int
            The channel.
        after_cursor : int, optional
            Resume: every caption whose latest change has a higher cursor first, then live.
        from_seq : int, optional
            Join at a heard trigger: caption ``from_seq`` as it stands now first (if stored),
            then live. Not with ``after_cursor``.

        Raises :class:`ArchiveUnavailable` when the connection fails or drops,
        :class:`ArchiveRejected` when the channel does not exist (404) or an argument is out of
        range (422, the server's detail).
        """
        import websockets

        ws_url = "ws" + self.url[4:] if self.url.startswith("http") else self.url
        ws_url += f"/v1/channels/{channel}/live"
        if after_cursor is not None:
            ws_url += f"?after_cursor={int(after_cursor)}"
        if from_seq is not None:
            ws_url += f"{'&' if after_cursor is not None else '?'}from_seq={int(from_seq)}"
        try:
            # No permessage-deflate (the server declines it anyway: memory per socket); pings
            # every 20 s notice a dead path behind a proxy that keeps the TCP side open.
            async with websockets.connect(
                ws_url,
                open_timeout=self.timeout_s,
                max_size=1 << 20,
                compression=None,
                ping_interval=20,
                ping_timeout=20,
            ) as ws:
                async for raw in ws:
                    msg = json.loads(raw)
                    if msg.get("type") == "error":
                        code = str(msg.get("code"))
                        raise ArchiveRejected(
                            f"live channel {channel}: {msg.get('detail')}",
                            404 if code == "channel_not_found" else 422,
                            str(msg.get("detail")),
                            code,
                        )
                    yield LiveEvent(
                        int(msg["cursor"]),
                        str(msg["event"]),
                        Caption.model_validate(msg["caption"]),
                    )
        except ArchiveError:
            raise
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            raise ArchiveUnavailable(f"live channel {channel} at {self.url}: {exc!r}") from exc

    async def follow(
        self,
        channel: int,
        after_cursor: int | None = None,
        *,
        from_seq: int | None = None,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        on_drop: Callable[[ArchiveUnavailable], None] | None = None,
    ) -> AsyncIterator[LiveEvent]:
        """Follow a channel live across drops: reconnect and resume by cursor, forever.

        Each drop (origin killed, proxy restarted, queue overflow at the server) is followed by a
        reconnect after a random delay in ``[0, min(backoff_max_s, backoff_initial_s * 2**n)]``
        (full jitter: a crowd cut off at once does not come back at once), with
        ``after_cursor`` = the last cursor yielded, so nothing is missed; an event whose cursor
        was already yielded is dropped. ``on_drop`` is called with each drop's error.
        :class:`ArchiveRejected` (no such channel, an argument out of range) ends it.

        ``from_seq`` (without ``after_cursor``) joins at a heard trigger: the first connection
        (and every reconnection until an event has been yielded) starts with caption
        ``from_seq`` as it stands, so its first words come at once; later ones resume by cursor.
        """
        last = after_cursor
        failures = 0
        while True:
            try:
                join = from_seq if last is None else None
                async for ev in self.live(channel, after_cursor=last, from_seq=join):
                    failures = 0
                    if last is not None and ev.cursor <= last:
                        continue
                    last = ev.cursor
                    yield ev
                drop = ArchiveUnavailable(f"live channel {channel} at {self.url}: closed")
            except ArchiveUnavailable as exc:
                drop = exc
            if on_drop is not None:
                on_drop(drop)
            delay = min(backoff_max_s, backoff_initial_s * 2**failures)
            failures = min(failures + 1, 30)
            await asyncio.sleep(random.uniform(0, delay))
