"""Caption routes: PUT and GET one caption (with the long-poll), history, WebVTT/SRT exports."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from archive_server.deps import (
    ERRORS,
    PUT_RESPONSES,
    SRT_RESPONSES,
    TIME_Q,
    VTT_RESPONSES,
    ChannelP,
    HubDep,
    MetricsDep,
    RelayDep,
    SeqP,
    SettingsDep,
    StoreDep,
    WaitLimitDep,
    WriteLimitDep,
)
from archive_server.errors import ChannelNotFound, RateLimited
from archive_server.models import Caption, CaptionIn, CaptionList, IsoTime
from archive_server.settings import ArchiveSettings
from archive_server.store import Rendered, Store
from archive_server.subtitles import to_srt, to_vtt
from trigger_codec.ids import MAX_SEQ

__all__ = ["router"]

router = APIRouter()


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


@router.put(
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
    relay: RelayDep,
    metrics: MetricsDep,
    write_limit: WriteLimitDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Create or update a caption (Bearer token of the channel). 201 when created."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    await store.check_token(channel, token)
    assert token is not None
    if not write_limit.allow(token):
        raise RateLimited(f"more than {s.write_rate_per_s:g} writes/s for this token; slow down")
    res = await store.put_caption(channel, seq, body)
    if res.changed:
        metrics.writes.labels("created" if res.created else "updated").inc()
        if res.created:
            metrics.captions.inc()
        relay.local_write(res)
    return Response(
        res.caption.model_dump_json(),
        status_code=201 if res.created else 200,
        media_type="application/json",
    )


@router.get(
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
    wait_limit: WaitLimitDep,
    wait: Annotated[float, Query(ge=0, le=30, description="long-poll seconds")] = 0.0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Return the caption; with ``wait`` returns as soon as it exists and is final."""
    wait = min(wait, s.max_wait_s)
    cap = await store.get_rendered(channel, seq)
    waited = False
    if cap is None and wait > 0 and not await store.channel_exists(channel):
        # no wait for a channel that does not exist (a wrong URL, or a false trigger ID): it
        # would hold a long-poll slot for nothing and answer the same 404 at the end
        raise ChannelNotFound(f"no channel {channel}")
    if (cap is None or not cap.caption.final) and wait > 0:
        # Joining a wait that is already open costs one event, not a database read: a crowd
        # behind one address (carrier-grade NAT) asking for the same caption is not refused.
        # Opening a new wait takes a token of the address's bucket.
        client = request.client.host if request.client else "?"
        if not hub.waiting(channel, seq) and not wait_limit.allow(client):
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
    return await store.list_captions(channel, after=after, since=since, until=until, limit=limit)


@router.get(
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


@router.get(
    "/v1/channels/{channel}/captions.vtt",
    responses=VTT_RESPONSES,
    tags=["captions"],
    response_class=Response,
)
async def captions_vtt(
    channel: ChannelP,
    store: StoreDep,
    frm: Annotated[IsoTime | None, Query(alias="from", description=TIME_Q)] = None,
    to: Annotated[IsoTime | None, Query(description=TIME_Q)] = None,
) -> Response:
    """Return the archive as WebVTT (times relative to ``from`` or the first caption)."""
    f, t = _window(frm, to)
    caps = await _history(store, channel, None, f, t, 1000)
    return Response(to_vtt(caps, f), media_type="text/vtt; charset=utf-8")


@router.get(
    "/v1/channels/{channel}/captions.srt",
    responses=SRT_RESPONSES,
    tags=["captions"],
    response_class=Response,
)
async def captions_srt(
    channel: ChannelP,
    store: StoreDep,
    frm: Annotated[IsoTime | None, Query(alias="from", description=TIME_Q)] = None,
    to: Annotated[IsoTime | None, Query(description=TIME_Q)] = None,
) -> Response:
    """Return the archive as SubRip."""
    f, t = _window(frm, to)
    caps = await _history(store, channel, None, f, t, 1000)
    return Response(to_srt(caps, f), media_type="application/x-subrip; charset=utf-8")
