"""The archive's Prometheus metrics (one registry per app, served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """Every metric the archive exports, in a registry of its own (several apps per process)."""

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
