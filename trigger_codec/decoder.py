"""Streaming trigger decoder: the stages wired together, and when each batch of frames runs.

Stages, each in its own module, all speaking in absolute frame numbers (frame ``j`` starts at
sample ``j * N // 2``, ``N`` = 20 ms of samples: frames never depend on the block split):

1. :mod:`~trigger_codec.frontend`: sample buffer, one batched short-time FFT of all new frames
   (hop ``N / 2``), per-bin noise floor, into
2. :mod:`~trigger_codec.grid`: the last frames' powers, floors, shares and sync metric;
3. :mod:`~trigger_codec.sync`: the sync rule (which candidate start frames to decode), used
   both to bring an analysis batch forward for a hit and to decide;
4. :mod:`~trigger_codec.demod`: demodulation and CRC-aided list decoding of one frame phase;
5. :mod:`~trigger_codec.accept`: the balance rule (and the CRC and ``z`` check it relies on);
6. :mod:`~trigger_codec.airing`: the phases of a hit, the rival rule, de-duplication, reports.

Batches: frames are analysed 8 at a time (80 ms), or earlier when a sync hit (a preamble is seen
~0.4 s before its trigger ends) waits for its last frames: its decode then runs as soon as they
are in. Cost: one rfft per 10 ms of audio plus a few vectorised operations per batch
(``benchmarks/bench_codec_cost.py``). Memory: a sample buffer of ~0.6 s (the samples of the
candidates still to be decoded, for the half-phase frames; at most ~2 x (0.6 s + one block))
plus the last ``HISTORY`` frames of the grid, whatever the stream length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trigger_codec import trace as tr
from trigger_codec.accept import balance, balanced
from trigger_codec.airing import DEDUP_FRAMES, AiringPolicy, Detection
from trigger_codec.demod import Demodulator
from trigger_codec.encoder import LEAD_S
from trigger_codec.frontend import CHUNK, FrontEnd, SampleBuffer, check_block
from trigger_codec.grid import HISTORY, PRE_SPAN, SPAN, Grid, make_bands
from trigger_codec.profiles import BIN_HZ, frame_length
from trigger_codec.sync import (
    PEAK_HOPS,
    SYNC_DATA,
    SYNC_LOW,
    SYNC_MEAN,
    data_share,
    passes,
    sync_metric,
    window,
)

__all__ = ["SYNC_MEAN", "Decoder", "Detection"]

#: candidate j is evaluated once frames up to j + SPAN + CAND_LAG - 1 are complete: it needs
#: frames j .. j + SPAN - 1, may be decoded one hop later (j + 1) and that decode's start
#: compared with the next phase (j + 2): two more frames; and a half-phase decode of phase
#: j + 1 needs samples a quarter frame past frame j + SPAN + 1: one more (else a detection
#: would depend on where analysis batches end)
CAND_LAG = 3
#: feed() analyses once this many new frames (hop 10 ms) are buffered: 80 ms batches keep the
#: per-call overhead small; a sync hit makes the next batch due earlier (Decoder._batch_due), so
#: the batch size does not add latency to a trigger. A multiple of 4: pocketfft transforms 4
#: float32 rows at once and the rest one by one, so 7 or 6 frames cost more than 8
#: (bench_decoder_instructions)
MIN_BATCH = 8
#: samples kept from this many hops before the next candidate frame: half-phase decodes of a
#: candidate decoded one hop early need frames from demod.HALF_BEFORE + 1 hops before it
KEEP_HOPS = 8


@dataclass(frozen=True)
class PendingHit:
    """A sync hit not decoded yet: it makes the next analysis batch due early."""

    frame: int  # absolute candidate start frame
    band: int  # index into the decoder's bands


class Decoder:
    """Streaming decoder listening for every profile that fits below Nyquist.

    Parameters
    ----------
    sample_rate : int
        Hz, a multiple of 50 (44100 or 48000 in practice). At 32000 Hz only ``robust`` is
        heard; below that no profile fits and :class:`ParameterError` is raised.
    trace : callable or None
        Called with each :mod:`trigger_codec.trace` event (frames analysed, sync scores,
        candidates, decode attempts, phase outcomes, reports) as the decoder works: the
        observer for benchmarks, diagnostics and tests. None (default): no events are built.

    Notes
    -----
    Not thread-safe; use one decoder per stream. Results do not depend on the block split.
    """

    def __init__(self, sample_rate: int, trace: tr.Trace | None = None) -> None:
        self._n = frame_length(sample_rate)
        self.sample_rate = int(self._n * BIN_HZ)
        self._lead = round(LEAD_S * self.sample_rate)
        self._bands = make_bands(self.sample_rate)
        self._trace = trace
        self._front = FrontEnd(self._bands)
        self._pre_cols = np.stack([b.pre for b in self._bands], axis=1)  # (3, bands)
        self._columns = {b.name: b.cols for b in self._bands}
        self._reset()

    def _reset(self) -> None:
        self._buffer = SampleBuffer(self._n)
        self._grid = Grid(self._front.bins.size, len(self._bands), HISTORY + CHUNK + 1)
        self._front.reset()
        self._demod = Demodulator(self._grid, self._buffer, self._front, self._trace)
        self._policy = AiringPolicy(
            self._grid,
            self._demod,
            self._bands,
            self._n,
            self._lead,
            self.sample_rate,
            self._trace,
        )
        self._next_cand = 0  # next candidate start frame to evaluate
        self._pending: list[PendingHit] = []
        self._due = self._batch_due()  # samples fed when the next batch is due

    @property
    def position(self) -> int:
        """Samples fed since the start of the stream."""
        return self._buffer.total

    # ------------------------------------------------------------------ input
    def feed(self, block: npt.NDArray[np.generic]) -> list[Detection]:
        """Consume ``block`` and return the triggers completed in it.

        Real-time path: between analysis batches (every 80 ms, and as soon as a sync hit's
        candidate is complete) a call only validates the block and copies it into a
        preallocated buffer (no allocation in the steady state).

        Parameters
        ----------
        block : np.ndarray [shape=(n,), dtype=float32 | float64 | int16]
            Mono samples (floats in [-1, 1]; values beyond are accepted), any ``n >= 0``.

        Returns
        -------
        list of Detection
            In order of start time; empty if nothing completed.

        Raises
        ------
        AudioFormatError
            Wrong type, dtype or shape, or NaN/inf samples (the block is then not consumed).
        """
        kind = check_block(block)
        if block.size == 0:
            return []
        self._append(block, kind)
        if self._buffer.total < self._due:
            return []
        return self._process()

    def flush(self) -> list[Detection]:
        """End the stream: decode what is still pending, then reset to a fresh stream.

        Returns
        -------
        list of Detection
            Triggers that end within the last frame of the stream.
        """
        self._append(np.zeros(self._n, dtype=np.float32), "f")
        dets = self._process()
        self._reset()
        return dets

    def _append(self, x: npt.NDArray[np.generic], kind: str) -> None:
        buf = self._buffer
        if not buf.fits(x.size):
            # keep what future frames and the half-phase decodes of candidates still to be
            # evaluated need
            buf.make_room(x.size, max(0, min(self._grid.end, self._next_cand) - KEEP_HOPS))
        buf.append(x, kind)

    # ------------------------------------------------------------------ schedule
    def _process(self) -> list[Detection]:
        """Analyse every complete frame not analysed yet; return the detections completed."""
        n = self._n
        end = self._buffer.end
        last = (2 * (end - n)) // n if end >= n else -1  # last frame j with j*n//2 + n <= end
        out: list[Detection] = []
        while self._grid.end <= last:
            self._frames(min(CHUNK, last + 1 - self._grid.end))
            out += self._candidates()
        self._due = self._batch_due()
        return out

    def _frame_due(self, j: int) -> int:
        """Return the ``position`` from which frame ``j`` is complete (:meth:`_process` sees it).

        The first ``end`` with ``(2 * (end - n)) // n >= j``.
        """
        return self._n + (j * self._n + 1) // 2

    def _batch_due(self) -> int:
        """Return the ``position`` at which the next analysis batch is due.

        When ``MIN_BATCH`` new frames are complete, or earlier, once the first pending sync
        hit can be decoded (in a batch of 4 frames): its decode waits at most 3 frames beyond
        the trigger's own last ones instead of up to a whole batch. Detections do not depend on
        it: they never depend on how frames are split into batches.
        """
        end = self._grid.end
        due = self._frame_due(end + MIN_BATCH - 1)
        if self._pending:
            # drop the hits decoded meanwhile or inside an airing already reported
            self._pending = [
                h
                for h in self._pending
                if h.frame >= self._next_cand
                and not self._policy.frame_in_airing(self._bands[h.band].name, h.frame)
            ]
            if self._pending:
                # candidate c is decoded once frame c + SPAN + CAND_LAG - 1 is in; the batch
                # is rounded up to a multiple of 4 frames (pocketfft's vector width, see
                # MIN_BATCH): at most 30 ms later, and no batch of 1-3 frames
                c = min(h.frame for h in self._pending)
                k = c + SPAN + CAND_LAG - end  # frames that must be in
                due = min(due, self._frame_due(end + 4 * -(-k // 4) - 1))
        return due

    # ------------------------------------------------------------------ work
    def _frames(self, k: int) -> None:
        """Analyse the next ``k`` frames into the grid, and their candidates' sync metric."""
        g = self._grid
        g.make_room(k)
        first, r = g.end, g.rows
        self._front.analyse(self._buffer.frames(first, k), g)
        if self._trace is not None:
            self._trace(
                tr.FramesAnalysed(
                    first,
                    g.P[r : r + k].copy(),
                    g.F[r : r + k].copy(),
                    g.S[r : r + k].copy(),
                    dict(self._columns),
                )
            )
        # the candidates whose last preamble frame is among the new ones
        f0, f1 = max(first - PRE_SPAN, g.first), first + k - PRE_SPAN
        if f1 > f0:
            g.Y[g.row(f0) : g.row(f1)] = sync_metric(g, self._pre_cols, f0, f1)
            if self._trace is not None:
                for b in self._bands:
                    ys = g.Y[g.row(f0) : g.row(f1), b.index].copy()
                    self._trace(tr.SyncScores(b.name, f0, ys))
            self._note_hits(max(f0 - PEAK_HOPS, g.first), f1 - PEAK_HOPS)
        g.rows += k

    def _note_hits(self, f0: int, f1: int) -> None:
        """Add the sync hits among candidate frames ``f0 .. f1 - 1`` to the pending ones.

        Their metric and their neighbours' (+-PEAK_HOPS) are known; the data frames are not in
        yet, so a low-tier hit is pending until its data share is decided.
        """
        if f1 <= f0:
            return
        ext = window(self._grid, f0, f1)
        if float(ext[PEAK_HOPS:-PEAK_HOPS].max()) < SYNC_LOW:
            return
        step1, step2 = passes(ext)
        for i, bi in np.argwhere(step1 | step2).tolist():
            self._pending.append(PendingHit(f0 + i, bi))

    def _candidates(self) -> list[Detection]:
        """Decide and decode the candidates whose frames are all in; return the detections."""
        g = self._grid
        c1 = g.end - SPAN - CAND_LAG + 1  # candidates c0 .. c1 - 1 are complete
        if c1 <= self._next_cand:
            return []
        c0 = max(self._next_cand, g.first)
        self._next_cand = c1
        ext = window(g, c0, c1)
        sm = ext[PEAK_HOPS:-PEAK_HOPS]
        if float(sm.max()) < SYNC_LOW:  # most batches: no candidate to look at
            return []
        hit, low = passes(ext)
        shares: dict[tuple[int, int], float] = {}
        for ci, bi in np.argwhere(low).tolist():
            share = data_share(g, self._bands[bi], c0 + ci)
            shares[ci, bi] = share
            hit[ci, bi] = share >= SYNC_DATA
            if self._trace is not None and not hit[ci, bi]:
                b = self._bands[bi]
                self._trace(
                    tr.Candidate(
                        b.name, c0 + ci, float(sm[ci, bi]), "low", share, np.nan, "weak_data"
                    )
                )
        if not hit.any():
            return []
        hits = np.argwhere(hit)
        # a band whose top a codec cut passes the sync in every frame: one vectorised test for
        # all hits of the batch
        bal = np.full(hit.shape, np.nan)
        for b in self._bands:
            ci = hits[hits[:, 1] == b.index, 0]
            if ci.size:
                bal[ci, b.index] = balance(g, b, c0 + ci)
        ok = balanced(bal)
        self._policy.forget_before(c0 - 4 * DEDUP_FRAMES)
        out: list[Detection] = []
        for c, bi in hits.tolist():  # in time order (argwhere's), both bands interleaved
            b = self._bands[bi]
            frame = c0 + c
            # inside an airing already reported another trigger of this profile cannot start
            # (it would overlap); an unbalanced band is not a trigger's (accept module)
            in_airing = self._policy.frame_in_airing(b.name, frame)
            if self._trace is not None:
                outcome: tr.CandidateOutcome = (
                    "in_airing" if in_airing else "decode" if ok[c, bi] else "unbalanced"
                )
                tier: tr.Tier = "low" if (c, bi) in shares else "mean"
                share = shares.get((c, bi), np.nan)
                sync = float(sm[c, bi])
                self._trace(
                    tr.Candidate(b.name, frame, sync, tier, share, float(bal[c, bi]), outcome)
                )
            if in_airing or not ok[c, bi]:
                continue
            det = self._policy.decode_hit(b, frame, ext[c : c + 2 * PEAK_HOPS + 1, bi])
            if det is not None:
                out.append(det)
        out.sort(key=lambda d: d.start_s)
        return out
