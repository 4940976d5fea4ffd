"""What the decoder saw and decided, for benchmarks, diagnostics, tests and the spec's vectors.

``Decoder(sample_rate, trace=callback)`` calls ``callback(event)`` with one of the event types
below as it works; with ``trace=None`` (the default) none is built and decoding costs nothing
extra. Events are plain frozen dataclasses holding copies: a callback may keep them. Tracing
never changes what the decoder reports. Frame numbers are absolute: frame ``j`` starts at
sample ``j * N // 2`` of the stream (``N`` = 20 ms of samples), whatever the block split.

Events, in the order a decoder emits them for one trigger:

* :class:`FramesAnalysed`: a batch of new frames' tone-bin powers, floors and shares;
* :class:`SyncScores`: the preamble (sync) metric of the candidates those frames completed;
* :class:`Candidate`: a candidate that passed the sync rule, and whether it went on to be decoded;
* :class:`DecodeAttempt`: one decoding stage of one frame phase (metrics, bit LLRs, words, ``z``);
* :class:`PhaseDecoded`: the outcome of one frame phase (found, a near miss, a rival, ...);
* :class:`Reported`: a detection returned by ``feed``/``flush``.

:class:`Recorder` collects them (``Decoder(sr, trace=rec)``) and puts the whole stream's grid back
together for offline analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from trigger_codec.decoder import Detection

__all__ = [
    "Candidate",
    "DecodeAttempt",
    "FramesAnalysed",
    "PhaseDecoded",
    "Recorder",
    "Reported",
    "SyncScores",
    "Tier",
    "Trace",
    "TraceEvent",
    "WordTried",
]

Float = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FramesAnalysed:
    """New frames of the grid: every band's tone bins, absolute frames ``first_frame ...``.

    Attributes
    ----------
    first_frame : int
        Absolute frame of row 0.
    power : np.ndarray [shape=(k, cols), dtype=float64]
        ``|X|^2`` of the tone bins (all bands side by side, see ``columns``), frame scale.
    floor : np.ndarray [shape=(k, cols), dtype=float64]
        Each bin's floor ``F`` just before the frame (200 ms exponential average of power).
    share : np.ndarray [shape=(k, cols), dtype=float64]
        ``S = E / sum(E over the band)`` with ``E = P / (F + m)``: what the sync metric reads.
    columns : dict of str to slice
        Profile name -> its columns (slot 0 of the profile is the slice's start).
    """

    first_frame: int
    power: Float
    floor: Float
    share: Float
    columns: dict[str, slice]


@dataclass(frozen=True)
class SyncScores:
    """Preamble metric of consecutive candidate start frames of one profile.

    ``values[i]`` is the metric of the candidate starting at frame ``first_frame + i``: the mean
    over the 3 preamble symbols of the share of the known tone in its frame (0..1).
    """

    profile: str
    first_frame: int
    values: Float


#: which step of the sync rule a candidate passed
Tier = Literal["mean", "low"]
#: what became of a candidate that passed the sync rule
CandidateOutcome = Literal["decode", "weak_data", "in_airing", "unbalanced"]


@dataclass(frozen=True)
class Candidate:
    """A candidate start frame that passed the sync rule's first step.

    Attributes
    ----------
    profile : str
    frame : int
        Absolute start frame (its first preamble frame).
    sync : float
        Its preamble metric.
    tier : {"mean", "low"}
        ``"mean"``: metric >= ``SYNC_MEAN``; ``"low"``: between ``SYNC_LOW`` and ``SYNC_MEAN``
        and the local maximum of its neighbourhood (then the data frames must hold
        concentrated tones: ``data_share >= SYNC_DATA``).
    data_share : float
        Low tier only (else NaN): mean over the 20 data symbols of the largest share among
        the symbol's 32 candidate tones.
    balance : float
        Upper half of the band's power over the lower half's in its 23 symbol frames (NaN if
        not computed: a low-tier candidate whose data share failed).
    outcome : {"decode", "weak_data", "in_airing", "unbalanced"}
        ``"decode"``: its phases are decoded (:class:`PhaseDecoded`); ``"weak_data"``: low tier,
        data share too small; ``"in_airing"``: inside a trigger already reported;
        ``"unbalanced"``: the upper half of the band is empty (balance rule).
    """

    profile: str
    frame: int
    sync: float
    tier: Tier
    data_share: float
    balance: float
    outcome: CandidateOutcome


@dataclass(frozen=True)
class WordTried:
    """One word of the CRC-aided list decoder.

    Attributes
    ----------
    bits : np.ndarray [shape=(48,), dtype=int64]
        Message bits (channel 12, seq 20, CRC 16), first bit first.
    ident : tuple of (int, int) or None
        ``(channel, seq)`` if the CRC matched, else None.
    z : float
        Mean of the re-encoded word's check terms on the attempt's check energies (computed
        for every word when tracing; the decoder itself needs it only for a CRC match and the
        Viterbi word).
    """

    bits: npt.NDArray[np.int64]
    ident: tuple[int, int] | None
    z: float


#: the outcome of one decoding stage
AttemptOutcome = Literal["accepted", "z_reject", "crc_fail"]


@dataclass(frozen=True)
class DecodeAttempt:
    """One decoding stage of one frame phase of a candidate.

    Attributes
    ----------
    profile : str
    frame : int
        Absolute frame of the phase decoded (its first preamble frame).
    phase : int
        Hops from the sync hit's frame (``frame - candidate frame``).
    half : bool
        True if decoded on the frames a quarter frame (N/4 samples) after the regular ones.
    stage : int
        Index into the decoder's stage list (0: first metric, max-log bits).
    metric_index : int
        Which decoding metric (0: ``log(E'[j] + 0.4 E'[j+1] + 0.1)``, 1: with the hops either
        side weighted 0.7 / 0.2).
    sharpness : float or None
        Bit demapping: None max-log, else log-sum-exp at this sharpness.
    metrics : np.ndarray [shape=(20, 32), dtype=float64]
        Per data symbol (time order) and candidate tone (value 0..31) the decoding metric.
    check_energies : np.ndarray [shape=(20, 32), dtype=float64]
        The energies the ``z`` check is computed on.
    llrs : np.ndarray [shape=(100,), dtype=float64]
        Code-bit LLRs (positive: bit 0 more likely), code-bit order.
    words : tuple of WordTried
        The list decoder's words, in order, up to the first CRC match.
    z : float
        ``z`` of the CRC-matching word (NaN if none).
    viterbi_z : float
        ``z`` of the Viterbi word (stage 0 without a CRC match only; else NaN).
    outcome : {"accepted", "z_reject", "crc_fail"}
    """

    profile: str
    frame: int
    phase: int
    half: bool
    stage: int
    metric_index: int
    sharpness: float | None
    metrics: Float
    check_energies: Float
    llrs: Float
    words: tuple[WordTried, ...]
    z: float
    viterbi_z: float
    outcome: AttemptOutcome


#: the outcome of one frame phase
PhaseOutcome = Literal["found", "duplicate", "rival", "miss", "near_miss"]


@dataclass(frozen=True)
class PhaseDecoded:
    """What decoding one frame phase of a candidate gave.

    ``outcome``: ``"found"`` (reported), ``"duplicate"`` (an ID already reported for this
    airing), ``"rival"`` (not decoded: a stronger preamble 3-40 hops before or 6-40 after makes
    it a misaligned view of another trigger), ``"near_miss"`` (no word accepted, Viterbi-word
    ``z >= 2.5``: retried), ``"miss"``. ``viterbi_z``: NaN if not decoded.
    """

    profile: str
    frame: int
    phase: int
    outcome: PhaseOutcome
    viterbi_z: float


@dataclass(frozen=True)
class Reported:
    """A detection about to be returned; ``frame`` is the absolute frame of its phase."""

    detection: Detection
    frame: int


TraceEvent = FramesAnalysed | SyncScores | Candidate | DecodeAttempt | PhaseDecoded | Reported
#: the ``trace=`` callback's type
Trace = Callable[[TraceEvent], None]


@dataclass
class Recorder:
    """A trace callback that keeps every event (``Decoder(sr, trace=Recorder())``).

    Keeping the grid costs ~1 MB per minute of audio; ``keep_frames=False`` drops
    :class:`FramesAnalysed` events.
    """

    keep_frames: bool = True
    events: list[TraceEvent] = field(default_factory=list)

    def __call__(self, event: TraceEvent) -> None:
        """Keep ``event``."""
        if self.keep_frames or not isinstance(event, FramesAnalysed):
            self.events.append(event)

    def of(self, kind: type[TraceEvent]) -> list[TraceEvent]:
        """Return the events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def grid(self) -> FramesAnalysed:
        """Return every frame analysed so far as one :class:`FramesAnalysed` from frame 0.

        Raises ``ValueError`` if frames were dropped or none were kept.
        """
        batches = [e for e in self.events if isinstance(e, FramesAnalysed)]
        if not batches:
            raise ValueError("no frames recorded (keep_frames=False, or nothing fed)")
        # flush() resets the decoder: a new stream starts at frame 0 again; keep the last one
        starts = [i for i, e in enumerate(batches) if e.first_frame == 0]
        batches = batches[starts[-1] :]
        frame = 0
        for e in batches:
            if e.first_frame != frame:
                raise ValueError(f"frames {frame}..{e.first_frame - 1} were not recorded")
            frame += e.power.shape[0]
        return FramesAnalysed(
            0,
            np.concatenate([e.power for e in batches]),
            np.concatenate([e.floor for e in batches]),
            np.concatenate([e.share for e in batches]),
            batches[0].columns,
        )
