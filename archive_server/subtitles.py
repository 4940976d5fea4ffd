"""WebVTT and SubRip rendering of stored captions.

WebVTT cue text is markup: ``<`` opens a tag and ``&`` a character reference, and a line holding
``-->`` would be read as the next cue's timing line. So the text is escaped as the WebVTT spec
says for cue text (``&amp;``, ``&lt;``, ``&gt;``; escaping ``>`` also turns ``-->`` into
``--&gt;``); a browser shows exactly the caption. SubRip has no escape syntax (players that read
``<b>`` read it as a tag; there is no way to say otherwise), so its text is written as is and only
the structure is protected. In both formats a blank line ends a cue, so line breaks (refused by
the API, but possible in rows written before that rule) become single breaks with no blank line,
and a caption with no visible text gets no cue at all.
"""

from __future__ import annotations

import datetime as dt
import re

from archive_server.models import Caption

__all__ = ["cue_lines", "to_srt", "to_vtt", "vtt_escape"]

#: Every line break a subtitle parser might split on (WebVTT: CR, LF, CRLF; Python's splitlines
#: also U+2028/2029/NEL, which some parsers use).
_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_DEFAULT_HOLD = dt.timedelta(seconds=2)


def cue_lines(text: str) -> list[str]:
    """Return the lines of a cue payload: split at any line break, blank lines dropped.

    Parameters
    ----------
    text : str
        The caption text.

    Returns
    -------
    list of str
        Lines with their leading spaces kept (empty list: the caption shows nothing).
    """
    return [ln for ln in _BREAKS.split(text) if ln.strip()]


def vtt_escape(line: str) -> str:
    """Escape one line of WebVTT cue text (``&``, ``<``, ``>``), so it reads back as written."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _span(c: Caption, origin: dt.datetime) -> tuple[float, float]:
    start = c.start_at or c.created_at
    end = c.end_at or (start + _DEFAULT_HOLD)
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
        # the earliest on-air time, not the first listed: captions are listed by seq, and a
        # caption aired earlier than the first one would otherwise be clamped to 00:00:00
        return min(c.start_at or c.created_at for c in caps)
    return dt.datetime.now(dt.UTC)


def to_vtt(caps: list[Caption], origin: dt.datetime | None = None) -> str:
    """Return WebVTT with cue times relative to ``origin`` (default: the earliest caption's start).

    Parameters
    ----------
    caps : list of Caption
        Captions in the order they should appear.
    origin : datetime, optional
        The time 00:00:00.000 stands for.

    Returns
    -------
    str
        The file, LF line ends; cue identifiers ``CHANNEL-SEQ``.
    """
    o = _origin(caps, origin)
    out = ["WEBVTT", ""]
    for c in caps:
        lines = cue_lines(c.text)
        if not lines:
            continue
        a, b = _span(c, o)
        out += [f"{c.channel}-{c.seq}", f"{_ts(a, '.')} --> {_ts(b, '.')}"]
        out += [vtt_escape(ln) for ln in lines]
        out.append("")
    return "\n".join(out)


def to_srt(caps: list[Caption], origin: dt.datetime | None = None) -> str:
    """Return SubRip with cue times relative to ``origin`` (default: the earliest caption's start).

    Parameters
    ----------
    caps : list of Caption
        Captions in the order they should appear.
    origin : datetime, optional
        The time 00:00:00,000 stands for.

    Returns
    -------
    str
        The file, cues numbered from 1 without gaps.
    """
    o = _origin(caps, origin)
    out: list[str] = []
    n = 0
    for c in caps:
        lines = cue_lines(c.text)
        if not lines:
            continue
        n += 1
        a, b = _span(c, o)
        out += [str(n), f"{_ts(a, ',')} --> {_ts(b, ',')}", *lines, ""]
    return "\n".join(out)
