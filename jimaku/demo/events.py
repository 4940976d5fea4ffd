"""Read the broadcaster's and the receiver's ``--json`` logs (the one place that parses them).

The schemas are the components' own (``docs/broadcaster.md``, ``docs/receiver.md``); this module
turns them into :mod:`jimaku.demo.timing`'s records. Wall-clock times come from the event itself
when it carries one (the broadcaster stamps every event with ``t``, POSIX seconds), else from
``_recv_wall`` (when the chain read the line; the components print each event as it happens, so
the two differ by well under a millisecond).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import IO, Any

from jimaku.demo.timing import BroadcastCaption, ShownCaption

__all__ = [
    "broadcast_captions",
    "broadcast_progress_s",
    "read_jsonl_events",
    "shown_captions",
    "wall_time",
]


def read_jsonl_events(stream: Iterable[bytes], log: IO[str]) -> Iterator[dict[str, Any]]:
    """Yield a process's JSON-object lines as they arrive, copying every non-empty line to ``log``.

    Each event gets ``_recv_wall`` (POSIX seconds when the line was read) unless it has one;
    lines that are not JSON objects are logged but not yielded.
    """
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        log.write(line + "\n")
        log.flush()
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            event.setdefault("_recv_wall", time.time())
            yield event


def wall_time(value: Any) -> float | None:
    """Convert a number or an ISO-8601 string to POSIX seconds (``None`` if neither)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _first(event: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in event and event[k] is not None:
            return event[k]
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def broadcast_progress_s(event: Mapping[str, Any]) -> float | None:
    """How far into the programme (input seconds) the broadcaster is, if this event says."""
    kind = event.get("type")
    if kind == "level":
        return _float(event.get("at_s"))
    if kind == "caption":
        return _float(event.get("end_s"))
    return None


def broadcast_captions(
    events: Iterable[Mapping[str, Any]],
    delay_s: float = 0.0,
) -> list[BroadcastCaption]:
    """Collect the broadcaster's captions from its event log, in the order it made them.

    Uses ``caption`` events (seq, text, speech ``start_s``/``end_s`` in input seconds), ``airing``
    events (``seq``, ``seconds`` in the output, ``repeat``) and ``upload`` events with
    ``state == "stored"`` (``stored_at``); the first ``partial`` event (``input_s``) and the first
    ``partial_upload`` with ``ok`` give when the utterance's first words were on the archive.

    The ASR final's input position: the ``caption`` event's ``input_s`` when present; otherwise,
    in live mode only, the first airing's position. That is exact for file input because the
    broadcaster runs in lockstep there (it mixes a block only after recognising it, and schedules a
    final's trigger at the next block: the input position at which the final came out).

    Parameters
    ----------
    events : iterable of mapping
        The parsed JSON lines.
    delay_s : float
        The run's ``--delay`` (0: live mode).

    Returns
    -------
    list of BroadcastCaption
        In the order of their ``caption`` events.
    """
    order: list[int] = []
    caps: dict[int, dict[str, Any]] = {}
    airings: dict[int, list[tuple[int, float]]] = {}
    stored: dict[int, float] = {}
    partial_at: dict[int, tuple[float, float]] = {}  # seq -> (input_s, wall) of its first partial
    partial_stored: dict[int, float] = {}
    for ev in events:
        kind = ev.get("type")
        seq = ev.get("seq")
        if not isinstance(seq, int):
            continue
        if kind == "caption":
            if seq not in caps:
                order.append(seq)
            caps[seq] = dict(ev)
        elif kind == "airing":
            seconds = _float(ev.get("seconds"))
            if seconds is not None:
                airings.setdefault(seq, []).append((int(ev.get("repeat", 0)), seconds))
        elif kind == "partial" and seq not in partial_at:
            pos, t = _float(ev.get("input_s")), wall_time(_first(ev, "t", "_recv_wall"))
            if pos is not None and t is not None:
                partial_at[seq] = (pos, t)
        elif kind == "partial_upload" and ev.get("ok") is True:
            t = wall_time(_first(ev, "t", "_recv_wall"))
            if t is not None:
                partial_stored.setdefault(seq, t)
        elif kind == "upload" and ev.get("state") == "stored":
            t = wall_time(_first(ev, "t", "stored_at", "_recv_wall"))
            if t is not None:
                stored.setdefault(seq, t)
    out: list[BroadcastCaption] = []
    for seq in order:
        ev = caps[seq]
        air = sorted(airings.get(seq, []), key=lambda r: r[1])
        final_at = _float(_first(ev, "input_s", "final_at_s"))
        if final_at is None and delay_s == 0.0:
            first = [s for r, s in air if r == 0]
            final_at = first[0] if first else None
        final_wall = wall_time(_first(ev, "t", "_recv_wall"))
        upload = None
        if final_wall is not None and seq in stored:
            upload = max(0.0, stored[seq] - final_wall)
        first_text = None
        if seq in partial_at and seq in partial_stored:
            pos, t = partial_at[seq]
            first_text = pos + max(0.0, partial_stored[seq] - t)
        out.append(
            BroadcastCaption(
                seq=seq,
                text=str(ev.get("text", "")),
                speech_start_s=_float(ev.get("start_s")),
                speech_end_s=_float(ev.get("end_s")),
                final_at_s=final_at,
                upload_s=upload,
                trigger_at_s=tuple(s for _, s in air),
                first_text_s=first_text,
            )
        )
    return out


def shown_captions(
    events: Sequence[Mapping[str, Any]],
    realtime: bool = True,
) -> list[ShownCaption]:
    """Collect the captions the receiver showed, from its ``--json`` lines, in its order.

    A line counts when it carries ``seq`` and ``text`` (and is not a ``type`` other than a shown
    caption). Wall times (``decoded_wall``/``fetched_wall``/``shown_wall`` or the ``*_at``
    spellings, numbers or ISO strings) give the fetch and display durations.

    Parameters
    ----------
    events : sequence of mapping
        The parsed JSON lines.
    realtime : bool
        The receiver was paced in real time (not ``--fast``): its ``decoded_wall`` minus its
        ``stream_start_wall`` is then the stream position of the decoding.

    Returns
    -------
    list of ShownCaption
        One per shown caption line (duplicates kept). ``"updated"`` lines (changes in place) are
        not new captions; the one that turns a caption first shown with partial text final
        gives it its final text and time (``first_shown_wall`` keeps the first appearance).
    """
    out: list[ShownCaption] = []
    index: dict[tuple[int, int], int] = {}
    for ev in events:
        kind = ev.get("type", ev.get("event", "caption"))
        if kind == "updated" and ev.get("final") is True:
            # a caption first shown with partial text got its final text in place: the final
            # text and its time count as "shown"; the first appearance is kept
            key = (ev.get("channel"), ev.get("seq"))
            if key in index and not out[index[key]].first_shown_wall:
                prev = out[index[key]]
                wall = wall_time(_first(ev, "shown_wall", "shown_at"))
                if wall is not None and prev.shown_wall is not None and "text" in ev:
                    total = (
                        None if prev.decoded_wall is None else max(0.0, wall - prev.decoded_wall)
                    )
                    out[index[key]] = replace(
                        prev,
                        text=str(ev["text"]),
                        shown_wall=wall,
                        first_shown_wall=(prev.shown_wall),
                        decoded_to_shown_s=total,
                        fetch_s=None,
                        display_s=None,
                    )
            continue
        if kind not in ("caption", "shown", "show"):
            continue
        seq, ch = ev.get("seq"), ev.get("channel")
        if not isinstance(seq, int) or not isinstance(ch, int) or "text" not in ev:
            continue
        decoded = wall_time(_first(ev, "decoded_wall", "decoded_at", "detected_wall"))
        fetched = wall_time(_first(ev, "fetched_wall", "fetched_at"))
        shown = wall_time(_first(ev, "shown_wall", "shown_at"))
        start = wall_time(ev.get("stream_start_wall"))
        dec_stream = None
        if realtime and start is not None and decoded is not None:
            dec_stream = decoded - start
        fetch = display = total = None
        if decoded is not None and shown is not None:
            total = max(0.0, shown - decoded)
            if fetched is not None:
                fetch = max(0.0, fetched - decoded)
                display = max(0.0, shown - fetched)
        if ev.get("final") is False:
            index[(ch, seq)] = len(out)
        out.append(
            ShownCaption(
                channel=ch,
                seq=seq,
                text=str(ev["text"]),
                trigger_s=_float(
                    _first(ev, "trigger_s", "trigger_start_s", "trigger_at_s", "stream_s")
                ),
                fetch_s=fetch,
                display_s=display,
                decoded_to_shown_s=total,
                stale=bool(ev.get("stale", False)),
                decoded_wall=decoded,
                shown_wall=shown,
                decoded_stream_s=dec_stream,
            )
        )
    return out
