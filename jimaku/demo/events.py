"""Turn the broadcaster's and the receiver's ``--json`` logs into the chain's records.

The lines are parsed with the components' own models (:mod:`jimaku.events`): a line that does not
fit them is an error, not a field to guess. Every time kept here is a stamp the component put on
its own event: the broadcaster's ``t`` (POSIX seconds), the receiver's wall times and input
stream positions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import IO, Any

from jimaku import events as ev
from jimaku.demo.timing import BroadcastCaption, ShownCaption

__all__ = [
    "broadcast_captions",
    "broadcast_progress_s",
    "read_jsonl_events",
    "receiver_listening",
    "shown_captions",
]


def read_jsonl_events(stream: Iterable[bytes], log: IO[str]) -> Iterator[dict[str, Any]]:
    """Yield a process's JSON-object lines as they arrive, copying every non-empty line to ``log``.

    Lines that are not JSON objects are logged but not yielded.
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
            yield event


def broadcast_progress_s(event: Mapping[str, Any]) -> float | None:
    """How far into the programme (input seconds) the broadcaster is, if this event says."""
    kind = event.get("type")
    if kind == "level":
        return float(event["at_s"])
    if kind == "caption":
        return float(event["end_s"])
    return None


def broadcast_captions(
    events: Iterable[Mapping[str, Any]],
    origin_wall: float | None = None,
) -> list[BroadcastCaption]:
    """Collect the broadcaster's captions from its event log, in the order it made them.

    Parameters
    ----------
    events : iterable of mapping
        The parsed JSON lines (:class:`jimaku.events.BroadcastEvent` dicts).
    origin_wall : float, optional
        POSIX time at which the broadcaster was fed its first programme sample, when it was fed in
        real time: the event stamps ``t`` then give each caption's wall-clock times on the
        programme clock (``final_wall_s``, ``stored_wall_s``, ``first_text_wall_s``).

    Returns
    -------
    list of BroadcastCaption
        In the order of their ``caption`` events.

    Raises
    ------
    jimaku.events.EventFormatError
        A line is not a broadcaster event.
    """
    order: list[int] = []
    caps: dict[int, ev.BroadcastCaption] = {}
    airings: dict[int, list[float]] = {}
    stored: dict[int, float] = {}
    first_partial_stored: dict[int, float] = {}
    for raw in events:
        e = ev.parse_broadcast_event(dict(raw))
        if isinstance(e, ev.BroadcastCaption):
            if e.seq not in caps:
                order.append(e.seq)
            caps[e.seq] = e
        elif isinstance(e, ev.Airing):
            airings.setdefault(e.seq, []).append(e.seconds)
        elif isinstance(e, ev.PartialUpload) and e.ok and e.t is not None:
            first_partial_stored.setdefault(e.seq, e.t)
        elif isinstance(e, ev.Upload) and e.state == "stored" and e.t is not None:
            stored.setdefault(e.seq, e.t)

    def on_clock(t: float | None) -> float | None:
        return None if t is None or origin_wall is None else t - origin_wall

    out: list[BroadcastCaption] = []
    for seq in order:
        c = caps[seq]
        upload = None
        if c.t is not None and seq in stored:
            upload = stored[seq] - c.t
        out.append(
            BroadcastCaption(
                seq=seq,
                text=c.text,
                speech_start_s=c.start_s,
                speech_end_s=c.end_s,
                final_at_s=c.input_s,
                upload_s=upload,
                trigger_at_s=tuple(sorted(airings.get(seq, []))),
                final_wall_s=on_clock(c.t),
                stored_wall_s=on_clock(stored.get(seq)),
                first_text_wall_s=on_clock(first_partial_stored.get(seq)),
            )
        )
    return out


def receiver_listening(events: Iterable[Mapping[str, Any]]) -> ev.Listening | None:
    """Return the receiver's ``listening`` event (its input stream started), if it printed one."""
    for raw in events:
        if raw.get("type") == "listening":
            e = ev.parse_receiver_event(dict(raw))
            assert isinstance(e, ev.Listening)
            return e
    return None


def shown_captions(
    events: Sequence[Mapping[str, Any]],
    origin_wall: float | None = None,
) -> list[ShownCaption]:
    """Collect the captions the receiver showed, from its ``--json`` lines, in its order.

    Parameters
    ----------
    events : sequence of mapping
        The parsed JSON lines (:class:`jimaku.events.ReceiverEvent` dicts).
    origin_wall : float, optional
        POSIX time of the programme clock's zero (the broadcaster's first programme sample),
        when the receiver listened in real time beside the broadcaster: its wall stamps then give
        ``decoded_at_s``/``shown_at_s``/``first_shown_at_s`` on the programme clock.

    Returns
    -------
    list of ShownCaption
        One per ``shown`` line (duplicates kept). ``updated`` lines (changes in place) are not
        new captions; the one that turns a caption first shown with partial text final gives it
        its final text and time (``first_shown_*`` keep the first appearance).

    Raises
    ------
    jimaku.events.EventFormatError
        A line is not a receiver event.
    """

    def on_clock(t: float | None) -> float | None:
        return None if t is None or origin_wall is None else t - origin_wall

    out: list[ShownCaption] = []
    partial: dict[tuple[int, int], int] = {}
    for raw in events:
        e = ev.parse_receiver_event(dict(raw))
        if not isinstance(e, ev.CaptionShown):
            continue
        key = (e.channel, e.seq)
        if e.type == "updated":
            i = partial.get(key)
            if i is not None and e.final:
                # the caption first shown with partial text got its final text in place
                prev = out[i]
                out[i] = replace(
                    prev, text=e.text, shown_wall=e.shown_wall, shown_at_s=on_clock(e.shown_wall)
                )
                del partial[key]
            continue
        first_wall = first_at = None
        shown_wall: float | None = e.shown_wall
        if not e.final:
            # first words on screen: the caption counts as shown when its final text is
            partial[key] = len(out)
            first_wall, first_at, shown_wall = e.shown_wall, on_clock(e.shown_wall), None
        out.append(
            ShownCaption(
                channel=e.channel,
                seq=e.seq,
                text=e.text,
                trigger_s=e.trigger_start_s,
                stale=e.stale,
                decoded_wall=e.decoded_wall,
                fetched_wall=e.fetched_wall,
                shown_wall=shown_wall,
                decoded_stream_s=e.decoded_stream_s,
                stream_start_wall=e.stream_start_wall,
                first_shown_wall=first_wall,
                decoded_at_s=on_clock(e.decoded_wall),
                shown_at_s=on_clock(shown_wall),
                first_shown_at_s=first_at,
            )
        )
    return out
