"""Errors of the archive server (the tree is drawn in :mod:`archive_server`)."""

from __future__ import annotations

__all__ = [
    "ArchiveServerError",
    "AuthError",
    "ChannelExists",
    "ChannelNotFound",
    "ForbiddenChannel",
    "RateLimited",
    "SettingsError",
    "StorageError",
]


class ArchiveServerError(Exception):
    """Base of every error the archive server raises on purpose."""

    status = 500
    code = "internal"


class AuthError(ArchiveServerError):
    """Missing or unknown write token (HTTP 401)."""

    status = 401
    code = "unauthorized"


class ForbiddenChannel(ArchiveServerError):
    """A valid token of another channel (HTTP 403)."""

    status = 403
    code = "forbidden"


class ChannelNotFound(ArchiveServerError):
    """The channel does not exist (HTTP 404; CLI exit 2)."""

    status = 404
    code = "channel_not_found"


class ChannelExists(ArchiveServerError):
    """``add-channel`` with an id or name that is already taken (HTTP 409; CLI exit 2)."""

    status = 409
    code = "channel_exists"


class RateLimited(ArchiveServerError):
    """Too many writes for one token or long-polls for one address (HTTP 429)."""

    status = 429
    code = "rate_limited"


class StorageError(ArchiveServerError):
    """The database failed (HTTP 503): SQLAlchemy/driver errors are mapped to this."""

    status = 503
    code = "storage_unavailable"


class SettingsError(ArchiveServerError):
    """A setting from the environment or a flag is invalid (the server does not start)."""

    status = 500
    code = "bad_settings"
