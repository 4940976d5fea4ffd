"""Routes of the caption page: ``/``, ``/sw.js``, ``/manifest.webmanifest``, ``/assets/<v>/...``.

The archive mounts them with :func:`mount` (one line in ``archive_server/app.py``). Every response
carries :data:`SECURITY_HEADERS`: a Content-Security-Policy that allows only this origin (the API
and the live WebSocket are same-origin) and no inline script, a Permissions-Policy that lets this
page, and nothing it frames, use the microphone and the wake lock, ``nosniff`` and no referrer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header
from fastapi.responses import JSONResponse, Response

from web_receiver.assets import CODEC_DIR, STATIC_DIR, Asset, load_bundle

__all__ = ["ASSET_MAX_AGE_S", "SECURITY_HEADERS", "make_router", "mount"]

#: One year: the asset URLs change with their content.
ASSET_MAX_AGE_S = 31_536_000

#: 'self' covers ws:/wss: to the same host in CSP Level 3 (the live WebSocket).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
)
AcceptEnc = Annotated[str | None, Header(alias="accept-encoding")]
IfNoneMatch = Annotated[str | None, Header(alias="if-none-match")]
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "Permissions-Policy": "microphone=(self), screen-wake-lock=(self), camera=(), "
    "geolocation=(), payment=(), usb=()",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _send(a: Asset, cache: str, accept_encoding: str | None, if_none_match: str | None) -> Response:
    headers = {
        **SECURITY_HEADERS,
        "Cache-Control": cache,
        "ETag": a.etag,
        "Vary": "Accept-Encoding",
    }
    if if_none_match is not None and a.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    if accept_encoding and "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return Response(a.gz, media_type=a.content_type, headers=headers)
    return Response(a.body, media_type=a.content_type, headers=headers)


def make_router(static_dir: Path = STATIC_DIR, codec_dir: Path = CODEC_DIR) -> APIRouter:
    """Build the page's router (files read once, here).

    Parameters
    ----------
    static_dir, codec_dir : Path
        Where the page and the JavaScript decoder are (see :func:`~web_receiver.load_bundle`).

    Returns
    -------
    fastapi.APIRouter
        Routes kept out of the OpenAPI schema (they are not API).
    """
    bundle = load_bundle(static_dir, codec_dir)
    router = APIRouter(include_in_schema=False)

    def page(name: str) -> Callable[..., Awaitable[Response]]:
        async def serve(
            accept_encoding: AcceptEnc = None, if_none_match: IfNoneMatch = None
        ) -> Response:
            return _send(bundle.pages[name], "no-cache", accept_encoding, if_none_match)

        return serve

    router.add_api_route("/", page("index.html"), methods=["GET"], response_class=Response)
    for name, url in (("sw.js", "/sw.js"), ("manifest.webmanifest", "/manifest.webmanifest")):
        if name in bundle.pages:
            router.add_api_route(url, page(name), methods=["GET"], response_class=Response)

    @router.get("/assets/{version}/{path:path}", response_class=Response)
    async def asset(
        version: str,
        path: str,
        accept_encoding: AcceptEnc = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        a = bundle.assets.get(path) if version == bundle.version else None
        if a is None:
            return JSONResponse(
                {"detail": f"no asset {path!r} in version {version!r}", "code": "not_found"},
                status_code=404,
                headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
            )
        cache = f"public, max-age={ASSET_MAX_AGE_S}, immutable"
        return _send(a, cache, accept_encoding, if_none_match)

    return router


def mount(app: FastAPI) -> None:
    """Serve the caption page from ``app`` (the archive): ``/`` and its assets."""
    app.include_router(make_router())
