"""The hot path: GET of one caption by id answered straight from the rendered-caption cache.

On a busy night almost every request is ``GET /v1/channels/{c}/captions/{s}`` for a caption that
is already in :class:`~archive_server.store.Store`'s cache. This pure-ASGI middleware (outermost)
answers those with the pre-serialised body and ETag, without FastAPI routing, dependency injection
or validation, and records the same metrics as the normal path. Everything else (a cache miss, a
long-poll ``?wait=``, any query string, a CORS origin the settings do not allow to everyone, HEAD)
goes down the normal FastAPI path, which produces the same response for the same request
(``tests/test_archive_app.py`` checks both paths give identical answers).

Runs on the event loop for every such request: no logging, no database, no allocation beyond the
header list.
"""

from __future__ import annotations

import re
import time
from typing import Any

from archive_server.store import CHANNEL_MAX, SEQ_MAX, Store

__all__ = ["HotCaptionPath"]

ROUTE = "/v1/channels/{channel}/captions/{seq}"
_PATH = re.compile(r"/v1/channels/([0-9]{1,4})/captions/([0-9]{1,7})")


class HotCaptionPath:
    """ASGI middleware serving cached captions by id (see the module docstring).

    Parameters
    ----------
    app : ASGI app
        The FastAPI app (everything not handled here goes to it).
    state : starlette.datastructures.State
        The app's state; its ``store`` (set by the lifespan) holds the cache.
    metrics : object
        The app's metrics (``requests`` counter, ``latency`` histogram by method/route).
    max_age_s : int
        ``Cache-Control: max-age`` of final captions, seconds.
    cors_any : bool
        Whether reads are open to every origin (then ``Origin`` requests are answered here with
        ``Access-Control-Allow-Origin: *`` as the CORS middleware would).
    """

    def __init__(self, app: Any, state: Any, metrics: Any, max_age_s: int, cors_any: bool) -> None:
        self.app = app
        self.state = state
        self.cors_any = cors_any
        self._cc_final = f"public, max-age={max_age_s}".encode()
        self._ok = metrics.requests.labels("GET", ROUTE, "200")
        self._nm = metrics.requests.labels("GET", ROUTE, "304")
        self._lat = metrics.latency.labels("GET", ROUTE)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer a cached caption GET or pass the request on."""
        store: Store | None = getattr(self.state, "store", None)
        if (
            store is None
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        m = _PATH.fullmatch(scope["path"])
        if m is None:
            await self.app(scope, receive, send)
            return
        channel, seq = int(m[1]), int(m[2])
        r = store.cached(channel, seq) if channel <= CHANNEL_MAX and seq <= SEQ_MAX else None
        if r is None:
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        inm = None
        origin = False
        for k, v in scope["headers"]:
            if k == b"if-none-match":
                inm = v
            elif k == b"origin":
                origin = True
        if origin and not self.cors_any:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = []
        status = 200
        if r.etag is not None:
            etag = r.etag.encode()
            headers.append((b"etag", etag))
            headers.append((b"cache-control", self._cc_final))
            if inm is not None and etag in [t.strip() for t in inm.split(b",")]:
                status = 304
        else:
            headers.append((b"cache-control", b"no-cache"))
        body = r.body if status == 200 else b""
        if status == 200:
            headers.append((b"content-length", str(len(body)).encode()))
            headers.append((b"content-type", b"application/json"))
        if origin:
            headers.append((b"access-control-allow-origin", b"*"))
            headers.append((b"access-control-expose-headers", b"ETag"))
        headers.append((b"vary", b"Origin"))  # as Starlette's CORS middleware always does
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        (self._ok if status == 200 else self._nm).inc()
        self._lat.observe(time.perf_counter() - t0)
