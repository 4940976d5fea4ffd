"""The FastAPI application: routes -> :class:`~archive_server.store.Store` -> tables.

``create_app(settings)`` builds an app; the store, hub and limiters live on ``app.state`` and reach
routes through ``Annotated`` dependencies (:data:`StoreDep`, :data:`SettingsDep`, ...), which tests
override.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.websockets import WebSocketDisconnect

from archive_server.errors import ArchiveServerError, ChannelNotFound, RateLimited
from archive_server.hotpath import HotCaptionPath
from archive_server.hub import RESYNC, Hub
from archive_server.models import (
    Caption,
    CaptionIn,
    CaptionList,
    ChannelList,
    ErrorOut,
    IsoTime,
    LiveMessage,
)
from archive_server.ratelimit import RateLimiter
from archive_server.relay import start_fanout
from archive_server.settings import ArchiveSettings, get_settings, safe_url
from archive_server.store import Rendered, Store
from archive_server.subtitles import to_srt, to_vtt
from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ
from web_receiver import mount as mount_web_receiver

__all__ = ["SettingsDep", "StoreDep", "create_app"]

log = logging.getLogger("archive_server")
#: generation-0 threshold of the cyclic GC while serving (see the lifespan below)
_GC_GEN0_THRESHOLD = 10_000

_TIME_Q = "ISO-8601 date-time; without an offset it is read as UTC"
ChannelP = Annotated[
    int, Path(ge=0, le=MAX_CHANNEL, description="channel id (trigger payload, 12 bits)")
]
SeqP = Annotated[int, Path(ge=0, le=MAX_SEQ, description="sequence number (20 bits)")]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 413, 422, 429, 503)
}
#: The exports' 200 bodies as they are sent (the errors stay application/json).
_TEXT_BODY = {"schema": {"type": "string"}}
VTT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"description": "WebVTT", "content": {"text/vtt": _TEXT_BODY}},
}
SRT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"description": "SubRip", "content": {"application/x-subrip": _TEXT_BODY}},
}
PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    201: {"model": Caption, "description": "Created (the first write of this seq)"},
}


def _settings_dep(request: Request) -> ArchiveSettings:
    s: ArchiveSettings = request.app.state.settings
    return s


def _store_dep(request: Request) -> Store:
    s: Store = request.app.state.store
    return s


def _hub_dep(request: Request) -> Hub:
    h: Hub = request.app.state.hub
    return h


SettingsDep = Annotated[ArchiveSettings, Depends(_settings_dep)]
StoreDep = Annotated[Store, Depends(_store_dep)]
HubDep = Annotated[Hub, Depends(_hub_dep)]


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "archive_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "archive_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30),
        )
        self.captions = Gauge(
            "archive_captions_stored", "captions in the database", registry=self.registry
        )
        self.writes = Counter(
            "archive_caption_writes_total",
            "caption writes that changed something",
            ["event"],
            registry=self.registry,
        )
        self.subscribers = Gauge(
            "archive_live_subscribers", "live WebSocket subscribers", registry=self.registry
        )
        self.waiting = Gauge(
            "archive_long_polls_waiting", "long-polls held open now", registry=self.registry
        )
        self.live_kicked = Counter(
            "archive_live_kicked_total",
            "live subscribers disconnected because their queue was full",
            registry=self.registry,
        )
        self.live_delay = Histogram(
            "archive_live_delivery_seconds",
            "from a write's publication to its live message handed to a subscriber's socket",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5),
        )


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Guard:
    """Pure-ASGI middleware: body limit + UTF-8 check on writes, metrics, JSON access log."""

    def __init__(self, app: Any, metrics: _Metrics, max_body: int) -> None:
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


def _caption_response(
    r: Rendered, settings: ArchiveSettings, if_none_match: str | None, status: int = 200
) -> Response:
    headers: dict[str, str] = {}
    if r.etag is not None:
        headers["ETag"] = r.etag
        # Short max-age: corrections happen; revalidation by ETag is cheap.
        headers["Cache-Control"] = f"public, max-age={settings.final_max_age_s}"
        if if_none_match is not None and r.etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers=headers)
    else:
        headers["Cache-Control"] = "no-cache"
    return Response(r.body, status_code=status, headers=headers, media_type="application/json")


def create_app(settings: ArchiveSettings | None = None) -> FastAPI:
    """Build the archive app for ``settings`` (default: :func:`get_settings`)."""
    settings = settings or get_settings()
    metrics = _Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.db)
        await store.migrate()
        app.state.store = store
        metrics.captions.set(await store.count_captions())
        relay, listener = await start_fanout(settings, app.state.hub, store)
        app.state.relay = relay
        # Everything built at start-up lives as long as the process: keep it out of the cyclic
        # GC's generations, so a full collection under load walks only request garbage.
        gc.collect()
        gc.freeze()
        # Young collections every 10,000 net allocations instead of 700: a live fan-out to 2,000
        # subscribers allocates fast, and at 700 it triggered full collections (up to 77 ms of
        # the event loop, measured with a gc callback) in the middle of deliveries; at 10,000
        # none ran while captions were published (bench_archive fan-out p99 228 -> 127-140 ms).
        gc.set_threshold(_GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
        log.info("archive started", extra={"json": {"db": safe_url(settings.db)}})
        try:
            yield
        finally:
            if listener is not None:
                await listener.close()
            await relay.close()
            await store.close()
            log.info("archive stopped", extra={"json": {}})

    app = FastAPI(
        title="jimaku archive",
        version="1",
        lifespan=lifespan,
        description="Caption archive: broadcasters PUT captions under their trigger IDs; "
        "receivers GET them (or follow them live).",
    )
    app.state.settings = settings
    app.state.hub = Hub(queue_size=settings.live_queue)
    app.state.metrics = metrics
    app.state.write_limit = RateLimiter(settings.write_rate_per_s, settings.write_burst)
    app.state.wait_limit = RateLimiter(settings.wait_rate_per_s, settings.wait_burst)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET"],
        allow_headers=["*"],
        expose_headers=["ETag"],
    )
    app.add_middleware(_Guard, metrics=metrics, max_body=settings.max_body_bytes)
    app.add_middleware(
        HotCaptionPath,
        state=app.state,
        metrics=metrics,
        max_age_s=settings.final_max_age_s,
        cors_any="*" in settings.cors_origins,
    )

    @app.exception_handler(ArchiveServerError)
    async def _own(_: Request, exc: ArchiveServerError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{loc}: {e.get('msg')}")
        return JSONResponse(
            {"detail": "; ".join(parts) or "invalid request", "code": "invalid"}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route that matched the path; GET
            # and PUT of a caption are two routes, so list every route's methods
            allowed = {
                m
                for r in app.router.routes
                if isinstance(r, APIRoute) and r.path_regex.match(request.url.path)
                for m in r.methods or ()
            }
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse(
            {"detail": str(exc.detail), "code": code},
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: 200 when the server runs."""
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics_route() -> Response:
        """Prometheus text format: requests, latencies, captions stored, live subscribers."""
        metrics.subscribers.set(app.state.hub.subscribers)
        metrics.waiting.set(app.state.hub.waiters)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/channels", response_model=ChannelList, tags=["channels"])
    async def list_channels(store: StoreDep) -> ChannelList:
        """All channels."""
        return ChannelList(channels=await store.list_channels())

    @app.put(
        "/v1/channels/{channel}/captions/{seq}",
        response_model=Caption,
        responses=PUT_RESPONSES,
        status_code=200,
        tags=["captions"],
    )
    async def put_caption(
        channel: ChannelP,
        seq: SeqP,
        body: CaptionIn,
        store: StoreDep,
        hub: HubDep,
        s: SettingsDep,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Create or update a caption (Bearer token of the channel). 201 when created."""
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        await store.check_token(channel, token)
        assert token is not None
        if not app.state.write_limit.allow(token):
            raise RateLimited(
                f"more than {s.write_rate_per_s:g} writes/s for this token; slow down"
            )
        res = await store.put_caption(channel, seq, body)
        if res.changed:
            metrics.writes.labels("created" if res.created else "updated").inc()
            if res.created:
                metrics.captions.inc()
            app.state.relay.local_write(res)
        return Response(
            res.caption.model_dump_json(),
            status_code=201 if res.created else 200,
            media_type="application/json",
        )

    @app.get(
        "/v1/channels/{channel}/captions/{seq}",
        response_model=Caption,
        responses=ERRORS,
        tags=["captions"],
    )
    async def get_caption(
        request: Request,
        channel: ChannelP,
        seq: SeqP,
        store: StoreDep,
        hub: HubDep,
        s: SettingsDep,
        wait: Annotated[float, Query(ge=0, le=30, description="long-poll seconds")] = 0.0,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Return the caption; with ``wait`` returns as soon as it exists and is final."""
        wait = min(wait, s.max_wait_s)
        cap = await store.get_rendered(channel, seq)
        waited = False
        if (cap is None or not cap.caption.final) and wait > 0:
            # Joining a wait that is already open costs one event, not a database read: a crowd
            # behind one address (carrier-grade NAT) asking for the same caption is not refused.
            # Opening a new wait takes a token of the address's bucket.
            client = request.client.host if request.client else "?"
            if not hub.waiting(channel, seq) and not app.state.wait_limit.allow(client):
                raise RateLimited(
                    f"more than {s.wait_rate_per_s:g} long-polls/s for different captions from "
                    f"{client}; slow down"
                )
            if hub.waiters >= s.max_waiters:
                raise RateLimited(f"{hub.waiters} long-polls open; ask again shortly")
            waited = True
            deadline = time.monotonic() + wait
            while cap is None or not cap.caption.final:
                ev = hub.waiter(channel, seq)
                try:
                    cap = await store.get_rendered(channel, seq)  # re-read after registering
                    if cap is not None and cap.caption.final:
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ev.wait(), left)
                    cap = await store.get_rendered(channel, seq)
                finally:
                    hub.unwait(channel, seq, ev)
                if time.monotonic() >= deadline:
                    break
        # A long-poll answer that is not a final caption is cacheable for poll_max_age_s: a proxy
        # holding the crowd behind its cache lock then answers all of it from this one response
        # and collapses its next round of polls too (uncacheable, they would reach the origin one
        # after another). Without a wait, a 404 or a partial is not cached at all.
        poll_cc = f"public, max-age={s.poll_max_age_s}" if waited else None
        if cap is None:
            if not await store.channel_exists(channel):
                raise ChannelNotFound(f"no channel {channel}")
            return JSONResponse(
                {"detail": f"no caption {seq} on channel {channel}", "code": "not_found"},
                status_code=404,
                headers={"Cache-Control": poll_cc or "no-store"},
            )
        resp = _caption_response(cap, s, if_none_match)
        if poll_cc is not None and cap.etag is None:
            resp.headers["Cache-Control"] = poll_cc
        return resp

    async def _history(
        store: Store,
        channel: int,
        after: int | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
    ) -> list[Caption]:
        if not await store.channel_exists(channel):
            raise ChannelNotFound(f"no channel {channel}")
        return await store.list_captions(
            channel, after=after, since=since, until=until, limit=limit
        )

    @app.get(
        "/v1/channels/{channel}/captions",
        response_model=CaptionList,
        responses=ERRORS,
        tags=["captions"],
    )
    async def list_captions(
        channel: ChannelP,
        store: StoreDep,
        after: Annotated[int | None, Query(ge=-1, le=MAX_SEQ)] = None,
        since: Annotated[
            IsoTime | None,
            Query(description="ISO-8601 date-time; without an offset it is read as UTC"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> CaptionList:
        """History: seq above ``after``, or on-air at/after ``since`` (ISO-8601 with offset)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return CaptionList(captions=await _history(store, channel, after, since, None, limit))

    def _window(
        frm: dt.datetime | None, to: dt.datetime | None
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        f = frm.replace(tzinfo=dt.UTC) if frm is not None and frm.tzinfo is None else frm
        t = to.replace(tzinfo=dt.UTC) if to is not None and to.tzinfo is None else to
        return f, t

    @app.get(
        "/v1/channels/{channel}/captions.vtt",
        responses=VTT_RESPONSES,
        tags=["captions"],
        response_class=Response,
    )
    async def captions_vtt(
        channel: ChannelP,
        store: StoreDep,
        frm: Annotated[IsoTime | None, Query(alias="from", description=_TIME_Q)] = None,
        to: Annotated[IsoTime | None, Query(description=_TIME_Q)] = None,
    ) -> Response:
        """Return the archive as WebVTT (times relative to ``from`` or the first caption)."""
        f, t = _window(frm, to)
        caps = await _history(store, channel, None, f, t, 1000)
        return Response(to_vtt(caps, f), media_type="text/vtt; charset=utf-8")

    @app.get(
        "/v1/channels/{channel}/captions.srt",
        responses=SRT_RESPONSES,
        tags=["captions"],
        response_class=Response,
    )
    async def captions_srt(
        channel: ChannelP,
        store: StoreDep,
        frm: Annotated[IsoTime | None, Query(alias="from", description=_TIME_Q)] = None,
        to: Annotated[IsoTime | None, Query(description=_TIME_Q)] = None,
    ) -> Response:
        """Return the archive as SubRip."""
        f, t = _window(frm, to)
        caps = await _history(store, channel, None, f, t, 1000)
        return Response(to_srt(caps, f), media_type="application/x-subrip; charset=utf-8")

    @app.websocket("/v1/channels/{channel}/live")
    async def live(ws: WebSocket, channel: int, after_cursor: int | None = None) -> None:
        """Every write on the channel as ``LiveMessage`` JSON; resume with ``after_cursor``."""
        store: Store = app.state.store
        hub: Hub = app.state.hub
        if not 0 <= channel <= MAX_CHANNEL or not await store.channel_exists(channel):
            await ws.accept()
            await ws.send_json(
                {"type": "error", "code": "channel_not_found", "detail": f"no channel {channel}"}
            )
            await ws.close(code=4404)
            return
        if after_cursor is None and hub.last_cursor(channel) is None:
            hub.note_cursor(channel, await store.last_cursor(channel))
        # Subscribed BEFORE the handshake completes: a client that has seen the 101 gets every
        # later write (measured: with the accept first, 2,000 subscribers connecting at once
        # lost 3.5 % of the deliveries: subscriptions still queued behind the handshakes).
        # No await between subscribing and reading the start cursor: no write can fall between.
        live_delay = metrics.live_delay
        pump_box: list[asyncio.Task[None] | None] = [None]
        kicked = [False]

        def kick() -> None:
            # Called by the hub when this subscriber's queue is full: stop sending (the pump may
            # be blocked on a socket the phone does not read) and disconnect it below.
            kicked[0] = True
            if pump_box[0] is not None:
                pump_box[0].cancel()

        q = hub.subscribe(channel, kick)
        start = hub.last_cursor(channel)
        metrics.subscribers.set(hub.subscribers)
        try:
            await ws.accept()
        except BaseException:
            hub.unsubscribe(channel, q)
            metrics.subscribers.set(hub.subscribers)
            raise
        closed = asyncio.Event()

        async def reader() -> None:
            # Clients send nothing we use; this notices the disconnect and wakes the sender.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                while True:
                    await ws.receive_text()
            closed.set()
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(RESYNC)  # wake the loop below; it sees `closed` and leaves

        last: int = after_cursor if after_cursor is not None else (start or 0)

        async def resync() -> None:
            nonlocal last
            while not closed.is_set():
                batch = await store.events_after(channel, last, 1000)
                for cur, cap in batch:
                    msg = LiveMessage(
                        cursor=cur,
                        event="created" if cap.revision == 1 else "updated",
                        caption=cap,
                    )
                    await ws.send_text(msg.model_dump_json())
                    last = cur
                if len(batch) < 1000:
                    return

        async def pump() -> None:
            nonlocal last
            if after_cursor is not None:
                await resync()
            while not closed.is_set():
                item = await q.get()
                if closed.is_set():
                    return
                if item is RESYNC:
                    await resync()
                    continue
                cursor, text, t_pub = item
                if cursor <= last:
                    continue
                await ws.send_text(text)  # the same text the hub serialised once for everyone
                live_delay.observe(time.perf_counter() - t_pub)
                last = cursor

        rtask = asyncio.create_task(reader())
        pump_task = asyncio.create_task(pump())
        pump_box[0] = pump_task
        if kicked[0]:
            pump_task.cancel()
        try:
            try:
                await pump_task
            except asyncio.CancelledError:
                if not kicked[0]:
                    raise
            if kicked[0]:
                metrics.live_kicked.inc()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        ws.close(code=1013, reason="too far behind; resume by cursor"), 1.0
                    )
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            rtask.cancel()
            pump_task.cancel()
            hub.unsubscribe(channel, q)
            metrics.subscribers.set(hub.subscribers)

    mount_web_receiver(app)  # the viewer's caption page at / (web_receiver)
    return app
