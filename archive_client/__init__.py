"""archive_client: the small HTTP/WebSocket client of the caption archive (no FastAPI import).

Errors (httpx/websockets errors are mapped at this boundary)::

    ArchiveError
    ├── ArchiveUnavailable   connect error, timeout, 5xx, 429, dropped live feed: retry later
    ├── ArchiveAuthError     401/403: the token is missing, wrong or another channel's
    ├── ArchiveRejected      other 4xx; .status, .detail and .code are the server's
    └── NotAnArchive         the URL answers, but not as an archive (a wrong URL)
"""

from __future__ import annotations

from archive_client.client import LONG_POLL_S, PROXY_HOLD_S, ArchiveClient, AsyncArchiveClient
from archive_client.errors import (
    ArchiveAuthError,
    ArchiveError,
    ArchiveRejected,
    ArchiveUnavailable,
    NotAnArchive,
)
from archive_client.models import Caption, CaptionIn, LiveEvent, Word
from archive_client.urls import check_archive_url

__all__ = [
    "LONG_POLL_S",
    "PROXY_HOLD_S",
    "ArchiveAuthError",
    "ArchiveClient",
    "ArchiveError",
    "ArchiveRejected",
    "ArchiveUnavailable",
    "AsyncArchiveClient",
    "Caption",
    "CaptionIn",
    "LiveEvent",
    "NotAnArchive",
    "Word",
    "check_archive_url",
]
