"""The live route: each write of a channel as ``LiveMessage`` JSON over a WebSocket, by cursor.

A client starts the stream in one of three ways: with no argument (live from now), with
``after_cursor=N`` (resume: every caption whose latest change is above N, then live), or with
``from_seq=S`` (join at a heard trigger: caption S as it stands now, then live), so a receiver
that hears a trigger shows that caption's first words at once instead of at its next revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket
from fastapi.exceptions import WebSocketRequestValidationError
from starlette.websockets import WebSocketDisconnect

from archive_server.hub import RESYNC, Hub
from archive_server.metrics import Metrics
from archive_server.models import LiveMessage
from archive_server.store import Store
from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ

__all__ = ["invalid_query", "router"]

router = APIRouter()

#: Close codes: 4000 + the HTTP status the same problem gets on a plain request.
CLOSE_NOT_FOUND = 4404
CLOSE_INVALID = 4422


async def _refuse(ws: WebSocket, code: str, detail: str, close_code: int) -> None:
    # Accept, then say why: a browser's WebSocket API cannot read a refused handshake's body.
    await ws.accept()
    await ws.send_json({"type": "error", "code": code, "detail": detail})
    await ws.close(code=close_code)


async def invalid_query(ws: WebSocket, exc: WebSocketRequestValidationError) -> None:
    """Refuse a live request whose path or query does not validate (``invalid``, close 4422).

    The detail reads like the HTTP routes' 422 (``query.from_seq: Input should be ...``).
    """
    parts = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
    await _refuse(ws, "invalid", "; ".join(parts) or "invalid request", CLOSE_INVALID)


@router.websocket("/v1/channels/{channel}/live")
async def live(
    ws: WebSocket,
    channel: int,
    after_cursor: Annotated[int | None, Query(ge=0)] = None,
    from_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> None:
    """Every write on the channel as ``LiveMessage`` JSON.

    ``after_cursor`` resumes after a cursor seen; ``from_seq`` starts with caption ``from_seq``
    as it stands now (if stored), then live. At most one of the two.
    """
    store: Store = ws.app.state.store
    hub: Hub = ws.app.state.hub
    metrics: Metrics = ws.app.state.metrics
    if after_cursor is not None and from_seq is not None:
        await _refuse(
            ws,
            "invalid",
            f"give after_cursor ({after_cursor}, to resume) or from_seq ({from_seq}, to join "
            "at a heard trigger), not both",
            CLOSE_INVALID,
        )
        return
    if not 0 <= channel <= MAX_CHANNEL or not await store.channel_exists(channel):
        await _refuse(ws, "channel_not_found", f"no channel {channel}", CLOSE_NOT_FOUND)
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

    async def join_at(seq: int) -> None:
        # Caption `seq` as the database has it. Everything above `start` comes through the
        # queue (subscribed before `start` was read), so a version newer than `start` is left
        # to it: sent once, in cursor order. `last` stays `start`; this message's cursor is at
        # most `start`, so a client resuming after it misses nothing either.
        got = await store.caption_event(channel, seq)
        if got is None or got[0] > last:
            return
        cur, cap = got
        msg = LiveMessage(
            cursor=cur, event="created" if cap.revision == 1 else "updated", caption=cap
        )
        await ws.send_text(msg.model_dump_json())

    async def pump() -> None:
        nonlocal last
        if after_cursor is not None:
            await resync()
        elif from_seq is not None:
            await join_at(from_seq)
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
