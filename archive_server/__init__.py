"""archive_server: the caption archive service (FastAPI + SQLAlchemy Core async).

Layers: wiring (:mod:`archive_server.app`: ``create_app``) -> middleware (:mod:`~.guard`,
:mod:`~.hotpath`) -> routes (:mod:`archive_server.routes`: ``ops``, ``captions``, ``live``; their
shared dependencies in :mod:`~.deps`) -> :class:`~archive_server.store.Store` -> tables
(:mod:`archive_server.schema`); request/response bodies in :mod:`archive_server.models`; live
fan-out through :mod:`~.hub` and :mod:`~.relay` (and :mod:`~.bus` for several origins).

Errors::

    ArchiveServerError          base (HTTP 500)
    ├── AuthError               401 missing/unknown token
    ├── ForbiddenChannel        403 token of another channel
    ├── ChannelNotFound         404
    ├── ChannelExists           409 (admin CLI)
    ├── RateLimited             429
    ├── StorageError            503 (SQLAlchemy / driver errors mapped here)
    └── LaunchError             a server started by :mod:`~.launch` did not come up
        └── PortTaken           ... because its port was in use

:mod:`archive_server.launch` starts a real server in a subprocess (the demo, benchmarks and tests).
"""

from __future__ import annotations

from archive_server.errors import (
    ArchiveServerError,
    AuthError,
    ChannelExists,
    ChannelNotFound,
    ForbiddenChannel,
    RateLimited,
    StorageError,
)

__all__ = [
    "ArchiveServerError",
    "AuthError",
    "ChannelExists",
    "ChannelNotFound",
    "ForbiddenChannel",
    "RateLimited",
    "StorageError",
]
