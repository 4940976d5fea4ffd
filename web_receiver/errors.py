"""The web receiver's exceptions: ``WebReceiverError -> AssetsMissing``."""

from __future__ import annotations

__all__ = ["AssetsMissing", "WebReceiverError"]


class WebReceiverError(Exception):
    """Base of every error of web_receiver."""


class AssetsMissing(WebReceiverError):
    """The page's static files or the JavaScript decoder are not where the package expects."""
