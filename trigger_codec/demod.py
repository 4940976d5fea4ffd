"""Demodulation and CRC-aided list decoding of one candidate frame phase.

Per data symbol the 32 candidate tones' metrics ``log(E'[j] + wn E'[j + 1] + wp E'[j - 1] + 0.1)``
with ``E' = P / (R/2 + F + m)`` (``R``: the bin's predicted reverberant tail from the previous
symbols) -> bit LLRs -> CRC-aided list Viterbi (:mod:`trigger_codec.fec`: the Viterbi word, then
up to 7 alternatives until one's CRC-16 matches) -> the re-encoding ``z`` check on the check
energies ``Ec = P / (R/4 + F + 4 w m)`` (:func:`trigger_codec.framing.decode_soft`, bound in
:mod:`trigger_codec.bound`). A near miss (no CRC match, but the Viterbi word's ``z >= RETRY_Z``)
goes through the other :data:`STAGES` (a second metric, then log-sum-exp bits), then the same
on frames computed a quarter frame (N/4 samples) later from the kept samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trigger_codec import trace as tr
from trigger_codec.framing import (
    bit_llrs,
    check_terms,
    code_bits,
    decode_soft,
    to_symbols,
    unpack,
)
from trigger_codec.frontend import TINY, FrontEnd, SampleBuffer
from trigger_codec.grid import Band, Grid
from trigger_codec.profiles import DATA_SYMBOLS, N_SYMBOLS, PREAMBLE_SYMBOLS

__all__ = [
    "CHECK_MEAN",
    "CHECK_TAIL",
    "DEAD_FLOOR",
    "HALF_Z",
    "METRICS",
    "RETRY_Z",
    "STAGES",
    "Demodulator",
    "HalfFrames",
    "PhaseResult",
    "energies",
    "tone_metrics",
]

Float = npt.NDArray[np.float64]

#: hops before a frame whose power predicts its reverberant tail, and their weights
TAIL_LAGS = np.arange(2, 9)
TAIL_WEIGHTS = 0.5 ** np.arange(7.0)
#: decoding metrics ``log(E'[j] + wn E'[j + 1] + wp E'[j - 1] + 0.1)`` as (wn, wp). The first:
#: the next hop holds half this symbol and the room's tail of its tone. The second gives the
#: hops either side more weight (a symbol half a hop off the frame grid, a longer tail); tried
#: only on near misses of the first (README: measured on the channel bench)
METRICS = ((0.4, 0.0), (0.7, 0.2))
#: the later stages run only if the first one's Viterbi word (CRC failed) has a ``z`` of at
#: least this: near misses of real triggers that the retries recovered scored 2.8-5.3, random
#: candidates 1.71 +- 0.33, 1 % of them >= 2.5 (README)
RETRY_Z = 2.5
#: ... and the half-phase frames are decoded only if it is at least this
HALF_Z = 2.5
#: decoding stages, in order, until a word passes the CRC and the ``z`` check: (index into
#: METRICS, bit demapping sharpness: None for max-log, see :func:`framing.bit_llrs`). A deep fade
#: of a few symbols' tones makes max-log bits confidently wrong; log-sum-exp bits let each bit
#: hear its symbol's runners-up. Each stage tries the Viterbi word and up to 7 alternatives, each
#: word a 2^-16 chance of a wrong ID on a real trigger (README: wrong IDs); the false-accept bound
#: on noise covers every CRC-valid word, so it does not depend on the stages
STAGES: tuple[tuple[int, float | None], ...] = ((0, None), (1, None), (0, 2.0), (1, 2.0))
#: check energies ``P / (CHECK_TAIL R + F + CHECK_MEAN w m)``: less per-bin whitening than the
#: decoding metric's ``E'``, measured better for the true words' ``z`` (README)
CHECK_TAIL = 0.25
CHECK_MEAN = 4.0
#: bins whose floor is below this fraction of the band's mean floor count as (partly) dead
#: (:func:`_floor_shape`)
DEAD_FLOOR = 0.5

#: frames of the data symbols relative to the candidate's first frame
_DATA_ROWS = 2 * (PREAMBLE_SYMBOLS + np.arange(DATA_SYMBOLS))
#: half-phase frames needed before a candidate's first frame (its tail predictions' reach)
HALF_BEFORE = 3


def _floor_shape(grid: Grid, b: Band, frame: int) -> Float:
    """Return the weight of the band mean ``m`` in each data candidate's check denominator.

    Shape (20, 32): 1, except for bins whose floor just before the candidate is more than
    ``1 / DEAD_FLOOR`` below the band's mean floor (a part of the band a codec removed):
    there ``floor / (DEAD_FLOOR * mean floor)``, so such a bin is measured against its own
    floor rather than against the live bins' level.
    """
    f = grid.F[grid.row(frame), b.cols]
    w = np.minimum(f / (DEAD_FLOOR * f.mean() + TINY), 1.0)
    return np.asarray(w[b.data - b.offset], dtype=np.float64)


def _normalise(
    grid: Grid,
    b: Band,
    frame: int,
    P: npt.NDArray[np.floating],
    R: npt.NDArray[np.floating],
    F: npt.NDArray[np.floating],
    m: npt.NDArray[np.floating],
    aligned: slice,
) -> tuple[Float, Float]:
    """Return ``E' = P / (R / 2 + F + m)`` of every row, and ``Ec`` of the aligned rows.

    ``Ec`` (the check energies, see :func:`energies`) of the rows ``aligned`` (the candidate's
    20 symbol-aligned frames) weights ``m`` per bin by :func:`_floor_shape`.
    """
    E = P / (0.5 * R + F + m[:, None] + TINY)
    a = aligned
    mw = CHECK_MEAN * m[a, None] * _floor_shape(grid, b, frame)
    Ec = P[a] / (CHECK_TAIL * R[a] + F[a] + mw + TINY)
    return np.asarray(E, dtype=np.float64), np.asarray(Ec, dtype=np.float64)


def energies(grid: Grid, b: Band, frame: int, hops: tuple[int, ...]) -> tuple[Float, Float]:
    """Normalised energies ``E'`` of the 20 data symbols' 32 candidate tones.

    Shape ``(len(hops), 20, 32)``: for each hop offset ``h`` the frames ``j + h`` of the
    symbols' aligned frames ``j`` of the candidate starting at absolute ``frame``. ``E' = P /
    (R / 2 + F + m)``: besides the slow floor ``F`` and the frame's mean ``m``, each bin is
    divided by a prediction of the reverberant tail of what it held in the previous symbols,
    ``R = sum_{d=2..8} 2^-(d-2) P[j - d]`` (hop ``j - 1`` overlaps the frame and is left out).

    Also returns the check energies of the first hop (``hops[0]`` must be 0), shape (20, 32):
    ``Ec = P / (R / 4 + F + 4 w m)`` with ``w`` from :func:`_floor_shape`. In a band part of
    which a codec removed (hf through AAC 128k) the band mean ``m`` dwarfs the dead bins' floor,
    so those bins are ~0 and the live ones stand out of every symbol: not the i.i.d. energies
    the false-accept bound assumes. ``w < 1`` only in such dead bins, which are then measured
    against their own floor; in a flat band ``w = 1`` (README).
    """
    base = grid.row(frame) + _DATA_ROWS
    rows = (np.asarray(hops)[:, None] + base[None, :]).reshape(-1)
    cols = np.tile(b.data, (len(hops), 1))  # (rows, 32)
    # flat indices into the grids: one take() each, ~3x faster than 2-D fancy indexing
    width = grid.P.shape[1]
    cells = rows[:, None] * width + cols
    P = grid.P.reshape(-1).take(cells)
    lag = np.maximum(rows[:, None] - TAIL_LAGS[None, :], 0)  # (rows, 7); 0 only at start
    tails = grid.P.reshape(-1).take((lag * width)[:, :, None] + cols[:, None, :])
    R = np.einsum("l,slc->sc", TAIL_WEIGHTS, tails)
    m = grid.P[rows, b.cols].mean(axis=1)
    F = grid.F.reshape(-1).take(cells)
    E, Ec = _normalise(grid, b, frame, P, R, F, m, slice(0, DATA_SYMBOLS))  # hops[0]: check
    return E.reshape(len(hops), DATA_SYMBOLS, -1), Ec


def tone_metrics(grid: Grid, b: Band, frame: int) -> tuple[Float, Float]:
    """Return the first stage's per-tone metrics and the check energies, both (20, 32).

    ``metric = log(E'[j] + 0.4 E'[j + 1] + 0.1)`` of the candidate at absolute ``frame``
    (:func:`energies`); for offline analysis of a grid (diagnostics, benchmarks).
    """
    E, Ec = energies(grid, b, frame, (0, 1))
    return np.log(E[0] + METRICS[0][0] * E[1] + 0.1), Ec


@dataclass(frozen=True)
class HalfFrames:
    """Band powers of consecutive half-phase frames: row ``i`` is frame ``first + i + 1/2``."""

    first: int
    power: npt.NDArray[np.float32]  # (frames, n_slots)


@dataclass(frozen=True)
class PhaseResult:
    """Outcome of decoding one frame phase: the ID (or None) and the first stage's Viterbi z."""

    found: tuple[int, int] | None
    viterbi_z: float


class Demodulator:
    """Decodes candidate frame phases from the grid (and, for half phases, the samples).

    Parameters
    ----------
    grid : Grid
    buffer : SampleBuffer
        The kept samples (half-phase frames).
    front : FrontEnd
        Its bins (half-phase frames' powers).
    trace : callable or None
        Receives a :class:`trace.DecodeAttempt` per stage tried.
    """

    def __init__(
        self, grid: Grid, buffer: SampleBuffer, front: FrontEnd, trace: tr.Trace | None
    ) -> None:
        self.grid = grid
        self.buffer = buffer
        self.front = front
        self.trace = trace
        self._no_rows = np.zeros((0, 1), dtype=np.float32)
        # per profile: the half-phase frames of its last half-phase decode
        self._half_cache: dict[str, HalfFrames] = {}

    def reset(self) -> None:
        """Forget the half-phase frames (a new stream)."""
        self._half_cache = {}

    def decode(self, b: Band, frame: int, phase: int) -> PhaseResult:
        """Decode the candidate phase starting at absolute ``frame`` (``phase`` hops off its hit).

        The regular frames through :data:`STAGES`; after a near miss (``z >= HALF_Z``) also the
        frames a quarter frame later (same ``z`` check on their own, disjoint aligned frames).
        """
        found, vz = self._stages(
            *energies(self.grid, b, frame, (0, 1)), b, frame, (phase, False), prev=True
        )
        if found is None and vz >= HALF_Z:
            half = self._half_energies(b, frame)
            if half is not None:
                found, _ = self._stages(*half, b, frame, (phase, True))
        return PhaseResult(found, vz)

    def _stages(
        self,
        E: Float,
        Ec: Float,
        b: Band,
        frame: int,
        where: tuple[int, bool],
        prev: bool = False,
    ) -> tuple[tuple[int, int] | None, float]:
        """Decode from ``E`` = energies at hops (0, 1[, -1]) and the check energies ``Ec``.

        Returns (ID or None, the first stage's Viterbi-word ``z``). If ``E`` lacks the previous
        hop and ``prev``, it is computed from the grid when a stage needs it. All stages but
        the first only on a near miss (``z >= RETRY_Z``). ``where``: (phase, half), for the
        trace.
        """
        vz = math.nan
        metrics: dict[int, Float] = {}
        for k, (mi, sharpness) in enumerate(STAGES):
            if mi not in metrics:
                wn, wp = METRICS[mi]
                if wp and E.shape[0] < 3 and prev:
                    E = np.concatenate([E, energies(self.grid, b, frame, (-1,))[0]])
                metrics[mi] = np.log(E[0] + wn * E[1] + (wp * E[2] if wp else 0.0) + 0.1)
            tried: list[npt.NDArray[np.int64]] | None = [] if self.trace is not None else None
            sd = decode_soft(
                metrics[mi],
                check_energies=Ec,
                viterbi_z=k == 0,
                sharpness=sharpness,
                tried=tried,
            )
            if k == 0:
                vz = sd.viterbi_z
            if tried is not None:
                outcome: tr.AttemptOutcome = (
                    "accepted" if sd.found is not None else "z_reject" if sd.crc_ok else "crc_fail"
                )
                self._emit(b, frame, where, k, metrics[mi], Ec, tried, sd.z, sd.viterbi_z, outcome)
            if sd.found is not None or not vz >= RETRY_Z:
                return sd.found, vz
        return None, vz

    def _emit(
        self,
        b: Band,
        frame: int,
        where: tuple[int, bool],
        stage: int,
        metric: Float,
        Ec: Float,
        tried: list[npt.NDArray[np.int64]],
        z: float,
        viterbi_z: float,
        outcome: tr.AttemptOutcome,
    ) -> None:
        """Send the :class:`trace.DecodeAttempt` of one stage (tracing only)."""
        assert self.trace is not None
        words = []
        for bits in tried:
            message = bytes(np.packbits(bits.astype(np.uint8)).tolist())
            wz = float(check_terms(Ec, to_symbols(code_bits(message))).mean())
            words.append(tr.WordTried(bits.copy(), unpack(message), wz))
        mi, sharpness = STAGES[stage]
        phase, half = where
        self.trace(
            tr.DecodeAttempt(
                b.name,
                frame,
                phase,
                half,
                stage,
                mi,
                sharpness,
                metric.copy(),
                Ec.copy(),
                bit_llrs(metric, sharpness),
                tuple(words),
                z,
                viterbi_z,
                outcome,
            )
        )

    def _half_powers(self, b: Band, q0: int, q1: int) -> npt.NDArray[np.float32] | None:
        """Band powers of the frames starting N/4 after frames ``q0 .. q1 - 1`` (None: gone)."""
        frames = self.buffer.half_frames(q0, q1)
        return None if frames is None else self.front.band_powers(frames, b)

    def _half_energies(self, b: Band, frame: int) -> tuple[Float, Float] | None:
        """:func:`energies` at hops ``(0, 1, -1)`` for the frames half a hop later (N/4).

        Computed on demand from the kept samples (one batched rfft of the 49 frames the 20
        symbols, their neighbouring hops and their tails need); the floor ``F`` is taken from
        the regular grid's frame just before. None if the samples are no longer buffered (does
        not happen in streaming: the decoder keeps them).
        """
        q0, q1 = frame - HALF_BEFORE, frame + 2 * N_SYMBOLS  # half-phase frames q + 1/2
        # neighbouring phases of one sync hit share most frames: reuse the last ones computed
        cached = self._half_cache.get(b.name, HalfFrames(0, self._no_rows))
        c0, cP = cached.first, cached.power
        c1 = c0 + cP.shape[0]
        if q0 < c1 and q1 > c0:  # overlap: compute only the missing frames on either side
            left = self._half_powers(b, q0, c0) if q0 < c0 else self._no_rows
            right = self._half_powers(b, c1, q1) if q1 > c1 else self._no_rows
            if left is None or right is None:
                return None
            mid = cP[max(q0, c0) - c0 : min(q1, c1) - c0]  # not empty: the ranges overlap
            P = np.concatenate([x for x in (left, mid, right) if x.size])
        else:
            got = self._half_powers(b, q0, q1)
            if got is None:
                return None
            P = got
        self._half_cache[b.name] = HalfFrames(q0, P)  # 49 frames
        cols = np.tile(b.data - b.offset, (3, 1))  # (60, 32) band-local slots
        rows = (np.array([-1, 0, 1])[:, None] + (_DATA_ROWS + HALF_BEFORE)[None, :]).reshape(-1)
        Pc = P[rows[:, None], cols]
        lag = rows[:, None] - TAIL_LAGS[None, :]  # >= 0: the first data row is q index 9
        R = np.einsum("l,slc->sc", TAIL_WEIGHTS, P[lag[:, :, None], cols[:, None, :]])
        m = P[rows].mean(axis=1)
        F = self.grid.F[(rows + self.grid.row(q0))[:, None], cols + b.offset]
        # rows in hop order (-1, 0, 1): the check energies come from hop 0's aligned frames
        E, Ec = _normalise(self.grid, b, frame, Pc, R, F, m, slice(DATA_SYMBOLS, 2 * DATA_SYMBOLS))
        # order (0, 1, -1) like _stages expects: aligned, next hop, previous hop
        return E.reshape(3, DATA_SYMBOLS, -1)[[1, 2, 0]], Ec
