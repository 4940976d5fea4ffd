"""The FastAPI application: wiring of the archive's parts.

``create_app(settings)`` builds an app: the store, hub, relay, metrics and rate limiters on
``app.state`` (reached by the routes through :mod:`archive_server.deps`), the middleware
(:mod:`archive_server.guard`, :mod:`archive_server.hotpath`, CORS), the error handlers and the
routers of :mod:`archive_server.routes`, and the viewer's page (:mod:`web_receiver`).
Layers below: :class:`~archive_server.store.Store` -> tables.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive_server.deps import SettingsDep, StoreDep
from archive_server.errors import ArchiveServerError
from archive_server.guard import Guard
from archive_server.hotpath import HotCaptionPath
from archive_server.hub import Hub
from archive_server.metrics import Metrics
from archive_server.ratelimit import RateLimiter
from archive_server.relay import start_fanout
from archive_server.routes import captions, live, ops
from archive_server.settings import ArchiveSettings, get_settings, safe_url
from archive_server.store import Store
from web_receiver import mount as mount_web_receiver

__all__ = ["SettingsDep", "StoreDep", "create_app"]

log = logging.getLogger("archive_server")
#: generation-0 threshold of the cyclic GC while serving (see the lifespan below)
_GC_GEN0_THRESHOLD = 10_000


def create_app(settings: ArchiveSettings | None = None) -> FastAPI:
    """Build the archive app for ``settings`` (default: :func:`get_settings`)."""
    settings = settings or get_settings()
    metrics = Metrics()

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
        "receivers GET them (or follow them live).\n\n"
        # OpenAPI 3.1 has no WebSocket operations: the live route is described here
        "**Live (WebSocket, not listed under paths):** `WS /v1/channels/{channel}/live` sends "
        '`{"type": "caption", "cursor", "event": "created"|"updated", "caption": Caption}` '
        "for every write of the channel. Query (at most one): `after_cursor` (integer >= 0) "
        "first replays every caption whose latest change has a higher cursor (resume after a "
        "drop); `from_seq` (integer 0-1048575) first sends caption `from_seq` as it stands now, "
        "if stored (join at a heard trigger). A refusal is one "
        '`{"type": "error", "code", "detail"}` message, then close code 4404 '
        "(`channel_not_found`) or 4422 (`invalid`: a bad argument, or both).",
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
    app.add_middleware(Guard, metrics=metrics, max_body=settings.max_body_bytes)
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

    app.include_router(ops.router)
    app.include_router(captions.router)
    app.include_router(live.router)
    # a bad live query is said on the socket (the WebSocket API cannot read a refused handshake)
    app.add_exception_handler(WebSocketRequestValidationError, live.invalid_query)  # type: ignore[arg-type]
    mount_web_receiver(app)  # the viewer's caption page at / (web_receiver)
    return app
