"""The archive's base URL, as the broadcaster and the receiver take it from their users."""

from __future__ import annotations

import httpx

__all__ = ["check_archive_url"]


def check_archive_url(url: str) -> str:
    """Return ``url`` if it can be an archive's base URL, else raise :class:`ValueError`.

    The message is one line that names the URL and what is wrong with it (the scheme, a port
    that is not a number, no host), for a settings error to pass on as it is.
    """
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"archive URL {url!r} must start with http:// or https://")
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL as exc:
        raise ValueError(f"archive URL {url!r} is not a valid URL ({exc})") from exc
    if not host:
        raise ValueError(f"archive URL {url!r} names no host (e.g. http://127.0.0.1:8000)")
    return url
