"""The ``--json`` event lines of ``jimaku broadcast`` and ``jimaku receive``, as pydantic models.

One home for the two log formats: the broadcaster and the receiver build these models and print
them (``model_dump_json``), and everything that reads the logs (the demo, the system tests, the
benchmarks) parses them with :func:`parse_broadcast_event` / :func:`parse_receiver_event`. A
field is spelled here once; a reader that asks for a field no component writes fails type
checking instead of silently finding ``None``.

Both logs key their events by ``"type"``. Every broadcaster event carries ``t`` (POSIX seconds
when it happened, stamped by the broadcaster's event sink). Receiver events carry the receiver's
own clocks: wall times (POSIX seconds) and positions in its input stream (seconds from the
first sample it read), so a latency can be measured from the receiver's stamps alone.

Needs pydantic (the ``client`` extra, which both the broadcaster and the receiver install); the
ID limits the fields are checked against come from :mod:`trigger_codec.ids`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ, ProfileName

__all__ = [
    "Airing",
    "ArchiveHealth",
    "BroadcastCaption",
    "BroadcastEvent",
    "BroadcastEventBase",
    "BroadcastSummary",
    "CaptionShown",
    "Error",
    "EventFormatError",
    "Level",
    "Listening",
    "Partial",
    "PartialUpload",
    "Ready",
    "ReceiverEvent",
    "ReceiverEventBase",
    "Started",
    "SummaryCaption",
    "Upload",
    "Utterance",
    "Warning",
    "Xruns",
    "parse_broadcast_event",
    "parse_receiver_event",
]

Channel = Annotated[int, Field(ge=0, le=MAX_CHANNEL)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]


class EventFormatError(ValueError):
    """A log line is not one of the events this module defines (the message says why)."""


class _Event(BaseModel):
    # forbid: a field a component writes but this module does not know is a contract change
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-ready dict, ``type`` first, unset optionals left out."""
        d = self.model_dump(mode="json", exclude_none=True)
        return {"type": d.pop("type"), **d} if "type" in d else d

    def to_json(self) -> str:
        """One JSON line (no newline) of :meth:`to_dict`, non-ASCII text kept readable."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


# --------------------------------------------------------------------------- jimaku broadcast
class BroadcastEventBase(_Event):
    """Fields every broadcaster event has.

    Attributes
    ----------
    t : float or None
        POSIX seconds when the event happened (the event sink stamps it; ``None`` only before).
    """

    t: float | None = None


class Started(BroadcastEventBase):
    """The engine is set up (model resolved, input and archive client open)."""

    type: Literal["started"] = "started"
    channel: Channel
    profile: ProfileName
    mode: Literal["live", "synchronous"]
    delay_s: float
    sample_rate_hz: int
    channels: int
    model: str
    language: str | None = None
    next_seq: Seq
    spooled_from_earlier: int
    wall_start: str


class Ready(BroadcastEventBase):
    """The daemon is listening: the model is loaded and programme audio is being taken in."""

    type: Literal["ready"] = "ready"
    input: str  # the --input it listens to
    startup_s: float  # seconds from the daemon's start to the first programme audio taken in


class Level(BroadcastEventBase):
    """Programme input level, every 0.5 s of input (``at_s``: input seconds)."""

    type: Literal["level"] = "level"
    at_s: float
    peak_dbfs: float
    rms_dbfs: float


class Warning(BroadcastEventBase):
    """Something the operator should know; the programme goes on."""

    type: Literal["warning"] = "warning"
    message: str
    kind: str | None = None
    at_s: float | None = None
    samples: int | None = None
    seq: Seq | None = None
    late_s: float | None = None


class Error(BroadcastEventBase):
    """A failure: ``kind`` says which (``asr_overflow``, ``recognizer``, ``device``, ``fatal``)."""

    type: Literal["error"] = "error"
    kind: str
    message: str
    dropped_blocks: int | None = None
    retry: int | None = None
    max_retries: int | None = None


class Airing(BroadcastEventBase):
    """A trigger scheduled into the output at ``sample`` (``seconds`` on the output's clock)."""

    type: Literal["airing"] = "airing"
    seq: Seq
    sample: int
    seconds: float
    repeat: int


class Partial(BroadcastEventBase):
    """The recogniser's partial text of the current utterance (``input_s``: input consumed)."""

    type: Literal["partial"] = "partial"
    seq: Seq
    text: str
    input_s: float


class Utterance(BroadcastEventBase):
    """An utterance's trigger scheduled at its first words (``start_s``: on-air start, s)."""

    type: Literal["utterance"] = "utterance"
    seq: Seq
    start_s: float
    onset_found: bool
    input_s: float


class BroadcastCaption(BroadcastEventBase):
    """A final caption.

    ``start_s``/``end_s``: the speech in input seconds; ``programme_*``: on the output's clock
    (plus the delay); ``input_s``: input consumed when the recogniser emitted the final.
    """

    type: Literal["caption"] = "caption"
    seq: Seq
    text: str
    start_s: float
    end_s: float
    programme_start_s: float
    programme_end_s: float
    input_s: float
    words: int


class Upload(BroadcastEventBase):
    """A final caption's upload: ``stored`` (``stored_at``: ISO UTC), ``spooled`` or ``failed``."""

    type: Literal["upload"] = "upload"
    channel: Channel
    seq: Seq
    state: Literal["stored", "spooled", "failed"]
    attempts: int | None = None
    stored_at: str | None = None
    error: str | None = None
    retry_in_s: float | None = None


class PartialUpload(BroadcastEventBase):
    """A partial text's upload (``first``: the utterance's first words)."""

    type: Literal["partial_upload"] = "partial_upload"
    seq: Seq
    ok: bool
    first: bool | None = None
    error: str | None = None


class ArchiveHealth(BroadcastEventBase):
    """The archive became reachable or unreachable."""

    type: Literal["archive"] = "archive"
    healthy: bool
    detail: str = ""


class Xruns(BroadcastEventBase):
    """Sound-device over/underruns so far."""

    type: Literal["xruns"] = "xruns"
    count: int


class SummaryCaption(_Event):
    """One caption in the run summary."""

    seq: Seq
    text: str
    start_s: float
    end_s: float
    programme_start_s: float
    programme_end_s: float
    state: str
    stored_at: str | None = None
    airings: list[dict[str, float | int]] = Field(default_factory=list)


class BroadcastSummary(BroadcastEventBase):
    """The last event of a run: every caption and what became of it."""

    type: Literal["summary"] = "summary"
    channel: Channel
    captions: list[SummaryCaption]
    stored: int
    spooled: int
    rejected: int
    last_error: str | None = None  # the archive's last refusal or failure of an unsent caption
    all_stored: bool
    asr_dropped_blocks: int
    clipped_samples: int
    input_s: float


BroadcastEvent = Annotated[
    Started
    | Ready
    | Level
    | Warning
    | Error
    | Airing
    | Partial
    | Utterance
    | BroadcastCaption
    | Upload
    | PartialUpload
    | ArchiveHealth
    | Xruns
    | BroadcastSummary,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------------------- jimaku receive


class ReceiverEventBase(_Event):
    """Fields every receiver event has."""


class Listening(ReceiverEventBase):
    """The receiver's input stream started: its position 0 is at ``stream_start_wall``.

    Attributes
    ----------
    stream_start_wall : float
        POSIX seconds when the receiver took in its first sample.
    sample_rate_hz : int
        The input's sample rate.
    realtime : bool
        The input is paced in real time (a device, or a file played at its own pace): stream
        positions and wall times then advance together. ``False`` for ``--fast`` files.
    """

    type: Literal["listening"] = "listening"
    stream_start_wall: float
    sample_rate_hz: int
    realtime: bool


class CaptionShown(ReceiverEventBase):
    """A caption appeared on screen (``shown``) or its text changed in place (``updated``).

    Attributes
    ----------
    channel, seq : int
        The trigger's ID.
    text : str
        As shown.
    final : bool
        The archive's final flag.
    stale : bool
        Shown in ``--timeshift`` mode although older than ``--stale-after``.
    profile : str
        Codec profile the trigger was heard in.
    trigger_start_s, trigger_end_s : float
        The trigger in the receiver's input stream (s from its first sample).
    decoded_stream_s : float
        Stream position (s) the decoder had been fed up to when it returned the trigger.
    decoded_wall : float
        POSIX seconds when the decoder returned it.
    fetched_wall : float or None
        POSIX seconds when the caption's text was in hand (fetched, or cached from the live
        stream); ``None`` for an ``updated`` line whose trigger is forgotten.
    shown_wall : float
        POSIX seconds when it was put on screen.
    stream_start_wall : float or None
        As in :class:`Listening` (repeated so every line stands alone).
    on_air : str or None
        The caption's ``start_at`` (ISO UTC).
    """

    type: Literal["shown", "updated"]
    channel: Channel
    seq: Seq
    text: str
    final: bool
    stale: bool
    profile: str
    trigger_start_s: float | None = None
    trigger_end_s: float | None = None
    decoded_stream_s: float | None = None
    decoded_wall: float | None = None
    fetched_wall: float | None = None
    shown_wall: float
    stream_start_wall: float | None = None
    on_air: str | None = None


ReceiverEvent = Annotated[Listening | CaptionShown, Field(discriminator="type")]

_BROADCAST: TypeAdapter[Any] = TypeAdapter(BroadcastEvent)
_RECEIVER: TypeAdapter[Any] = TypeAdapter(ReceiverEvent)


def _parse(adapter: TypeAdapter[Any], line: str | bytes | dict[str, Any], what: str) -> Any:
    try:
        if isinstance(line, dict):
            return adapter.validate_python(line)
        return adapter.validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise EventFormatError(
            f"not a {what} event ({where or 'line'}: {first.get('msg')}): {str(line)[:120]}"
        ) from exc


def parse_broadcast_event(line: str | bytes | dict[str, Any]) -> BroadcastEvent:
    """Parse one ``jimaku broadcast --json`` line (or its decoded dict).

    Raises
    ------
    EventFormatError
        Not a JSON object of a known event type with the fields it must have.
    """
    result: BroadcastEvent = _parse(_BROADCAST, line, "jimaku broadcast")
    return result


def parse_receiver_event(line: str | bytes | dict[str, Any]) -> ReceiverEvent:
    """Parse one ``jimaku receive --json`` line (or its decoded dict).

    Raises
    ------
    EventFormatError
        Not a JSON object of a known event type with the fields it must have.
    """
    result: ReceiverEvent = _parse(_RECEIVER, line, "jimaku receive")
    return result
