"""Pure-ASGI middleware in front of every HTTP route: body limit, UTF-8 check, metrics, access log.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: it counts a write's body as it arrives
(refused as soon as it passes the limit, before FastAPI reads it) and adds no task per request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from archive_server.metrics import Metrics

__all__ = ["Guard"]

log = logging.getLogger("archive_server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Guard:
    """Pure-ASGI middleware: body limit + UTF-8 check on writes, metrics, JSON access log."""

    def __init__(self, app: Any, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def _reject(self, send: Send, status: int, detail: str, code: str) -> None:
        body = json.dumps({"detail": detail, "code": code}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass ``scope`` to the app, counting and checking an HTTP request on the way."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        method = scope["method"]
        status_box = [500]

        async def send_wrap(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                status_box[0] = int(msg["status"])
            await send(msg)

        try:
            if method in ("PUT", "POST", "PATCH"):
                chunks: list[bytes] = []
                size = 0
                more = True
                while more:
                    m = await receive()
                    if m["type"] == "http.disconnect":
                        return
                    chunk = m.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        status_box[0] = 413
                        await self._reject(
                            send,
                            413,
                            f"request body over {self.max_body} bytes; "
                            "captions are at most 2000 characters",
                            "body_too_large",
                        )
                        return
                    chunks.append(chunk)
                    more = bool(m.get("more_body"))
                body = b"".join(chunks)
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    status_box[0] = 422
                    await self._reject(
                        send,
                        422,
                        f"request body is not valid UTF-8 (byte {exc.start}); send UTF-8 JSON",
                        "invalid_utf8",
                    )
                    return
                sent = [False]

                async def replay() -> Message:
                    if not sent[0]:
                        sent[0] = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_wrap)
            else:
                await self.app(scope, receive, send_wrap)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            dt_s = time.perf_counter() - t0
            self.metrics.requests.labels(method, route, str(status_box[0])).inc()
            self.metrics.latency.labels(method, route).observe(dt_s)
            if method != "GET" or status_box[0] >= 500:
                log.info(
                    "request",
                    extra={
                        "json": {
                            "method": method,
                            "path": scope["path"],
                            "status": status_box[0],
                            "ms": round(dt_s * 1000, 2),
                            "client": (scope.get("client") or ("?",))[0],
                        }
                    },
                )
