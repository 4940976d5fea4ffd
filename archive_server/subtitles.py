"""WebVTT and SubRip rendering of stored captions."""

from __future__ import annotations

import datetime as dt

from archive_server.models import Caption

__all__ = ["to_srt", "to_vtt"]


def _span(c: Caption, origin: dt.datetime) -> tuple[float, float]:
    start = c.start_at or c.created_at
    end = c.end_at or (start + dt.timedelta(seconds=2))
    a = max(0.0, (start - origin).total_seconds())
    return a, max(a, (end - origin).total_seconds())


def _ts(sec: float, sep: str) -> str:
    ms = round(sec * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _origin(caps: list[Caption], origin: dt.datetime | None) -> dt.datetime:
    if origin is not None:
        return origin
    if caps:
        return caps[0].start_at or caps[0].created_at
    return dt.datetime.now(dt.UTC)


def to_vtt(caps: list[Caption], origin: dt.datetime | None = None) -> str:
    """WebVTT with cue times relative to ``origin`` (default: the first caption's start)."""
    o = _origin(caps, origin)
    out = ["WEBVTT", ""]
    for c in caps:
        a, b = _span(c, o)
        out += [
            f"{c.channel}-{c.seq}",
            f"{_ts(a, '.')} --> {_ts(b, '.')}",
            c.text.replace("-->", "->"),
            "",
        ]
    return "\n".join(out)


def to_srt(caps: list[Caption], origin: dt.datetime | None = None) -> str:
    """SubRip with cue times relative to ``origin`` (default: the first caption's start)."""
    o = _origin(caps, origin)
    out: list[str] = []
    for i, c in enumerate(caps, 1):
        a, b = _span(c, o)
        out += [str(i), f"{_ts(a, ',')} --> {_ts(b, ',')}", c.text, ""]
    return "\n".join(out)
