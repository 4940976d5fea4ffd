"""Each caption's timing on the *programme clock*: what a viewer of a live broadcast would see.

**Programme clock** ``t`` (seconds): the broadcast started at ``t = 0``. At ``t`` the station's
microphone delivers input second ``t``; the transmitter airs on-air (output) second ``t``, which is
input second ``t - delay`` (``delay = 0`` in live mode, ``--delay S`` in synchronous mode); the
phone's microphone records second ``t`` of its recording (started with the programme; the sound's
travel time through the simulated room is included, a few milliseconds).

Every time is a stamp a component put on its own event, never rebuilt from other numbers. In the
real-time chain (:func:`jimaku.demo.chain.run_chain`, ``realtime=True``) the broadcaster is fed
the programme in real time and the receiver listens to the phone recording in real time beside
it, both on this machine's wall clock, so an event's programme time is its wall stamp minus the
wall time the broadcaster was fed its first sample. Positions in audio time the rest: speech
start/end (where the programme maker placed it; :mod:`jimaku.demo.programme`) and a trigger's
airing (where it sits in the on-air audio). A ``--fast`` receiver has no programme clock: its
shown times stay ``None`` and only its stream positions count.

Stages (each measured from its own stamps, so they need not add up to the latency: the trigger
usually airs at the first words, before the final, and the fetch waits for the upload):

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
        Wall-clock seconds from the final to the archive's acknowledgement (both stamps the
        broadcaster's).
    trigger_at_s : tuple of float
        Output (on-air) seconds where the broadcaster scheduled each airing of the trigger.
    final_wall_s, stored_wall_s, first_text_wall_s : float or None
        On the programme clock (real-time runs only): the final came out and the utterance's
        first words were stored (the broadcaster's stamps), the final was stored (the
        archive's own ``updated_at`` when the chain has it, else the broadcaster's
        acknowledgement).
    """

    seq: int
    text: str
    speech_start_s: float | None = None
    speech_end_s: float | None = None
    final_at_s: float | None = None
    upload_s: float | None = None
    trigger_at_s: tuple[float, ...] = ()
    final_wall_s: float | None = None
    stored_wall_s: float | None = None
    first_text_wall_s: float | None = None


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
    """A caption the receiver showed (its ``--json`` lines), with the receiver's own stamps.

    Attributes
    ----------
    channel, seq : int
        From the trigger.
    text : str
        What the viewer saw (the final text once it replaced a partial one in place).
    trigger_s : float or None
        The trigger's start in the receiver's input stream (s).
    stale : bool
        The receiver marked it as not live.
    decoded_wall, fetched_wall, shown_wall : float or None
        POSIX times: the decoder returned the trigger, the caption's text was in hand, the
        (final) text was on screen.
    decoded_stream_s : float or None
        Input stream position (s) the receiver's decoder had been fed up to when it returned
        the trigger.
    stream_start_wall : float or None
        POSIX time of the receiver's stream position 0.
    first_shown_wall : float or None
        POSIX time the caption first appeared with partial text, when its final text came
        later as an in-place update (``shown_wall`` is then the final text's time).
    decoded_at_s, shown_at_s, first_shown_at_s : float or None
        The same stamps on the programme clock (real-time runs; ``None`` otherwise).
    """

    channel: int
    seq: int
    text: str
    trigger_s: float | None = None
    stale: bool = False
    decoded_wall: float | None = None
    fetched_wall: float | None = None
    shown_wall: float | None = None
    decoded_stream_s: float | None = None
    stream_start_wall: float | None = None
    first_shown_wall: float | None = None
    decoded_at_s: float | None = None
    shown_at_s: float | None = None
    first_shown_at_s: float | None = None

    @property
    def fetch_s(self) -> float | None:
        """Decoded -> text in hand (s, the receiver's wall clock)."""
        return _diff(self.fetched_wall, self.decoded_wall)

    @property
    def display_s(self) -> float | None:
        """Text in hand -> first on screen (s, the receiver's wall clock)."""
        first = self.first_shown_wall if self.first_shown_wall is not None else self.shown_wall
        return _diff(first, self.fetched_wall)


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
        replaced in place by the final text at ``shown_s``). Equals ``shown_s`` when the final
        was in hand when the trigger was decoded (or the broadcaster sent no partials).
    stages : dict of str to float or None
        Durations of :data:`STAGES` (s).
    spoken : str or None
        The sentence that was spoken (the programme's truth, or the user's transcript line).
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
    spoken: str | None = None

    @property
    def cer(self) -> float | None:
        """Character error rate of the caption against what was spoken (``None``: unknown)."""
        from jimaku.demo.transcript import cer

        return None if self.spoken is None else cer(self.spoken, self.text)

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
        One per broadcaster caption, in the broadcaster's order. A time no component stamped
        is ``None``.
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
        final_s = cap.final_wall_s if cap.final_wall_s is not None else cap.final_at_s
        stored_s = cap.stored_wall_s
        airings = sorted(
            (a for a in aired if a.channel == channel and a.seq == cap.seq),
            key=lambda a: a.start_s,
        )
        show = shown_by_seq.get(cap.seq)
        # The airing the phone heard: the one nearest where the receiver says the trigger began.
        airing = None
        if airings:
            airing = airings[0]
            if show is not None and show.trigger_s is not None:
                heard_at = show.trigger_s
                airing = min(airings, key=lambda a: abs(a.start_s - heard_at))
        trig_start = airing.start_s if airing else None
        trig_end = airing.end_s if airing else None
        decoded_s = shown_s = first_shown_s = None
        if show is not None:
            decoded_s = show.decoded_at_s
            if decoded_s is None:
                decoded_s = show.decoded_stream_s  # a --fast receiver: its stream position
            shown_s = show.shown_at_s
            first_shown_s = show.first_shown_at_s if show.first_shown_at_s is not None else shown_s
        stages: dict[str, float | None] = {
            "asr_endpoint": _diff(final_s, sp_end),
            "upload": cap.upload_s,
            "trigger_wait": _diff(trig_start, stored_s),
            "trigger_airtime": _diff(trig_end, trig_start),
            "decode": _diff(decoded_s, trig_end),
            "fetch": show.fetch_s if show else None,
            "display": show.display_s if show else None,
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
                spoken=sentence.text if sentence else None,
            )
        )
    return out
