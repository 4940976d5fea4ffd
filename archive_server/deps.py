"""What the routes share: typed dependencies on ``app.state``, path parameters, error tables.

``create_app`` puts the settings, store, hub, relay, metrics and rate limiters on ``app.state``;
routes reach them through these ``Annotated`` dependencies.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from archive_server.hub import Hub
from archive_server.metrics import Metrics
from archive_server.models import Caption, ErrorOut
from archive_server.ratelimit import RateLimiter
from archive_server.relay import Relay
from archive_server.settings import ArchiveSettings
from archive_server.store import Store
from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ

__all__ = [
    "ERRORS",
    "PUT_RESPONSES",
    "SRT_RESPONSES",
    "TIME_Q",
    "VTT_RESPONSES",
    "ChannelP",
    "HubDep",
    "MetricsDep",
    "RelayDep",
    "SeqP",
    "SettingsDep",
    "StoreDep",
    "WaitLimitDep",
    "WriteLimitDep",
]


def _settings(request: Request) -> ArchiveSettings:
    s: ArchiveSettings = request.app.state.settings
    return s


def _store(request: Request) -> Store:
    s: Store = request.app.state.store
    return s


def _hub(request: Request) -> Hub:
    h: Hub = request.app.state.hub
    return h


def _relay(request: Request) -> Relay:
    r: Relay = request.app.state.relay
    return r


def _metrics(request: Request) -> Metrics:
    m: Metrics = request.app.state.metrics
    return m


def _write_limit(request: Request) -> RateLimiter:
    r: RateLimiter = request.app.state.write_limit
    return r


def _wait_limit(request: Request) -> RateLimiter:
    r: RateLimiter = request.app.state.wait_limit
    return r


SettingsDep = Annotated[ArchiveSettings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
HubDep = Annotated[Hub, Depends(_hub)]
RelayDep = Annotated[Relay, Depends(_relay)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
#: per-token bucket of caption writes
WriteLimitDep = Annotated[RateLimiter, Depends(_write_limit)]
#: per-address bucket of new long-polls
WaitLimitDep = Annotated[RateLimiter, Depends(_wait_limit)]

TIME_Q = "ISO-8601 date-time; without an offset it is read as UTC"
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
