"""The page's files, loaded once: content types, gzip copies and one version hash for all.

Every asset is served under ``/assets/<version>/`` with ``Cache-Control: immutable``; the version
is a hash of every file's bytes, so a changed file gets a new URL and a phone never mixes old and
new modules. The page itself (``index.html``) and the service worker are served at fixed URLs and
revalidated (``no-cache`` plus an ETag).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from web_receiver.errors import AssetsMissing

__all__ = ["CODEC_DIR", "STATIC_DIR", "Asset", "AssetBundle", "load_bundle"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The JavaScript decoder (helper package trigger_codec/js): its ES modules are served under
#: ``/assets/<version>/codec/`` so the worker imports them from the same origin.
CODEC_DIR = Path(__file__).resolve().parents[1] / "trigger_codec" / "js"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
#: Files of the static folder that are not assets of the page (its own tests, build notes).
_SKIP_DIRS = {"tests", "test", "node_modules"}
#: Placeholder in index.html, sw.js and the manifest replaced by the asset version.
VERSION_MARK = "__ASSET_VERSION__"


@dataclass(frozen=True)
class Asset:
    """One servable file.

    Attributes
    ----------
    body : bytes
        The file's bytes (with the version filled in, for the templated files).
    gz : bytes
        The same, gzip-compressed (level 9), sent when the client accepts gzip.
    content_type : str
        Its media type.
    etag : str
        A strong ETag (quoted sha256 prefix of ``body``).
    """

    body: bytes
    gz: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class AssetBundle:
    """The page and its assets.

    Attributes
    ----------
    version : str
        12 hex digits of the hash over every asset; part of every asset URL.
    assets : dict of str to Asset
        By path relative to ``/assets/<version>/`` (``"main.js"``, ``"codec/decoder.js"``).
    pages : dict of str to Asset
        The fixed-URL files: ``"index.html"``, ``"sw.js"``, ``"manifest.webmanifest"``.
    """

    version: str
    assets: dict[str, Asset] = field(default_factory=dict)
    pages: dict[str, Asset] = field(default_factory=dict)


def _asset(body: bytes, name: str) -> Asset:
    ctype = _TYPES.get(Path(name).suffix, "application/octet-stream")
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body, gzip.compress(body, 9, mtime=0), ctype, etag)


def _files(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if not root.is_dir():
        return out
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not _SKIP_DIRS.intersection(rel.parts) and p.suffix in _TYPES:
            out[rel.as_posix()] = p.read_bytes()
    return out


def load_bundle(static_dir: Path = STATIC_DIR, codec_dir: Path = CODEC_DIR) -> AssetBundle:
    """Read the static files and version them (once per app: :func:`make_router` calls it).

    Parameters
    ----------
    static_dir : Path
        The page's folder (``index.html``, ``sw.js``, ``manifest.webmanifest`` and the assets).
    codec_dir : Path
        The JavaScript decoder's ES modules (served under ``codec/``; may be absent, then the
        page says it cannot decode).

    Returns
    -------
    AssetBundle

    Raises
    ------
    AssetsMissing
        When ``static_dir`` has no ``index.html``.
    """
    files = _files(static_dir)
    if "index.html" not in files:
        raise AssetsMissing(
            f"no index.html in {static_dir}: the web receiver's files are not installed "
            "(reinstall jimaku with its package data)"
        )
    fixed = {"index.html", "sw.js", "manifest.webmanifest"}
    raw = {k: v for k, v in files.items() if k not in fixed}
    raw.update({f"codec/{k}": v for k, v in _files(codec_dir).items()})
    h = hashlib.sha256()
    for name in sorted(files) + sorted(k for k in raw if k.startswith("codec/")):
        h.update(name.encode() + b"\0" + (files.get(name) or raw[name]) + b"\0")
    version = h.hexdigest()[:12]
    assets = {k: _asset(v, k) for k, v in raw.items()}
    pages = {
        k: _asset(files[k].replace(VERSION_MARK.encode(), version.encode()), k)
        for k in fixed
        if k in files
    }
    return AssetBundle(version, assets, pages)
