"""Each caption's timing on the *programme clock*: what a viewer of a live broadcast would see.

With file input the broadcaster and the receiver run faster than real time, so their wall-clock
times mean nothing to a viewer. Every stage is therefore put on one clock:

**Programme clock** ``t`` (seconds): the broadcast started at ``t = 0``. At ``t`` the station's
microphone delivers input second ``t``; the transmitter airs on-air (output) second ``t``, which is
input second ``t - delay`` (``delay = 0`` in live mode, ``--delay S`` in synchronous mode); the
phone's microphone records second ``t`` of its recording (started with the programme; the sound's
travel time through the simulated room is included, a few milliseconds).

A stage is timed in one of two ways:

- **by audio position** when it happens because audio arrived: speech start/end (where the
  programme maker placed it; :mod:`jimaku.demo.programme`), the ASR final (the input position
  vosk had consumed when it emitted the final), a trigger's airing (where it sits in the on-air
  audio), its decoding (the receiver, paced in real time through the phone recording, reports
  its wall time and the wall time its stream started: the difference is the recording position;
  for ``--fast`` runs, the position at which ``trigger_codec.Decoder`` returns it when fed in
  microphone-sized blocks);
- **by measured wall-clock duration** when it is computation or network work that starts from an
  audio-timed event: the upload (final emitted -> archive acknowledged) and the fetch and display
  (trigger decoded -> caption fetched -> caption on screen, the receiver's wall times). These
  durations are added to the audio-timed event they follow.

This is exact for a live broadcast as long as every process keeps up with real time (vosk's real-
time factor here is ~0.4, the decoder's ~0.002), which the bench checks and reports. The figures
are conservative: the faster-than-real-time run squeezes work into bursts, so the wall-clock
durations include more CPU contention than a live run would see.

Stages (their sum is the latency; see :class:`CaptionTiming`):

``asr_endpoint``  speech end -> ASR final; ``upload``  final -> stored on the archive;
``trigger_wait``  stored -> trigger starts airing (negative when the broadcaster airs the trigger
before the archive acknowledged; the receiver's long-poll then absorbs it in ``fetch``);
``trigger_airtime``  trigger start -> end; ``decode``  trigger end -> decoded on the phone;
``fetch``  decoded -> caption text fetched (including any wait for the upload to finish);
``display``  fetched -> shown.
In synchronous mode the trigger is aired at the speech's on-air start, so the interesting figure is
the sync error ``shown - speech start on air``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jimaku.demo.programme import Sentence

__all__ = [
    "STAGES",
    "AiredTrigger",
    "BroadcastCaption",
    "CaptionTiming",
    "DecodedTrigger",
    "ShownCaption",
    "build_timings",
    "match_sentence",
]

#: The stages in the order they happen (the latency breakdown's columns).
STAGES: tuple[str, ...] = (
    "asr_endpoint",
    "upload",
    "trigger_wait",
    "trigger_airtime",
    "decode",
    "fetch",
    "display",
)


@dataclass(frozen=True)
class BroadcastCaption:
    """A caption as the broadcaster reported it (its ``--json`` event log).

    Attributes
    ----------
    seq : int
        Trigger sequence number.
    text : str
        The caption text sent to the archive.
    speech_start_s, speech_end_s : float or None
        The utterance's first and last word in input seconds (vosk's word timings).
    final_at_s : float or None
        Input position (s) vosk had consumed when it emitted the final.
    upload_s : float or None
        Wall-clock seconds from the final to the archive's acknowledgement.
    trigger_at_s : tuple of float
        Output (on-air) seconds where the broadcaster scheduled each airing of the trigger.
    first_text_s : float or None
        Programme time at which the utterance's first words (its first partial) were stored on
        the archive: the input position of the partial plus its upload's wall-clock duration.
    """

    seq: int
    text: str
    speech_start_s: float | None = None
    speech_end_s: float | None = None
    final_at_s: float | None = None
    upload_s: float | None = None
    trigger_at_s: tuple[float, ...] = ()
    first_text_s: float | None = None


@dataclass(frozen=True)
class AiredTrigger:
    """A trigger found in the on-air audio (decoded from the broadcaster's output file).

    Attributes
    ----------
    channel, seq : int
        The trigger's payload.
    start_s, end_s : float
        Its first and last sample in on-air seconds (= programme clock).
    """

    channel: int
    seq: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class DecodedTrigger:
    """A trigger decoded from the phone's recording, with when the decoder returned it.

    Attributes
    ----------
    channel, seq : int
        The trigger's payload.
    start_s, end_s : float
        The trigger in the phone recording's seconds.
    returned_at_s : float
        Recording position (s) the decoder had been fed up to when it returned the detection.
    """

    channel: int
    seq: int
    start_s: float
    end_s: float
    returned_at_s: float


@dataclass(frozen=True)
class ShownCaption:
    """A caption the receiver showed (its ``--json`` log line).

    Attributes
    ----------
    channel, seq : int
        From the trigger.
    text : str
        What the viewer saw.
    trigger_s : float or None
        The trigger's time in the receiver's input stream (s).
    fetch_s, display_s : float or None
        Wall-clock seconds decoded -> fetched and fetched -> shown, when the receiver says.
    decoded_to_shown_s : float or None
        Wall-clock seconds decoded -> shown (used when the split is unknown).
    stale : bool
        The receiver marked it as not live.
    decoded_wall, shown_wall : float or None
        POSIX times of the decoding and the display (used by ``--live``, where wall time is
        the programme clock shifted by the broadcaster's start).
    decoded_stream_s : float or None
        When the receiver decoded the trigger, in seconds of its input stream: its decoding wall
        time minus the wall time its stream started, for a receiver paced in real time (``None``
        for ``--fast`` runs, whose wall clock is not the stream's).
    first_shown_wall : float or None
        POSIX time the caption first appeared with partial text, when its final text came
        later as an in-place update (``shown_wall`` is then the final text's time).
    shown_at_s, first_shown_at_s : float or None
        The final text's and the first words' display times on the programme clock, when they
        were measured directly (``--live``: real wall times minus the broadcast's start); they
        override the computed ones.
    """

    channel: int
    seq: int
    text: str
    trigger_s: float | None = None
    fetch_s: float | None = None
    display_s: float | None = None
    decoded_to_shown_s: float | None = None
    stale: bool = False
    decoded_wall: float | None = None
    shown_wall: float | None = None
    decoded_stream_s: float | None = None
    first_shown_wall: float | None = None
    shown_at_s: float | None = None
    first_shown_at_s: float | None = None


@dataclass(frozen=True)
class CaptionTiming:
    """One caption's path through the chain on the programme clock (seconds).

    ``None`` marks a time or stage that could not be established (the event was missing).

    Attributes
    ----------
    seq : int
        Trigger sequence number.
    text : str
        The broadcaster's caption text.
    shown_text : str or None
        What the receiver showed (``None``: never shown).
    sentence : Sentence or None
        The programme sentence this caption transcribes (by time overlap).
    speech_start_s, speech_end_s : float or None
        The speech on air (programme's truth when matched, else vosk's word times), plus the delay.
    final_s, stored_s, trigger_start_s, trigger_end_s, decoded_s, shown_s : float or None
        When each event happened on the programme clock (``shown_s``: the caption's *final*
        text on screen).
    first_shown_s : float or None
        When the caption first appeared on screen with whatever text it had (partial text,
        replaced in place by the final text at ``shown_s``): ``max(decoded, first words
        stored) + fetch + display``. Equals ``shown_s`` when the final was stored before the
        trigger was decoded (or the broadcaster sent no partials).
    stages : dict of str to float or None
        Durations of :data:`STAGES` (s).
    """

    seq: int
    text: str
    shown_text: str | None
    sentence: Sentence | None
    speech_start_s: float | None
    speech_end_s: float | None
    final_s: float | None
    stored_s: float | None
    trigger_start_s: float | None
    trigger_end_s: float | None
    decoded_s: float | None
    shown_s: float | None
    stages: dict[str, float | None] = field(default_factory=dict)
    first_shown_s: float | None = None

    @property
    def latency_s(self) -> float | None:
        """Speech end on air -> caption shown (s): the live-mode figure."""
        return _diff(self.shown_s, self.speech_end_s)

    @property
    def sync_error_s(self) -> float | None:
        """Caption first on screen - speech start on air (s): the synchronous-mode figure."""
        first = self.first_shown_s if self.first_shown_s is not None else self.shown_s
        return _diff(first, self.speech_start_s)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def match_sentence(
    start_s: float | None,
    end_s: float | None,
    sentences: Sequence[Sentence],
) -> Sentence | None:
    """Find the sentence that overlaps ``[start_s, end_s]`` most (input seconds), if any overlaps.

    Parameters
    ----------
    start_s, end_s : float or None
        The caption's speech interval as the recogniser timed it.
    sentences : sequence of Sentence
        The programme's truth.

    Returns
    -------
    Sentence or None
        ``None`` when the interval is unknown or overlaps no sentence.
    """
    if start_s is None or end_s is None:
        return None
    best, best_overlap = None, 0.0
    for s in sentences:
        overlap = min(end_s, s.end_s) - max(start_s, s.start_s)
        if overlap > best_overlap:
            best, best_overlap = s, overlap
    return best


def build_timings(
    captions: Sequence[BroadcastCaption],
    aired: Sequence[AiredTrigger],
    decoded: Sequence[DecodedTrigger],
    shown: Sequence[ShownCaption],
    sentences: Sequence[Sentence],
    channel: int,
    delay_s: float = 0.0,
) -> list[CaptionTiming]:
    """Put every caption on the programme clock (see the module docstring).

    Parameters
    ----------
    captions : sequence of BroadcastCaption
        What the broadcaster stored, in its order.
    aired : sequence of AiredTrigger
        Triggers decoded from the on-air audio (all airings, repeats included).
    decoded : sequence of DecodedTrigger
        Triggers decoded from the phone recording, with the position they were returned at.
    shown : sequence of ShownCaption
        What the receiver showed, in its order.
    sentences : sequence of Sentence
        The programme's speech (input seconds).
    channel : int
        The broadcast channel (other channels' triggers are ignored).
    delay_s : float
        The broadcaster's programme delay (0 in live mode).

    Returns
    -------
    list of CaptionTiming
        One per broadcaster caption, in the broadcaster's order.
    """
    shown_by_seq: dict[int, ShownCaption] = {}
    for s in shown:
        if s.channel == channel:
            shown_by_seq.setdefault(s.seq, s)
    out: list[CaptionTiming] = []
    for cap in captions:
        sentence = match_sentence(cap.speech_start_s, cap.speech_end_s, sentences)
        sp_start = sentence.start_s if sentence else cap.speech_start_s
        sp_end = sentence.end_s if sentence else cap.speech_end_s
        final_s = cap.final_at_s
        stored_s = None if final_s is None or cap.upload_s is None else final_s + cap.upload_s
        airings = sorted(
            (a for a in aired if a.channel == channel and a.seq == cap.seq),
            key=lambda a: a.start_s,
        )
        show = shown_by_seq.get(cap.seq)
        dec = _pick_decoded(decoded, channel, cap.seq, show)
        # The airing the phone decoded (the first one when it says nothing about it).
        airing = None
        if airings:
            airing = airings[0]
            if dec is not None:
                airing = min(airings, key=lambda a: abs(a.start_s - dec.start_s))
        trig_start = airing.start_s if airing else None
        trig_end = airing.end_s if airing else None
        # The receiver's own clock when it ran in real time, else where the decoder returns it.
        decoded_s = (
            show.decoded_stream_s
            if show and show.decoded_stream_s is not None
            else (dec.returned_at_s if dec else None)
        )
        fetch_s = show.fetch_s if show else None
        display_s = show.display_s if show else None
        shown_s = first_shown_s = None
        if show is not None and show.shown_at_s is not None:
            # measured on the programme clock itself (a live run on real devices)
            shown_s = show.shown_at_s
            first_shown_s = show.first_shown_at_s if show.first_shown_at_s is not None else shown_s
            fetch_s = None if decoded_s is None else shown_s - decoded_s
            display_s = None
        elif show is not None and decoded_s is not None:
            # The fetch cannot finish before the caption is stored: in the faster-than-real-time
            # run the receiver starts after everything is stored, so a live phone that decodes a
            # trigger before the upload finished waits (the archive's long-poll) until then.
            fetch_from = decoded_s if stored_s is None else max(decoded_s, stored_s)
            if fetch_s is not None and display_s is not None:
                shown_s = fetch_from + fetch_s + display_s
                fetch_s = shown_s - display_s - decoded_s
            elif show.decoded_to_shown_s is not None:
                shown_s = fetch_from + show.decoded_to_shown_s
                fetch_s = shown_s - decoded_s  # the split is unknown: all of it in fetch
                display_s = None
            first_shown_s = shown_s
            if (
                shown_s is not None
                and cap.first_text_s is not None
                and (stored_s is None or cap.first_text_s < stored_s)
            ):
                # A receiver following the live WebSocket shows the partial text as soon as it
                # has both the trigger and the text; the same fetch + display time is added.
                first_from = max(decoded_s, cap.first_text_s)
                first_shown_s = min(shown_s, shown_s - fetch_from + first_from)
        stages: dict[str, float | None] = {
            "asr_endpoint": _diff(final_s, sp_end),
            "upload": cap.upload_s,
            "trigger_wait": _diff(trig_start, stored_s),
            "trigger_airtime": _diff(trig_end, trig_start),
            "decode": _diff(decoded_s, trig_end),
            "fetch": fetch_s,
            "display": display_s,
        }
        out.append(
            CaptionTiming(
                seq=cap.seq,
                text=cap.text,
                shown_text=show.text if show else None,
                sentence=sentence,
                speech_start_s=None if sp_start is None else sp_start + delay_s,
                speech_end_s=None if sp_end is None else sp_end + delay_s,
                final_s=final_s,
                stored_s=stored_s,
                trigger_start_s=trig_start,
                trigger_end_s=trig_end,
                decoded_s=decoded_s,
                shown_s=shown_s,
                stages=stages,
                first_shown_s=first_shown_s,
            )
        )
    return out


def _pick_decoded(
    decoded: Sequence[DecodedTrigger],
    channel: int,
    seq: int,
    show: ShownCaption | None,
) -> DecodedTrigger | None:
    """Pick the phone-side decoding of (channel, seq) that led to the caption being shown."""
    cands = sorted(
        (d for d in decoded if d.channel == channel and d.seq == seq), key=lambda d: d.start_s
    )
    if not cands:
        return None
    if show is not None and show.trigger_s is not None:
        trigger_s = show.trigger_s
        return min(cands, key=lambda d: abs(d.start_s - trigger_s))
    return cands[0]
