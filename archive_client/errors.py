"""Errors of the archive client (tree drawn in :mod:`archive_client`)."""

from __future__ import annotations

__all__ = [
    "ArchiveAuthError",
    "ArchiveError",
    "ArchiveRejected",
    "ArchiveUnavailable",
    "NotAnArchive",
]


class ArchiveError(Exception):
    """Base of every archive_client error."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be reached, timed out, or answered 5xx/429 (retry later)."""


class ArchiveAuthError(ArchiveError):
    """401/403: missing, wrong or other channel's token (retrying will not help)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class ArchiveRejected(ArchiveError):
    """Another 4xx: the server refused the request; ``detail``/``code`` are the server's words."""

    def __init__(self, message: str, status: int, detail: str = "", code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.code = code


class NotAnArchive(ArchiveError):
    """The URL answers, but not as a jimaku archive (a wrong URL: retrying will not help)."""
