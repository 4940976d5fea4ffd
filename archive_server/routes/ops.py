"""Operations routes: liveness, Prometheus metrics, the channel list."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from archive_server.deps import HubDep, MetricsDep, StoreDep
from archive_server.models import ChannelList

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    """Liveness: 200 when the server runs."""
    return {"status": "ok"}


@router.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
async def metrics_route(hub: HubDep, metrics: MetricsDep) -> Response:
    """Prometheus text format: requests, latencies, captions stored, live subscribers."""
    metrics.subscribers.set(hub.subscribers)
    metrics.waiting.set(hub.waiters)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/channels", response_model=ChannelList, tags=["channels"])
async def list_channels(store: StoreDep) -> ChannelList:
    """All channels."""
    return ChannelList(channels=await store.list_channels())
