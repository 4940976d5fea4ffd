"""Airing policy: which frame phases of a sync hit are decoded, and what is reported.

* Phases: a hit's frame and its neighbours (:data:`PHASES`, the stronger preamble first), each
  frame at most once per profile; after a near miss also :data:`NEAR_MISS_PHASE`.
* Rival rule: a phase is not decoded if a candidate 3-40 hops before it or 6-40 hops after it
  has a stronger preamble (a misaligned view of a trigger that starts there).
* De-duplication: the same ID of the same profile within 15 hops of a reported start is the same
  airing, reported once; no other candidate of that profile is decoded inside a reported
  airing (a second trigger there would overlap it).
* Reporting: the start and SNR come from whichever of the phases -1, 0, +1 holds more of the
  decoded word's tones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trigger_codec import trace as tr
from trigger_codec.demod import RETRY_Z, Demodulator
from trigger_codec.framing import encode_payload
from trigger_codec.frontend import TINY
from trigger_codec.grid import PRE_SPAN, RIVAL_REACH, Band, Grid
from trigger_codec.profiles import DATA_SYMBOLS, N_SYMBOLS, airtime_s
from trigger_codec.sync import PEAK_HOPS, SYNC_MEAN

__all__ = [
    "AIRING_FRAMES",
    "DEDUP_FRAMES",
    "NEAR_MISS_PHASE",
    "PHASES",
    "RIVAL_AFTER",
    "RIVAL_BEFORE",
    "RIVAL_MARGIN",
    "Airing",
    "AiringPolicy",
    "Detection",
]

#: frame phases tried around a sync hit (hops), in order of their sync metric
PHASES = (0, -1, 1)
#: ... and this one only after a near miss of those (``z >= RETRY_Z``): a reverberant
#: preamble's tail can pull the sync peak late
NEAR_MISS_PHASE = -2
#: a candidate is not decoded if one at least RIVAL_AFTER hops after it or RIVAL_BEFORE hops
#: before it (up to RIVAL_REACH) has a stronger preamble. Later candidates 3-5 hops away hear
#: the preamble's own reverberant tail: at 0 dB, 4-7 of 200 channel-bench triggers have a
#: stronger sync metric there than at their own phase, none from 6 hops on (none earlier from 3
#: hops on)
RIVAL_BEFORE = 3
RIVAL_AFTER = 6
#: ... stronger by this factor: a trigger's own data symbols can look like a weaker preamble,
#: while a misaligned view's own sync is a fraction of the real trigger's
RIVAL_MARGIN = 1.5
#: same ID within this many hops (10 ms each) of a previous start = the same airing
DEDUP_FRAMES = 15
#: hops after a reported start in which no other trigger of that profile can start
AIRING_FRAMES = 2 * N_SYMBOLS

_SYM_ROWS = 2 * np.arange(N_SYMBOLS)


@dataclass(frozen=True)
class Detection:
    """One decoded trigger.

    Attributes
    ----------
    channel : int
        0..4095.
    seq : int
        0..1,048,575.
    profile : str
        ``"hf"`` or ``"robust"``.
    start_s : float
        Time of the trigger waveform's first sample (the start of :func:`encode`'s output),
        seconds from the first sample fed to the decoder.
    end_s : float
        ``start_s + airtime_s(profile)``.
    snr_db : float
        Estimated SNR in the trigger band, dB: tone power over noise power across the
        profile's slots, measured in the trigger's own frames.
    """

    channel: int
    seq: int
    profile: str
    start_s: float
    end_s: float
    snr_db: float


@dataclass(frozen=True)
class Airing:
    """A reported trigger: its profile, ID and the absolute frame of its phase."""

    profile: str
    channel: int
    seq: int
    frame: int


class AiringPolicy:
    """Decodes the phases of sync hits and reports each airing once.

    Parameters
    ----------
    grid : Grid
    demod : Demodulator
    bands : list of Band
    n, lead, sample_rate : int
        Frame length, the encoder's lead before the first symbol (samples), rate (Hz).
    trace : callable or None
    """

    def __init__(
        self,
        grid: Grid,
        demod: Demodulator,
        bands: list[Band],
        n: int,
        lead: int,
        sample_rate: int,
        trace: tr.Trace | None,
    ) -> None:
        self.grid = grid
        self.demod = demod
        self.n, self.lead, self.sample_rate = n, lead, sample_rate
        self.trace = trace
        self._names = [b.name for b in bands]
        self.reset()

    def reset(self) -> None:
        """Forget every airing and tried frame (a new stream)."""
        self.recent: list[Airing] = []
        # frames already decoded per profile (pruned to the last few hundred ms)
        self.tried: dict[str, set[int]] = {name: set() for name in self._names}

    # ------------------------------------------------------------------ airings
    def airings(self, name: str) -> list[tuple[int, int]]:
        """Return the airings of profile ``name`` already reported, as frame ranges [lo, hi).

        From ``DEDUP_FRAMES`` before a reported start to one airtime after it.
        """
        return [
            (a.frame - DEDUP_FRAMES, a.frame + AIRING_FRAMES)
            for a in self.recent
            if a.profile == name
        ]

    def in_airing(self, name: str, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each absolute frame lies in an airing of profile ``name``."""
        inside = np.zeros(frames.shape, dtype=bool)
        for lo, hi in self.airings(name):
            inside |= (frames >= lo) & (frames < hi)
        return inside

    def frame_in_airing(self, name: str, frame: int) -> bool:
        """:meth:`in_airing` for one frame, without numpy (runs per candidate)."""
        return any(lo <= frame < hi for lo, hi in self.airings(name))

    def forget_before(self, frame: int) -> None:
        """Drop tried frames before absolute ``frame``."""
        for tried in self.tried.values():
            for old in [f for f in tried if f < frame]:
                tried.discard(old)

    # ------------------------------------------------------------------ rival rule
    def rival(self, b: Band, frame: int) -> bool:
        """Whether a candidate 3-40 hops before or 6-40 after ``frame`` has a stronger preamble.

        Compares the sync metric of the candidates within +-PEAK_HOPS of ``frame`` with those
        RIVAL_BEFORE to RIVAL_REACH hops before and RIVAL_AFTER to RIVAL_REACH after, as far as
        the grid holds them: a rival at least SYNC_MEAN and RIVAL_MARGIN times all of them means
        that ``frame`` is a misaligned view of a trigger that starts there. Such a candidate sees
        that trigger's tones in its data frames, and a word that matches them can pass the ``z``
        check, whose bound holds for noise only (README: wrong IDs). Candidates inside the
        airing of a trigger already reported are no rivals (its data symbols can pass for a
        preamble).
        """
        g = self.grid
        lo = max(frame - RIVAL_REACH, g.first)
        hi = min(frame + RIVAL_REACH, g.end - 1 - PRE_SPAN)
        cands = np.arange(lo, hi + 1)
        sm = g.Y[g.row(lo) : g.row(hi) + 1, b.index]
        off = cands - frame
        near = np.abs(off) <= PEAK_HOPS
        side = (off >= RIVAL_AFTER) | (off <= -RIVAL_BEFORE)
        # inside a reported airing no trigger can start: its data symbols are not rivals
        side &= ~self.in_airing(b.name, cands)
        rivals = sm[side]
        if not rivals.size or not near.any():
            return False
        best = float(rivals.max())
        return best >= SYNC_MEAN and best > RIVAL_MARGIN * float(sm[near].max())

    # ------------------------------------------------------------------ phases
    def decode_hit(self, b: Band, frame: int, sync: npt.NDArray[np.float64]) -> Detection | None:
        """Decode the phases of the sync hit at absolute ``frame``; return its detection.

        ``sync``: the band's sync metric of frames ``frame - PEAK_HOPS .. frame + PEAK_HOPS``.
        The sync peak can sit one hop off the phase whose frames hold the symbols best: the
        neighbours are tried too, the one with the stronger preamble first (a hit just before
        the peak would otherwise decode a misaligned view first, and every word tried there is
        a chance of a wrong ID: README).
        """
        tried = self.tried[b.name]
        near = False
        order = sorted(PHASES, key=lambda d: -float(sync[PEAK_HOPS + d]))
        for d in (*order, NEAR_MISS_PHASE):
            if d == NEAR_MISS_PHASE and not near:
                break
            f = frame + d
            if f < self.grid.first or f in tried:
                continue
            tried.add(f)
            det, vz = self._phase(b, f, d)
            if det is not None:
                if self.trace is not None:
                    self.trace(tr.Reported(det, f))
                return det
            near = near or vz >= RETRY_Z
        return None

    def _outcome(
        self, b: Band, frame: int, phase: int, outcome: tr.PhaseOutcome, vz: float
    ) -> None:
        if self.trace is not None:
            self.trace(tr.PhaseDecoded(b.name, frame, phase, outcome, vz))

    def _phase(self, b: Band, frame: int, phase: int) -> tuple[Detection | None, float]:
        """Decode one phase: (the detection or None, the Viterbi-word ``z``)."""
        if self.rival(b, frame):
            # a misaligned view of a trigger that starts elsewhere: not decoded at all (a word
            # found here would be dropped, and a near miss here would cost every retry stage)
            self._outcome(b, frame, phase, "rival", math.nan)
            return None, math.nan
        res = self.demod.decode(b, frame, phase)
        vz = res.viterbi_z
        if res.found is None:
            self._outcome(b, frame, phase, "near_miss" if vz >= RETRY_Z else "miss", vz)
            return None, vz
        channel, seq = res.found
        name = b.name
        self.recent = [a for a in self.recent if frame - a.frame <= 4 * DEDUP_FRAMES]
        for a in self.recent:
            if (a.profile, a.channel, a.seq) == (name, channel, seq) and abs(
                frame - a.frame
            ) <= DEDUP_FRAMES:
                self._outcome(b, frame, phase, "duplicate", vz)
                return None, vz
        self._outcome(b, frame, phase, "found", vz)
        self.recent.append(Airing(name, channel, seq, frame))
        return self._report(b, frame, channel, seq), vz

    # ------------------------------------------------------------------ reporting
    def _report(self, b: Band, frame: int, channel: int, seq: int) -> Detection:
        best = encode_payload(channel, seq)
        # the other frame phases may be better aligned with the symbols: report the start and
        # SNR from whichever catches more of the tones
        frame = self._best_phase(b, frame, best)
        start = (frame * self.n) // 2 - self.lead
        start_s = start / self.sample_rate
        snr = self._snr_db(b, frame, best)
        return Detection(channel, seq, b.name, start_s, start_s + airtime_s(b.name), snr)

    def _tone_cells(
        self, b: Band, frame: int, best: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        rows = self.grid.row(frame) + _SYM_ROWS
        slots = np.concatenate([b.pre, b.data[np.arange(DATA_SYMBOLS), best]])
        return rows, slots

    def _best_phase(self, b: Band, frame: int, best: npt.NDArray[np.int64]) -> int:
        """Return the frame of the phase (-1, 0, +1 hops) with the larger mean tone share.

        Mean over the 23 symbols of the share ``S`` of the tone each one sent.
        """
        phases = [d for d in (-1, 0, 1) if frame + d >= self.grid.first]
        rows, slots = self._tone_cells(b, frame, best)
        cells = self.grid.S[np.array(phases)[:, None] + rows[None, :], slots[None, :]]
        scores = np.add.reduce(cells, axis=1) / N_SYMBOLS
        return frame + max(zip(scores.tolist(), phases, strict=True))[1]

    def _snr_db(self, b: Band, frame: int, best: npt.NDArray[np.int64]) -> float:
        # In-band SNR: for a tone on a bin, |X|^2 / (n_slots * noise power per bin) equals tone
        # power / noise power in the band (Parseval). The noise per bin is the floor tracker's
        # value just before the trigger (median over the band's bins, so a stationary tone in
        # the programme does not count as noise).
        rows, slots = self._tone_cells(b, frame, best)
        tone = float(np.mean(self.grid.P[rows, slots]))
        noise = float(np.median(self.grid.F[self.grid.row(frame), b.cols])) + TINY
        sig = max(tone - noise, TINY)
        snr = 10.0 * math.log10(sig / (b.profile.n_slots * noise))
        return round(min(max(snr, -30.0), 60.0), 1)
