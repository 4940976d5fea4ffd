"""Streaming trigger decoder: one batched short-time FFT front end for both profiles.

Pipeline per 20 ms frame (``N = sample_rate / 50`` samples, hop ``N / 2``: frame ``j`` starts
at absolute sample ``j * N // 2``, so frame boundaries never depend on how the stream is split
into blocks):

1. ``scipy.fft.rfft`` of all complete frames at once; keep only the bins of the profiles' tone
   slots (power ``P``, 92 bins of 442/481).
2. Per profile, normalise: ``E = P / (F + m)`` where ``F`` is a per-bin exponential average of
   past frames (200 ms: the reverberation/noise floor of that bin) and ``m`` the frame's mean
   power over the profile's bins (instant level). ``E`` is independent of gain (40 dB steps, AGC)
   and DC (bin 0 is never looked at).
3. Sync: for every candidate start frame ``j`` the preamble metric is the mean over the 3
   preamble symbols (frames ``j + 2k``) of the share ``E[tone] / sum(E)`` of the known tone in
   its frame. Random noise gives ~1/n_slots (0.02); a clean trigger 0.5-0.9. Candidates with
   mean >= ``SYNC_MEAN`` are decoded at their frame and the two neighbouring frame phases
   (each frame at most once); so are candidates with mean >= ``SYNC_LOW`` that are the local
   maximum within +-2 hops and whose data frames hold concentrated tones (``SYNC_DATA``: one
   preamble tone notched by the room). A candidate whose frames hold almost nothing in the
   upper half of the band (``_MIN_BALANCE``: a band whose top a codec cut) is not decoded.
4. Demodulation (soft): per data symbol the 32 candidate tones' metrics
   ``log(P / (R/2 + F + m) + 0.1)`` (``R``: the bin's predicted reverberant tail from the
   previous symbols) -> max-log bit LLRs -> CRC-aided list Viterbi (:mod:`trigger_codec.fec`:
   the Viterbi word, then up to 7 alternatives until one's CRC-16 matches) -> the re-encoding
   ``z`` check on check energies ``P / (R/4 + F + 4 m)`` (:func:`trigger_codec.framing.
   decode_soft`, bound in :mod:`trigger_codec.bound`). A near miss (no CRC match, but the
   Viterbi word's ``z`` >= ``_RETRY_Z``) is decoded again with a second metric (``_METRICS``),
   then with log-sum-exp bits (``_STAGES``), then on frames computed half a hop (N/4) later
   from the kept samples; a sync hit whose phases gave only near misses is also decoded two
   hops earlier (``_NEAR_MISS_PHASE``). A candidate is not decoded if one 3-40 hops before or 6-40
   hops after it has a stronger preamble (a misaligned view of a real trigger).
5. The same ID from the same profile within 150 ms (15 hops) of a previous start is the same
   airing and is reported once; no other candidate of that profile is decoded within the airtime
   after a reported start (a second trigger there would overlap it).

Batches: frames are analysed 8 at a time (80 ms), or earlier when a sync hit (a preamble is
seen ~0.4 s before its trigger ends) waits for its last frames: its decode then runs as soon as
they are in. Cost: one rfft per 10 ms of audio plus a few vectorised operations per batch
(measured in ``benchmarks/bench_codec_cost.py``). Memory: a sample buffer of ~0.6 s (the
samples of the candidates still to be decoded, for the half-phase frames; at most ~2 x (0.6 s +
one block)) plus the last ``HISTORY`` frames of the band grid, whatever the stream length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft

from trigger_codec import trace as tr
from trigger_codec.encoder import LEAD_S
from trigger_codec.errors import AudioFormatError, ParameterError
from trigger_codec.framing import (
    SoftDecision,
    bit_llrs,
    check_terms,
    code_bits,
    decode_soft,
    encode_payload,
    to_symbols,
    unpack,
)
from trigger_codec.modem import data_slots, preamble_slots
from trigger_codec.profiles import (
    BIN_HZ,
    DATA_SYMBOLS,
    N_SYMBOLS,
    PREAMBLE_SYMBOLS,
    PROFILES,
    Profile,
    airtime_s,
    frame_length,
)

__all__ = ["SYNC_MEAN", "Decoder", "Detection"]

#: preamble metric thresholds (share of the known tone in its frame, see module docstring)
SYNC_MEAN = 0.10
#: a candidate whose preamble metric is below SYNC_MEAN but at least SYNC_LOW (a room notch on
#: one preamble tone) is decoded too if its data frames hold concentrated tones: the mean over
#: the 20 data symbols of the largest share among the symbol's 32 candidate tones >= SYNC_DATA
#: (noise: ~0.09; channel-bench triggers at 0 dB: >= 0.114, README). SYNC_LOW 0.07 -> 0.06: robust
#: MP3 128k at 0 dB 194 -> 196 of 200 (two triggers at 0.067-0.068), trigger-free CPU 1.15 ->
#: 1.20 ms per audio s, 0 false triggers in 10 h either way
SYNC_LOW = 0.06
SYNC_DATA = 0.12
#: a candidate is not decoded if one at least _RIVAL_AFTER hops after it or _RIVAL_BEFORE
#: hops before it (up to _RIVAL_LAST) has a stronger preamble (Decoder._rival_preamble). Later
#: candidates 3-5 hops away hear the preamble's own reverberant tail: at 0 dB, 4-7 of 200
#: channel-bench triggers have a stronger sync metric there than at their own phase, none from
#: 6 hops on (none earlier from 3 hops on)
_RIVAL_BEFORE = 3
_RIVAL_AFTER = 6
_RIVAL_LAST = 40
#: ... stronger by this factor: a trigger's own data symbols can look like a weaker preamble
#: (a 0 dB bench trigger with sync 0.125 had one at 0.141 33 hops later and was lost), while a
#: misaligned view's own sync is a fraction of the real trigger's
_RIVAL_MARGIN = 1.5
#: frames of history kept: one full trigger (2 frames per symbol) plus margin, plus the
#: candidates up to _RIVAL_LAST hops before the earliest one still to be decoded
_SPAN = 2 * (N_SYMBOLS - 1) + 1
HISTORY = _SPAN + 8 + _RIVAL_LAST
#: candidate j is evaluated once frames up to j + _SPAN + _CAND_LAG - 1 are complete: it needs
#: frames j .. j + _SPAN - 1, may be decoded one hop later (j + 1) and that decode's start
#: compared with the next phase (j + 2): two more frames; and a half-phase decode of phase
#: j + 1 needs samples a quarter frame past frame j + _SPAN + 1: one more. With only the first
#: two, a half-phase decode at the end of an analysis batch found its last samples missing and
#: was skipped, so a detection depended on where batches ended (a robust AAC 128k trigger at
#: -3 dB in the channel bench was found with 441- but not with 4410-sample blocks)
_CAND_LAG = 3
#: frames from a candidate's first preamble frame to its last (the sync metric's reach)
_PRE_SPAN = 2 * (PREAMBLE_SYMBOLS - 1)
#: frames analysed per matrix step (bounds temporaries whatever the block size)
_CHUNK = 64
#: feed() analyses once this many new frames (hop 10 ms) are buffered: 80 ms batches keep the
#: per-call overhead small; a sync hit makes the next batch due earlier, as soon as its
#: candidate can be decoded (Decoder._batch_due), so the batch size does not add latency to a
#: trigger. A multiple of 4 on purpose: pocketfft transforms 4 float32 rows at once and the
#: rest one by one (8 rows 17 us, 7 rows 28 us); 7 or 6 cost 17-19 % more decoder
#: instructions than 8 (bench_decoder_instructions, 44.1 kHz, 256-sample blocks)
_MIN_BATCH = 8
#: floor tracker time constant in frames (hop 10 ms -> 200 ms)
_FLOOR_FRAMES = 20.0
#: same ID within this many hops (10 ms each) of a previous start = the same airing
_DEDUP_FRAMES = 15
#: hops (10 ms) after a reported start in which no other trigger of that profile can start
_AIRING_FRAMES = 2 * N_SYMBOLS
#: hops before a frame whose power predicts its reverberant tail, and their weights
_TAIL_LAGS = np.arange(2, 9)
_TAIL_WEIGHTS = 0.5 ** np.arange(7.0)
#: decoding metrics ``log(E'[j] + wn E'[j + 1] + wp E'[j - 1] + 0.1)`` as (wn, wp), tried in
#: order. The first: offline wn 0.4 / 0.6 / 0.8 decoded 312 / 311 / 310 of 336 room/chain
#: triggers, 306 without. The second gives the hops either side of the symbol more weight (a
#: symbol half a hop off the frame grid, a longer tail); it is tried only on near misses of
#: the first (:data:`_RETRY_Z`). Offline on the channel bench's 600 triggers at 0 dB (true
#: phase +-1): first alone 574, second alone 579, either 583 (README)
_METRICS = ((0.4, 0.0), (0.7, 0.2))
#: the other metrics are tried only if the first one's Viterbi word (CRC failed) has a ``z`` of
#: at least this (``z`` of :func:`framing.check_terms`): the near misses the second metric
#: recovered in the channel bench's 0 / -3 dB cells scored 2.8-5.3; random candidates 1.71 +-
#: 0.33, 1 % of them >= 2.5 (README)
_RETRY_Z = 2.5
#: ... and decoded on the half-phase frames only if it is at least this
_HALF_Z = 2.5
#: decoding stages of one candidate, in order, until a word passes the CRC and the ``z`` check:
#: (metric of :data:`_METRICS`, bit demapping sharpness: None for max-log, see
#: :func:`framing.bit_llrs`). Each tries the Viterbi word and up to 7 alternatives; all but the
#: first only on a near miss (:data:`_RETRY_Z`). A deep fade of a few symbols' tones (a room
#: notch under the direct sound) makes max-log bits confidently wrong; log-sum-exp bits let
#: each bit hear its symbol's runners-up. Offline on the channel bench's 0 dB hf AAC 192k /
#: robust MP3 128k triggers (true phase +-1, no half-phase frames): the max-log stages 193 /
#: 193 of 200, with the log-sum-exp stages 195 / 195. The false-accept bound on noise covers
#: every CRC-valid word of a set of check energies, so it does not change; on a real trigger
#: each word tried is a 2^-16 chance of a wrong ID (README: wrong IDs)
_STAGES: tuple[tuple[int, float | None], ...] = ((0, None), (1, None), (0, 2.0), (1, 2.0))
#: frame phases tried around a sync hit (hops), in order of their sync metric, and one more
#: only after a near miss of those (``z >= _RETRY_Z``): one robust MP3 128k trigger at 0 dB in
#: the channel bench had its only sync hit two hops late and decodes at the true phase (z 6.2;
#: README)
_PHASES = (0, -1, 1)
_NEAR_MISS_PHASE = -2
#: check energies: bins whose floor is below this fraction of the band's mean floor count as
#: (partly) dead (see Decoder._floor_shape)
_DEAD_FLOOR = 0.5
#: candidates whose upper half of the band holds less than this fraction of the lower half's
#: power are not decoded (Decoder._balance)
_MIN_BALANCE = 0.25
#: samples kept from this many hops before the next candidate frame (half-phase decodes of a
#: candidate decoded one hop early need frames from 4 hops before it)
_KEEP_HOPS = 8
#: check energies ``P / (_CHECK_TAIL R + F + _CHECK_MEAN w m)``: less per-bin whitening than the
#: decoding metric's ``E'`` (offline on the channel bench's 0 dB / -3 dB hf AAC 192k triggers at
#: the true phase, true words passing a plain standardised sqrt check at the budget: 0.5 / 1:
#: 190 / 149 of 200; 0.25 / 4: 196 / 156; README)
_CHECK_TAIL = 0.25
_CHECK_MEAN = 4.0
#: power added to every denominator so digital silence gives E = 0, not 0/0
_TINY = 1e-20


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


def _local_max(ext: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Whether each row of ``ext[2:-2]`` is the largest within +-2 rows, per column."""
    c = ext.shape[0] - 4
    return np.asarray(ext[2 : 2 + c] >= np.maximum.reduce([ext[j : j + c] for j in range(5)]))


class _Band:
    """Per-profile constants: its columns in the combined grid and its tone slots."""

    def __init__(self, profile: Profile, index: int, offset: int) -> None:
        self.profile = profile
        self.index = index  # position in Decoder._bands (the band's column in _Y)
        self.offset = offset  # first column of this band in the combined grid
        self.pre = preamble_slots(profile) + offset
        self.data = data_slots(profile) + offset


def _ema_matrices(
    k_max: int, alpha: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return the floor tracker over a chunk in closed form (one matrix product).

    Row ``t`` of ``W @ P + d * f0`` is the floor *before* frame ``t`` (``t = 0..k``; row ``k`` is
    the floor after the chunk): ``f[t] = (1-a)^t f0 + sum_{s<t} a (1-a)^(t-1-s) P[s]``.
    """
    t = np.arange(k_max + 1)[:, None]
    s_ = np.arange(k_max)[None, :]
    W = np.where(s_ < t, alpha * (1.0 - alpha) ** np.maximum(t - 1 - s_, 0), 0.0)
    d = (1.0 - alpha) ** np.arange(k_max + 1, dtype=np.float64)
    return W, d


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
        self._trace = trace
        self._n = frame_length(sample_rate)
        self.sample_rate = int(self._n * BIN_HZ)
        self._lead = round(LEAD_S * self.sample_rate)
        fitting = [p for p in PROFILES.values() if self.sample_rate / 2 > p.f_hi_hz]
        if not fitting:
            raise ParameterError(
                f"sample rate {sample_rate} Hz is too low for every trigger profile (the lowest "
                f"band ends at {min(p.f_hi_hz for p in PROFILES.values()) / 1000:g} kHz); "
                "record at 44100 or 48000 Hz"
            )
        self._bands: list[_Band] = []
        bins: list[npt.NDArray[np.int64]] = []
        off = 0
        for p in fitting:
            self._bands.append(_Band(p, len(self._bands), off))
            bins.append(np.arange(p.first_bin, p.last_bin + 1))
            off += p.n_slots
        self._bins = np.concatenate(bins)
        self._offsets = np.array([b.offset for b in self._bands])
        self._band_of_col = np.repeat(np.arange(len(fitting)), [p.n_slots for p in fitting])
        self._W, self._d = _ema_matrices(_CHUNK, 1.0 / _FLOOR_FRAMES)
        self._frame_idx = np.arange(self._n)
        self._inv_slots = 1.0 / np.array([p.n_slots for p in fitting], dtype=np.float64)
        self._pre_cols = np.stack([b.pre for b in self._bands], axis=1)  # (3, bands)
        self._no_rows = np.zeros((0, 1), dtype=np.float32)
        self._data_rows = 2 * (PREAMBLE_SYMBOLS + np.arange(DATA_SYMBOLS))
        self._sym_rows = 2 * np.arange(N_SYMBOLS)
        self._reset()

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        n = self._n
        self._buf = np.zeros(4 * n + 8, dtype=np.float32)
        self._buf_start = 0  # absolute sample index of self._buf[0] (a frame start)
        self._view_of: npt.NDArray[np.float32] | None = None  # buffer self._view is a view of
        self._view: npt.NDArray[np.float32] = self._buf[:0].reshape(0, 1)
        self._buf_len = 0
        self._total = 0  # samples fed so far
        self._next_frame = 0  # index of the next frame to compute
        self._next_cand = 0  # next candidate start frame to evaluate
        # sync hits (>= SYNC_MEAN) whose candidates are not decoded yet: (absolute candidate
        # frame, band index); they make the next batch due early (_batch_due)
        self._pending: list[tuple[int, int]] = []
        self._recent: list[tuple[str, int, int, int]] = []  # (profile, ch, seq, start frame)
        # frames already decoded per profile (pruned to the last few hundred ms)
        self._tried: dict[str, set[int]] = {b.profile.name: set() for b in self._bands}
        # per profile: (first half-phase frame, their powers) of the last half-phase decode
        self._half_cache: dict[str, tuple[int, npt.NDArray[np.float32]]] = {}
        cols = self._bins.size
        self._floor = np.zeros(cols)
        # normalised grid and per-band shares of the last frames; rows [0, _rows) are valid and
        # row r is frame _next_frame - _rows + r
        self._S = np.zeros((HISTORY + _CHUNK + 1, cols))
        self._P = np.zeros((HISTORY + _CHUNK + 1, cols))
        self._F = np.zeros((HISTORY + _CHUNK + 1, cols))
        # sync metric (module docstring, step 3) of the candidate starting at each row, per band;
        # valid up to row _rows - 5 (a candidate needs its 3 preamble frames, 2 hops apart)
        self._Y = np.zeros((HISTORY + _CHUNK + 1, len(self._bands)))
        self._rows = 0
        self._due = self._batch_due()  # samples fed when the next batch is due

    @property
    def position(self) -> int:
        """Samples fed since the start of the stream."""
        return self._total

    # ------------------------------------------------------------------ input
    @staticmethod
    def _check_block(block: object) -> str:
        """Validate ``block``; return its dtype's kind: "f" float32, "d" float64, "h" int16.

        Cheap: no copies.
        """
        if not isinstance(block, np.ndarray):
            raise AudioFormatError(
                f"block must be a numpy array, got {type(block).__name__}; pass "
                "np.asarray(samples, dtype=np.float32)"
            )
        if block.ndim != 1:
            raise AudioFormatError(
                f"block must be mono with shape (n,), got shape {block.shape}; mix channels "
                "down first, e.g. block.mean(axis=1)"
            )
        kind: str = block.dtype.char  # 'h' int16, 'f' float32, 'd' float64 (a cheap check)
        if kind == "h":
            return kind
        if kind != "f" and kind != "d":
            raise AudioFormatError(
                f"block dtype {block.dtype} is not supported; use float32/float64 in [-1, 1] "
                "or int16"
            )
        # one dot product (BLAS, ~3x faster than a sum on a 256-sample block) instead of an
        # isfinite() temporary: a NaN/inf sample makes it non-finite; so does an overflow of
        # huge finite values, told apart only then
        if block.size and not math.isfinite(block.dot(block)):
            bad_mask = ~np.isfinite(block)
            if bad_mask.any():
                bad = int(np.flatnonzero(bad_mask)[0])
                raise AudioFormatError(
                    f"block holds a non-finite sample ({block[bad]!r} at index {bad}); the "
                    "block was not consumed: replace NaN/inf (e.g. np.nan_to_num) and feed it "
                    "again"
                )
        return kind

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
        kind = self._check_block(block)
        if block.size == 0:
            return []
        self._append(block, kind)
        if self._total < self._due:
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
        """Copy ``x`` (validated, dtype kind ``kind``) to the end of the sample buffer."""
        size = x.size
        n0 = self._buf_len
        if n0 + size > self._buf.size:
            self._make_room(size)
            n0 = self._buf_len
        end = n0 + size
        if kind == "f":
            self._buf[n0:end] = x
        elif kind == "h":
            np.multiply(x, 1.0 / 32768.0, out=self._buf[n0:end], casting="unsafe")
        else:
            # the analysis runs in float32 (measured ~10 % less CPU, and float32's ~140 dB of
            # FFT dynamic range is far more than the trigger needs); absurd float64 values are
            # clipped (+-1e6 = +120 dBFS) instead of overflowing to inf
            np.clip(x, -1e6, 1e6, out=self._buf[n0:end], casting="same_kind")
        self._buf_len = end
        self._total += size

    def _make_room(self, size: int) -> None:
        """Drop samples no longer needed so that ``size`` more fit in the buffer.

        Keeps what future frames and half-phase decodes need (from a few hops before the next
        candidate), in place if that leaves at least half the buffer free, else in a buffer
        twice the size: each sample is copied about once, and the buffer stays bounded (~2 x
        (the kept ~0.6 s + the block)).
        """
        keep_frame = max(0, min(self._next_frame, self._next_cand) - _KEEP_HOPS)
        keep_from = (keep_frame * self._n) // 2 - self._buf_start
        keep_len = self._buf_len - keep_from
        if 2 * (keep_len + size) <= self._buf.size:
            self._buf[:keep_len] = self._buf[keep_from : self._buf_len]
        else:
            new = np.empty(max(2 * (keep_len + size), 4 * self._n), dtype=np.float32)
            new[:keep_len] = self._buf[keep_from : self._buf_len]
            self._buf = new
        self._buf_start += keep_from
        self._buf_len = keep_len

    # ------------------------------------------------------------------ work
    def _process(self) -> list[Detection]:
        """Analyse every complete frame not analysed yet; return the detections completed."""
        n = self._n
        end = self._buf_start + self._buf_len
        last = (2 * (end - n)) // n if end >= n else -1  # last frame j with j*n//2 + n <= end
        out: list[Detection] = []
        while self._next_frame <= last:
            k = min(_CHUNK, last + 1 - self._next_frame)
            self._frames(k)
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

        When ``_MIN_BATCH`` new frames are complete, or earlier, once the first pending sync
        hit can be decoded (in a batch of 4 frames): a trigger's preamble is seen ~0.4 s before
        its end, so its decode waits at most 3 frames beyond the trigger's own last ones instead
        of up to a whole batch (channel bench: p95 ~88 -> ~60 ms, max 110 -> ~70 ms after the
        trigger's end; README). Detections do not depend on it: they never depend on how
        frames are split into batches.
        """
        due = self._frame_due(self._next_frame + _MIN_BATCH - 1)
        if self._pending:
            # drop the hits decoded meanwhile or inside an airing already reported
            self._pending = [
                (f, bi)
                for f, bi in self._pending
                if f >= self._next_cand and not self._frame_in_airing(self._bands[bi], f)
            ]
            if self._pending:
                # candidate c is decoded once frame c + _SPAN + _CAND_LAG - 1 is in; the batch
                # is rounded up to a multiple of 4 frames (pocketfft's vector width, see
                # _MIN_BATCH): at most 30 ms later, and no batch of 1-3 frames
                c = min(f for f, _ in self._pending)
                k = c + _SPAN + _CAND_LAG - self._next_frame  # frames that must be in
                due = min(due, self._frame_due(self._next_frame + 4 * -(-k // 4) - 1))
        return due

    def _frames(self, k: int) -> None:
        """Analyse the next ``k`` frames into the grid (written in place into its rows)."""
        if self._rows + k + 1 > self._S.shape[0]:  # room for k rows and the floor after them
            keep = HISTORY
            self._S[:keep] = self._S[self._rows - keep : self._rows]
            self._P[:keep] = self._P[self._rows - keep : self._rows]
            self._F[:keep] = self._F[self._rows - keep : self._rows]
            self._Y[:keep] = self._Y[self._rows - keep : self._rows]
            self._rows = keep
        r = self._rows
        # arr.take(..., axis) rather than fancy indexing or np.take: ~4x less call overhead
        spec = scipy.fft.rfft(self._frame_samples(k), axis=1).take(self._bins, axis=1)
        P32 = spec.real**2 + spec.imag**2
        P = self._P[r : r + k]
        P[...] = P32  # float64 from here on: same-type operations are faster
        # the floor before each frame, and (row k) after the last one: the next frame's
        F = self._F[r : r + k + 1]
        np.matmul(self._W[: k + 1, :k], P, out=F)
        F += self._d[: k + 1, None] * self._floor
        self._floor = F[k].copy()
        means = np.add.reduceat(P32, self._offsets, axis=1) * self._inv_slots
        den = means.take(self._band_of_col, axis=1)
        den += F[:k]
        den += _TINY
        E = np.divide(P, den, out=den)
        sums = np.add.reduceat(E, self._offsets, axis=1).take(self._band_of_col, axis=1)
        sums += _TINY
        np.divide(E, sums, out=self._S[r : r + k])
        if self._trace is not None:
            self._trace(
                tr.FramesAnalysed(
                    self._next_frame,
                    P.copy(),
                    F[:k].copy(),
                    self._S[r : r + k].copy(),
                    {
                        b.profile.name: slice(b.offset, b.offset + b.profile.n_slots)
                        for b in self._bands
                    },
                )
            )
        # the candidates whose last preamble frame is among the new ones
        y0, y1 = max(r - _PRE_SPAN, 0), r + k - _PRE_SPAN
        if y1 > y0:
            self._Y[y0:y1] = self._sync_metric(y0, y1)
            if self._trace is not None:
                for b in self._bands:
                    first = self._next_frame - r + y0
                    self._trace(
                        tr.SyncScores(b.profile.name, first, self._Y[y0:y1, b.index].copy())
                    )
            self._note_hits(y0, y1, self._next_frame - r)
        self._rows = r + k
        self._next_frame += k

    def _note_hits(self, y0: int, y1: int, first: int) -> None:
        """Add the sync hits among grid rows ``y0 .. y1 - 1`` (just computed) to ``_pending``.

        ``first`` is the absolute frame of grid row 0. Every candidate >= SYNC_MEAN at once,
        and (second tier) the local maxima within +-2 hops >= SYNC_LOW among the candidates
        whose neighbours' metric is known too (rows up to ``y1 - 3``); :meth:`_batch_due`
        brings their decode forward.
        """
        sync = self._Y[y0:y1]
        if float(sync.max()) >= SYNC_MEAN:
            hits = np.argwhere(sync >= SYNC_MEAN).tolist()
            self._pending += [(first + y0 + i, bi) for i, bi in hits]
        p0, p1 = max(y0 - 2, 2), y1 - 2
        if p1 > p0 and float(self._Y[p0:p1].max()) >= SYNC_LOW:
            mid = self._Y[p0:p1]
            peak = (mid >= SYNC_LOW) & (mid < SYNC_MEAN) & _local_max(self._Y[p0 - 2 : p1 + 2])
            self._pending += [(first + p0 + i, bi) for i, bi in np.argwhere(peak).tolist()]

    def _frame_samples(self, k: int) -> npt.NDArray[np.float32]:
        """Return the samples of the next ``k`` frames, shape (k, n)."""
        n = self._n
        if n % 2:
            js = np.arange(self._next_frame, self._next_frame + k)
            starts = (js * n) // 2 - self._buf_start
            frames: npt.NDArray[np.float32] = self._buf[starts[:, None] + self._frame_idx[None, :]]
            return frames
        # hop n/2: rows of one strided view of the whole buffer (no gather copy), made once
        # per buffer; the buffer always starts on a frame boundary (see _make_room)
        if self._view_of is not self._buf:
            self._view = np.lib.stride_tricks.as_strided(
                self._buf,
                shape=((self._buf.size - n) // (n // 2) + 1, n),
                strides=(self._buf.strides[0] * (n // 2), self._buf.strides[0]),
                writeable=False,
            )
            self._view_of = self._buf
        r0 = ((self._next_frame * n) // 2 - self._buf_start) // (n // 2)
        return self._view[r0 : r0 + k]

    def _candidates(self) -> list[Detection]:
        first_hist = self._next_frame - self._rows
        cand_last = self._next_frame - _SPAN - _CAND_LAG
        if cand_last < self._next_cand:
            return []
        c0 = max(self._next_cand, first_hist)
        self._next_cand = cand_last + 1
        out: list[Detection] = []
        cands = np.arange(c0, cand_last + 1) - first_hist
        # preamble metric of every candidate and band at once: (c + 4, bands), with two more
        # candidates on each side for the local-maximum test (rows before the stream's first
        # frame count as no sync). Every candidate above SYNC_MEAN is decoded (decoding only
        # local maxima within +-2 hops saved 37 % of decode attempts on a living-room chain but
        # lost 4 of 432 triggers: README); below it, down to SYNC_LOW, only local maxima whose
        # data frames hold concentrated tones (a notched preamble tone)
        lo, hi = int(cands[0]) - 2, int(cands[-1]) + 3
        sm_ext = self._Y[max(lo, 0) : hi]
        if lo < 0:
            sm_ext = np.concatenate([np.zeros((-lo, len(self._bands))), sm_ext])
        sm = sm_ext[2:-2]
        if float(sm.max()) < SYNC_LOW:  # most batches: no candidate to look at
            return out
        hit = sm >= SYNC_MEAN
        low = (sm >= SYNC_LOW) & ~hit
        conc_of: dict[tuple[int, int], float] = {}
        if low.any():  # rare: a few per minute of noise
            for ci, bi in np.argwhere(low & _local_max(sm_ext)).tolist():
                rows = int(cands[ci]) + self._data_rows
                conc = float(self._S[rows[:, None], self._bands[bi].data].max(axis=1).mean())
                hit[ci, bi] = conc >= SYNC_DATA
                conc_of[ci, bi] = conc
                if self._trace is not None and not hit[ci, bi]:
                    frame = int(cands[ci]) + first_hist
                    name = self._bands[bi].profile.name
                    sync = float(sm[ci, bi])
                    self._trace(tr.Candidate(name, frame, sync, "low", conc, math.nan, "weak_data"))
        if not hit.any():
            return out
        hits = np.argwhere(hit)
        # a band whose top a codec cut passes the sync in every frame: one vectorised test for
        # all hits of the batch
        top_empty = np.zeros(hit.shape, dtype=bool)
        balance = np.full(hit.shape, math.nan)
        for bi, b in enumerate(self._bands):
            ci = hits[hits[:, 1] == bi, 0]
            if ci.size:
                balance[ci, bi] = self._balance(b, cands[ci])
                top_empty[ci, bi] = balance[ci, bi] < _MIN_BALANCE
        horizon = first_hist + int(cands[0]) - 4 * _DEDUP_FRAMES
        for tried in self._tried.values():
            for old in [f for f in tried if f < horizon]:
                tried.discard(old)
        for c, bi in hits.tolist():  # in time order (argwhere's), both bands interleaved
            b = self._bands[bi]
            tried = self._tried[b.profile.name]
            frame = int(cands[c]) + first_hist
            in_airing = self._frame_in_airing(b, frame)
            if self._trace is not None:
                outcome: tr.CandidateOutcome = (
                    "in_airing" if in_airing else "unbalanced" if top_empty[c, bi] else "decode"
                )
                tier: tr.Tier = "low" if (c, bi) in conc_of else "mean"
                self._trace(
                    tr.Candidate(
                        b.profile.name,
                        frame,
                        float(sm[c, bi]),
                        tier,
                        conc_of.get((c, bi), math.nan),
                        float(balance[c, bi]),
                        outcome,
                    )
                )
            if in_airing:
                # inside an airing already reported: another trigger of this profile
                # cannot start here (it would overlap), so skip the decoding work
                continue
            if top_empty[c, bi]:
                # the candidate's frames hold (almost) nothing in the upper half of the band: not
                # a trigger, whose tones hop over the whole band, but a band whose top a chain cut
                # (hf through AAC 128k), where the few live bins pass the sync everywhere and the
                # check terms of the dead bins' codec noise are heavy-tailed (README)
                continue
            # the sync peak can sit one hop off the phase whose frames hold the symbols
            # best: try the neighbours too, each frame at most once, the one with the stronger
            # preamble first (a hit just before the peak would otherwise decode a misaligned
            # view first, and every word tried there is a chance of a wrong ID: README); after a
            # near miss also two hops before (a reverberant preamble's tail can pull the peak
            # late)
            near = False
            order = sorted(_PHASES, key=lambda d: -float(sm_ext[c + 2 + d, bi]))
            for d in (*order, _NEAR_MISS_PHASE):
                if d == _NEAR_MISS_PHASE and not near:
                    break
                row = int(cands[c]) + d
                if row < 0 or frame + d in tried:
                    continue
                tried.add(frame + d)
                det, vz = self._demodulate(b, row, frame + d, d)
                if det is not None:
                    if self._trace is not None:
                        self._trace(tr.Reported(det, frame + d))
                    out.append(det)
                    break
                near = near or vz >= _RETRY_Z
        out.sort(key=lambda d: d.start_s)
        return out

    def _energies(
        self, b: _Band, row: int, hops: tuple[int, ...]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Normalised energies ``E'`` of the 20 data symbols' 32 candidate tones.

        Shape ``(len(hops), 20, 32)``: for each hop offset ``h`` the frames ``j + h`` of the
        symbols' aligned frames ``j``. ``E' = P / (R / 2 + F + m)``: besides the slow floor ``F``
        and the frame's mean ``m``, each bin is divided by a prediction of the reverberant tail
        of what it held in the previous symbols, ``R = sum_{d=2..8} 2^-(d-2) P[j - d]`` (hops
        before this frame; hop ``j - 1`` overlaps the frame and is left out). Measured (README):
        the tail term +7 % of room/chain triggers over ``P / (F + m)``.

        Also returns the check energies of the first hop (``hops[0]`` must be 0), shape (20, 32):
        ``Ec = P / (R / 4 + F + 4 w m)`` (:data:`_CHECK_TAIL`, :data:`_CHECK_MEAN`: less
        per-bin whitening than ``E'``, measured better for the true words' ``z``) with ``w`` from
        :meth:`_floor_shape`. In a band part of which a codec removed (hf through AAC 128k) the
        band mean ``m`` dwarfs the dead bins' floor, so those bins are ~0 and the live ones
        stand out of every symbol: not the i.i.d. energies the false-accept bound assumes (one
        false trigger in the channel bench's 10 h). ``w < 1`` only in such dead bins, which are
        then measured against their own floor; in a flat band ``w = 1`` (README).
        """
        base = row + self._data_rows
        rows = (np.asarray(hops)[:, None] + base[None, :]).reshape(-1)
        cols = np.tile(b.data, (len(hops), 1))  # (rows, 32)
        # flat indices into the grids: one take() each, ~3x faster than 2-D fancy indexing
        width = self._P.shape[1]
        cells = rows[:, None] * width + cols
        P = self._P.reshape(-1).take(cells)
        lag = np.maximum(rows[:, None] - _TAIL_LAGS[None, :], 0)  # (rows, 7); 0 only at start
        tails = self._P.reshape(-1).take((lag * width)[:, :, None] + cols[:, None, :])
        R = np.einsum("l,slc->sc", _TAIL_WEIGHTS, tails)
        n = b.profile.n_slots
        m = self._P[rows, b.offset : b.offset + n].mean(axis=1)
        F = self._F.reshape(-1).take(cells)
        E, Ec = self._normalise(b, row, P, R, F, m, slice(0, DATA_SYMBOLS))  # hops[0]: check
        return E.reshape(len(hops), DATA_SYMBOLS, -1), Ec

    def _normalise(
        self,
        b: _Band,
        row: int,
        P: npt.NDArray[np.floating],
        R: npt.NDArray[np.floating],
        F: npt.NDArray[np.floating],
        m: npt.NDArray[np.floating],
        aligned: slice,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return ``E' = P / (R / 2 + F + m)`` of every row, and ``Ec`` of the aligned rows.

        ``Ec`` (the check energies, see :meth:`_energies`) of the rows ``aligned`` (the
        candidate's 20 symbol-aligned frames) weights ``m`` per bin by :meth:`_floor_shape`.
        """
        E = P / (0.5 * R + F + m[:, None] + _TINY)
        a = aligned
        mw = _CHECK_MEAN * m[a, None] * self._floor_shape(b, row)
        Ec = P[a] / (_CHECK_TAIL * R[a] + F[a] + mw + _TINY)
        return np.asarray(E, dtype=np.float64), np.asarray(Ec, dtype=np.float64)

    def _balance(self, b: _Band, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Upper half of the band's power over the lower half's, per candidate ``rows``.

        Summed over the candidate's 23 symbol frames. A trigger's tones hop over the whole band:
        channel-bench triggers at -3 to 0 dB 0.47-1.9; music through AAC 128k (hf above ~18 kHz
        removed): median 0.015, max 0.15.
        """
        n = b.profile.n_slots
        frames = np.asarray(rows)[:, None] + self._sym_rows[None, :]
        P = self._P[:, b.offset : b.offset + n].take(frames, axis=0)
        power = P.sum(axis=1)
        upper = power[:, n // 2 :].sum(axis=1)
        return np.asarray(upper / (power[:, : n // 2].sum(axis=1) + _TINY), dtype=np.float64)

    def _floor_shape(self, b: _Band, row: int) -> npt.NDArray[np.float64]:
        """Return the weight of the band mean ``m`` in each data candidate's check denominator.

        Shape (20, 32): 1, except for bins whose floor just before the candidate is more than
        ``1 / _DEAD_FLOOR`` below the band's mean floor (a part of the band a codec removed):
        there ``floor / (_DEAD_FLOOR * mean floor)``, so such a bin is measured against its
        own floor rather than against the live bins' level.
        """
        n = b.profile.n_slots
        f = self._F[row, b.offset : b.offset + n]
        w = np.minimum(f / (_DEAD_FLOOR * f.mean() + _TINY), 1.0)
        return np.asarray(w[b.data - b.offset], dtype=np.float64)

    def _tone_metric(
        self, b: _Band, row: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per-tone log-likelihoods (up to a per-symbol constant) of the 20 data symbols.

        Returns ``(decode, check)``, both shape (20, 32), for the first decoding metric:
        ``decode = log(E'[j] + 0.4 E'[j + 1] + 0.1)`` (the log compresses the few very strong
        cells: a transient, an unpredicted tail; the next hop holds half this symbol, half the
        next: the room's tail of this symbol's tone; +2 % of room/chain triggers) and the check
        energies ``Ec`` (:meth:`_energies`) the ``z`` check uses: their rows come from disjoint
        frames (the false-accept bound needs that). For diagnostics.
        """
        E, Ec = self._energies(b, row, (0, 1))
        return np.log(E[0] + _METRICS[0][0] * E[1] + 0.1), Ec

    def _half_powers(self, b: _Band, q0: int, q1: int) -> npt.NDArray[np.float32] | None:
        """Band powers of the frames starting N/4 after frames ``q0 .. q1 - 1`` (None: gone)."""
        n = self._n
        starts = (np.arange(q0, q1) * n) // 2 + n // 4 - self._buf_start
        if starts[0] < 0 or starts[-1] + n > self._buf_len:
            return None
        spec = scipy.fft.rfft(self._buf[starts[:, None] + self._frame_idx[None, :]], axis=1)
        spec = spec[:, self._bins[b.offset : b.offset + b.profile.n_slots]]
        return np.asarray(spec.real**2 + spec.imag**2, dtype=np.float32)

    def _half_energies(
        self, b: _Band, row: int, frame: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        """:meth:`_energies` at hops ``(-1, 0, 1)`` for the frames half a hop later (N/4).

        Computed on demand from the kept samples (one batched rfft of the 49 frames the 20
        symbols, their neighbouring hops and their tails need); the floor ``F`` is taken from
        the regular grid's frame just before. None if the samples are no longer buffered (does
        not happen in streaming: ``_KEEP_HOPS``).
        """
        q0, q1 = frame - 3, frame + 2 * N_SYMBOLS  # half-phase frames q + 1/2, q0 <= q < q1
        # neighbouring phases of one sync hit share most frames: reuse the last ones computed
        c0, cP = self._half_cache.get(b.profile.name, (0, self._no_rows))
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
        self._half_cache[b.profile.name] = (q0, P)  # (49, n_slots), row i = frame q0 + i + 1/2
        cols = np.tile(b.data - b.offset, (3, 1))  # (60, 32) band-local slots
        rows = (np.array([-1, 0, 1])[:, None] + (self._data_rows + 3)[None, :]).reshape(-1)
        Pc = P[rows[:, None], cols]
        lag = rows[:, None] - _TAIL_LAGS[None, :]  # >= 0: the first data row is q index 9
        R = np.einsum("l,slc->sc", _TAIL_WEIGHTS, P[lag[:, :, None], cols[:, None, :]])
        m = P[rows].mean(axis=1)
        F = self._F[(rows + row - 3)[:, None], cols + b.offset]
        # rows in hop order (-1, 0, 1): the check energies come from hop 0's aligned frames
        E, Ec = self._normalise(b, row, Pc, R, F, m, slice(DATA_SYMBOLS, 2 * DATA_SYMBOLS))
        # order (0, 1, -1) like _decode expects: aligned, next hop, previous hop
        return E.reshape(3, DATA_SYMBOLS, -1)[[1, 2, 0]], Ec

    def _decode(
        self,
        E: npt.NDArray[np.float64],
        Ec: npt.NDArray[np.float64],
        prev: tuple[_Band, int] | None = None,
        where: tuple[str, int, int, bool] = ("", 0, 0, False),
    ) -> tuple[tuple[int, int] | None, float]:
        """Decode from ``E`` = energies at hops (0, 1[, -1]) and the check energies ``Ec``.

        Returns (ID or None, the first stage's Viterbi-word ``z``). If ``E`` lacks the
        previous hop, ``prev = (band, row)`` computes it when a stage needs it. ``where``:
        (profile, frame, phase, half-phase), for the trace only.

        The stages of :data:`_STAGES` in order; all but the first only on a near miss: no CRC
        match but the Viterbi word stands out of its symbols (``z >= _RETRY_Z``; random
        candidates: 1.71 +- 0.33, README). Every word is checked on ``Ec``.
        """
        vz = math.nan
        metrics: dict[int, npt.NDArray[np.float64]] = {}
        for k, (mi, sharpness) in enumerate(_STAGES):
            if mi not in metrics:
                wn, wp = _METRICS[mi]
                if wp and E.shape[0] < 3 and prev is not None:
                    E = np.concatenate([E, self._energies(prev[0], prev[1], (-1,))[0]])
                metrics[mi] = np.log(E[0] + wn * E[1] + (wp * E[2] if wp else 0.0) + 0.1)
            tried: list[npt.NDArray[np.int64]] | None = [] if self._trace is not None else None
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
                self._trace_attempt(where, k, metrics[mi], Ec, tried, sd)
            if sd.found is not None or not vz >= _RETRY_Z:
                return sd.found, vz
        return None, vz

    def _trace_attempt(
        self,
        where: tuple[str, int, int, bool],
        stage: int,
        metric: npt.NDArray[np.float64],
        Ec: npt.NDArray[np.float64],
        tried: list[npt.NDArray[np.int64]],
        sd: SoftDecision,
    ) -> None:
        """Emit the :class:`trace.DecodeAttempt` of one stage (tracing only)."""
        assert self._trace is not None
        words = []
        for bits in tried:
            message = bytes(np.packbits(bits.astype(np.uint8)).tolist())
            z = float(check_terms(Ec, to_symbols(code_bits(message))).mean())
            words.append(tr.WordTried(bits.copy(), unpack(message), z))
        mi, sharpness = _STAGES[stage]
        outcome: tr.AttemptOutcome = (
            "accepted" if sd.found is not None else "z_reject" if sd.crc_ok else "crc_fail"
        )
        name, frame, phase, half = where
        self._trace(
            tr.DecodeAttempt(
                name,
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
                sd.z,
                sd.viterbi_z,
                outcome,
            )
        )

    def _phase_outcome(
        self, b: _Band, frame: int, phase: int, outcome: tr.PhaseOutcome, vz: float
    ) -> None:
        if self._trace is not None:
            self._trace(tr.PhaseDecoded(b.profile.name, frame, phase, outcome, vz))

    def _demodulate(
        self, b: _Band, row: int, frame: int, phase: int = 0
    ) -> tuple[Detection | None, float]:
        """Decode the candidate at ``row``: (the detection or None, the Viterbi-word ``z``)."""
        if self._rival_preamble(b, row):
            # a misaligned view of a trigger that starts elsewhere: its tones fill this
            # candidate's data frames and the check, computed for noise, cannot tell; not
            # decoded at all (a word found here would be dropped, and a near miss here would
            # cost every retry stage)
            self._phase_outcome(b, frame, phase, "rival", math.nan)
            return None, math.nan
        name = b.profile.name
        found, vz = self._decode(
            *self._energies(b, row, (0, 1)), prev=(b, row), where=(name, frame, phase, False)
        )
        if found is None and vz >= _HALF_Z:
            # a near miss: the symbols may sit half a hop off the frame grid; decode the frames
            # a quarter frame later (same z check on their own, disjoint aligned frames)
            half = self._half_energies(b, row, frame)
            if half is not None:
                found, _ = self._decode(*half, where=(name, frame, phase, True))
        if found is None:
            self._phase_outcome(b, frame, phase, "near_miss" if vz >= _RETRY_Z else "miss", vz)
            return None, vz
        channel, seq = found
        best = encode_payload(channel, seq)
        self._recent = [r for r in self._recent if frame - r[3] <= 4 * _DEDUP_FRAMES]
        for r in self._recent:
            if (r[0], r[1], r[2]) == (name, channel, seq) and abs(frame - r[3]) <= _DEDUP_FRAMES:
                self._phase_outcome(b, frame, phase, "duplicate", vz)
                return None, vz
        self._phase_outcome(b, frame, phase, "found", vz)
        self._recent.append((name, channel, seq, frame))
        # the other frame phase (one hop earlier) may be better aligned with the symbols:
        # report the start and SNR from whichever catches more of the tones
        row, frame = self._best_phase(b, row, frame, best)
        start = (frame * self._n) // 2 - self._lead
        start_s = start / self.sample_rate
        snr = self._snr_db(b, row, best)
        return Detection(channel, seq, name, start_s, start_s + airtime_s(name), snr), vz

    def _airings(self, name: str) -> list[tuple[int, int]]:
        """Return the airings of profile ``name`` already reported, as frame ranges [lo, hi).

        From ``_DEDUP_FRAMES`` before a reported start to one airtime after it: no other
        trigger of that profile can start there (it would overlap).
        """
        return [(r[3] - _DEDUP_FRAMES, r[3] + _AIRING_FRAMES) for r in self._recent if r[0] == name]

    def _in_airing(self, name: str, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each absolute frame lies in an airing of profile ``name`` (:meth:`_airings`)."""
        inside = np.zeros(frames.shape, dtype=bool)
        for lo, hi in self._airings(name):
            inside |= (frames >= lo) & (frames < hi)
        return inside

    def _frame_in_airing(self, b: _Band, frame: int) -> bool:
        """:meth:`_in_airing` for one frame of band ``b``, without numpy (runs per candidate)."""
        return any(lo <= frame < hi for lo, hi in self._airings(b.profile.name))

    def _rival_preamble(self, b: _Band, row: int) -> bool:
        """Whether a candidate 3-40 hops before or 6-40 hops after ``row`` has a stronger preamble.

        Compares the sync metric (module docstring, step 3) of the candidates ``row - 2 ..
        row + 2`` with those ``_RIVAL_BEFORE`` to ``_RIVAL_LAST`` hops before and
        ``_RIVAL_AFTER`` to ``_RIVAL_LAST`` after, as far as the grid holds them: a rival at
        least ``SYNC_MEAN`` and ``_RIVAL_MARGIN`` times all of them means that ``row`` is a
        misaligned view of a trigger that starts there (another trigger cannot start within its
        airtime).
        Such a candidate sees that trigger's tones in its data frames, and a word that matches
        them can pass the ``z`` check, whose bound holds for noise only: two wrong IDs in the
        channel bench (5 and 15 hops before a real trigger), and 70-95 % of the high-``z``
        wrong words tried near the bench's triggers (README: wrong IDs). Candidates inside the
        airing of a trigger already reported are no rivals (its data symbols can pass for a
        preamble; one channel-bench trigger at 0 dB was lost to them).
        """
        lo = max(row - _RIVAL_LAST, 0)
        hi = min(row + _RIVAL_LAST, self._rows - 1 - _PRE_SPAN)
        cands = np.arange(lo, hi + 1)
        sm = self._Y[lo : hi + 1, b.index]
        off = cands - row
        near = np.abs(off) <= 2
        side = (off >= _RIVAL_AFTER) | (off <= -_RIVAL_BEFORE)
        # inside a reported airing no trigger can start: its data symbols are not rivals
        side &= ~self._in_airing(b.profile.name, cands + (self._next_frame - self._rows))
        rivals = sm[side]
        if not rivals.size or not near.any():
            return False
        best = float(rivals.max())
        return best >= SYNC_MEAN and best > _RIVAL_MARGIN * float(sm[near].max())

    def _sync_metric(self, lo: int, hi: int) -> npt.NDArray[np.float64]:
        """Return the preamble metric (module docstring, step 3) of grid rows ``lo .. hi - 1``.

        Shape (hi - lo, bands): the mean over the preamble symbols ``k`` of the share in row
        ``row + 2 k`` of that symbol's tone column. One take() per symbol from a row slice.
        """
        S, pre = self._S, self._pre_cols
        acc: npt.NDArray[np.float64] = S[lo:hi].take(pre[0], axis=1)
        acc += S[lo + 2 : hi + 2].take(pre[1], axis=1)
        for k in range(2, PREAMBLE_SYMBOLS):  # (x0 + x1) + x2: the order np.mean sums in
            acc += S[lo + 2 * k : hi + 2 * k].take(pre[k], axis=1)
        acc /= PREAMBLE_SYMBOLS
        return acc

    def _tone_cells(
        self, b: _Band, row: int, best: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        rows = row + 2 * np.arange(N_SYMBOLS)
        slots = np.concatenate([b.pre, b.data[np.arange(DATA_SYMBOLS), best]])
        return rows, slots

    def _best_phase(
        self, b: _Band, row: int, frame: int, best: npt.NDArray[np.int64]
    ) -> tuple[int, int]:
        """Return ``(row, frame)`` of the phase (-1, 0, +1 hops) with the larger mean tone share.

        Mean over the 23 symbols of the share ``S`` of the tone each one sent.
        """
        phases = [d for d in (-1, 0, 1) if row + d >= 0]
        rows, slots = self._tone_cells(b, row, best)
        cells = self._S[np.array(phases)[:, None] + rows[None, :], slots[None, :]]
        scores = np.add.reduce(cells, axis=1) / N_SYMBOLS
        d = max(zip(scores.tolist(), phases, strict=True))[1]
        return row + d, frame + d

    def _snr_db(self, b: _Band, row: int, best: npt.NDArray[np.int64]) -> float:
        # In-band SNR: for a tone on a bin, |X|^2 / (n_slots * noise power per bin) equals tone
        # power / noise power in the band (Parseval). The noise per bin is the floor tracker's
        # value just before the trigger (median over the band's bins, so a stationary tone in
        # the programme does not count as noise).
        rows, slots = self._tone_cells(b, row, best)
        tone = float(np.mean(self._P[rows, slots]))
        cols = slice(b.offset, b.offset + b.profile.n_slots)
        noise = float(np.median(self._F[row, cols])) + _TINY
        sig = max(tone - noise, _TINY)
        snr = 10.0 * math.log10(sig / (b.profile.n_slots * noise))
        return round(min(max(snr, -30.0), 60.0), 1)
