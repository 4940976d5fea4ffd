"""``--web``: a caption page on 127.0.0.1 with WebSocket updates, without a web framework.

The ``websockets`` server answers plain HTTP GETs itself (``process_request``): ``/`` is the page
(receiver_app/static/index.html, with its CSS and JS inline so one request suffices), ``/ws`` is
the WebSocket that pushes the screen as JSON::

    {"type": "screen", "lines": [{"text": str, "final": bool, "marker": str|null,
                                  "channel": int, "seq": int}], "status": str|null}

FastAPI is deliberately not used: the receiver stays small enough for phone-class devices.
The server runs in its own thread with its own asyncio loop; :meth:`WebView.screen` may be called
from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from importlib import resources
from typing import Any

from jimaku.events import Listening
from receiver_app.app import ShownRecord
from receiver_app.display import ScreenState

__all__ = ["WebView"]


class WebView:
    """Serve the caption page and push screen updates.

    Parameters
    ----------
    host : str
        Listen address; only loopback is allowed (the page is for this device's browser).
    port : int
        TCP port (0 picks a free one; see :attr:`url` after :meth:`start`).
    max_lines : int
        Lines the page reserves space for.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, max_lines: int = 2) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            from receiver_app.errors import SettingsError

            raise SettingsError(f"--web serves on loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.max_lines = max_lines
        self._page = (
            resources.files("receiver_app")
            .joinpath("static/index.html")
            .read_text(encoding="utf-8")
            .replace("__MAX_LINES__", str(max_lines))
            .encode("utf-8")
        )
        self._state: dict[str, Any] = {"type": "screen", "lines": [], "status": None}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="web", daemon=True)
        self._server: Any = None
        self._clients: set[Any] = set()

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://{self.host}:{self.port}/"

    def start(self) -> None:
        """Start serving (returns once the socket is listening)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handler, self.host, self.port, process_request=self._http)
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])

    def _http(self, connection: Any, request: Any) -> Any:
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        path = request.path.split("?")[0]
        if path == "/ws":
            return None  # the WebSocket handshake proceeds
        if path in ("/", "/index.html"):
            headers = Headers(
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(self._page))),
                    ("Cache-Control", "no-store"),
                ]
            )
            return Response(200, "OK", headers, self._page)
        return connection.respond(404, f"not found: {path}\n")

    async def _handler(self, ws: Any) -> None:
        self._clients.add(ws)
        try:
            await ws.send(json.dumps(self._state, ensure_ascii=False))
            async for _ in ws:  # the page sends nothing we need; keep the connection open
                pass
        except Exception:
            pass
        finally:
            self._clients.discard(ws)

    def _push(self) -> None:
        from websockets.asyncio.server import broadcast

        broadcast(self._clients, json.dumps(self._state, ensure_ascii=False))

    # -- Output protocol ---------------------------------------------------------------------
    def screen(self, state: ScreenState) -> None:
        """Send the new screen to every open page."""
        lines = [
            {
                "text": ln.text,
                "final": ln.final,
                "marker": ln.marker,
                "channel": ln.channel,
                "seq": ln.seq,
            }
            for ln in state.lines
        ]
        self._state = {**self._state, "lines": lines}
        self._loop.call_soon_threadsafe(self._push)

    def shown(self, record: ShownRecord) -> None:
        """Ignore: the page shows the screen, not individual records."""

    def listening(self, event: Listening) -> None:
        """Ignore: the page shows the screen."""

    def status(self, message: str) -> None:
        """Show a status line on the page."""
        self._state = {**self._state, "status": message}
        self._loop.call_soon_threadsafe(self._push)

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:

            async def _close() -> None:
                self._server.close()
                # A browser may hold an idle HTTP keep-alive connection open; do not wait on it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._server.wait_closed(), 2.0)

            fut = asyncio.run_coroutine_threadsafe(_close(), self._loop)
            fut.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
