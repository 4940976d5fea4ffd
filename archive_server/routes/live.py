"""The live route: each write of a channel as ``LiveMessage`` JSON over a WebSocket, by cursor."""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from archive_server.hub import RESYNC, Hub
from archive_server.metrics import Metrics
from archive_server.models import LiveMessage
from archive_server.store import Store
from trigger_codec.ids import MAX_CHANNEL

__all__ = ["router"]

router = APIRouter()


@router.websocket("/v1/channels/{channel}/live")
async def live(ws: WebSocket, channel: int, after_cursor: int | None = None) -> None:
    """Every write on the channel as ``LiveMessage`` JSON; resume with ``after_cursor``."""
    store: Store = ws.app.state.store
    hub: Hub = ws.app.state.hub
    metrics: Metrics = ws.app.state.metrics
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
