"""Front end: the sample buffer, the batched short-time FFT and the noise floor, into the grid.

Per 20 ms frame (``N = sample_rate / 50`` samples, hop ``N / 2``) one ``scipy.fft.rfft`` of all
new complete frames at once; only the bins of the profiles' tone slots are kept (power ``P``,
92 bins of 442/481). Per profile, ``E = P / (F + m)`` where ``F`` is a per-bin exponential
average of past frames (200 ms: the reverberation/noise floor of that bin) and ``m`` the frame's
mean power over the profile's bins (instant level); the grid keeps ``P``, ``F`` and the share
``S = E / sum(E over the band)`` that the sync metric reads. ``E`` is independent of gain (40 dB
steps, AGC) and of DC (bin 0 is never looked at).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.fft
from scipy.linalg import blas

from trigger_codec.errors import AudioFormatError
from trigger_codec.grid import Band, Grid

__all__ = ["CHUNK", "FLOOR_FRAMES", "TINY", "FrontEnd", "SampleBuffer", "check_block"]

#: frames analysed per matrix step (bounds temporaries whatever the block size)
CHUNK = 64
#: floor tracker time constant in frames (hop 10 ms -> 200 ms)
FLOOR_FRAMES = 20.0
#: power added to every denominator so digital silence gives E = 0, not 0/0
TINY = 1e-20


#: Largest float sample magnitude accepted (24 dB above full scale). Float audio is full scale
#: at +-1; a block far beyond it is not audio (an int16-scale float, a units mistake), and its
#: power would hold the noise floor up for seconds (float32 overflows to inf from ~1e19 and
#: deafens the decoder for good). Refused, like NaN/inf, rather than fed.
MAX_SAMPLE_ABS = 16.0


def check_block(block: object) -> str:
    """Validate ``block``; return its dtype's kind: "f" float32, "d" float64, "h" int16.

    Cheap: no copies. Raises :class:`AudioFormatError` (wrong type, shape or dtype, NaN/inf,
    a float sample beyond +-:data:`MAX_SAMPLE_ABS`).
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
            f"block dtype {block.dtype} is not supported; use float32/float64 in [-1, 1] or int16"
        )
    # one BLAS dot product (0.14 us on a 256-sample block, ~3x faster than a sum) instead of an
    # isfinite() and an abs() temporary: a NaN/inf sample makes it non-finite, and a sample
    # beyond the limit makes it exceed the limit squared; the culprit is looked for only then.
    # scipy's BLAS wrapper rather than ndarray.dot: huge samples overflow it to inf, and numpy
    # would also warn about that overflow
    energy = (blas.sdot if kind == "f" else blas.ddot)(block, block) if block.size else 0.0
    if not energy <= MAX_SAMPLE_ABS * MAX_SAMPLE_ABS:
        bad_mask = ~np.isfinite(block)
        if bad_mask.any():
            bad = int(np.flatnonzero(bad_mask)[0])
            raise AudioFormatError(
                f"block holds a non-finite sample ({block[bad]!r} at index {bad}); the "
                "block was not consumed: replace NaN/inf (e.g. np.nan_to_num) and feed it "
                "again"
            )
        loud = np.flatnonzero(np.abs(block) > MAX_SAMPLE_ABS)
        if loud.size:
            bad = int(loud[0])
            raise AudioFormatError(
                f"block holds a sample of {float(block[bad]):g} at index {bad}, beyond "
                f"+-{MAX_SAMPLE_ABS:g}: float audio is full scale at +-1 (int16 values as floats: "
                "divide by 32768); the block was not consumed"
            )
    return kind


class SampleBuffer:
    """The stream's recent samples (float32), from a frame boundary on.

    Keeps what future frames and half-phase decodes need; each sample is copied about once and
    the buffer stays bounded (~2 x (the kept ~0.6 s + one block)).

    Parameters
    ----------
    n : int
        Frame length, samples.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.buf = np.zeros(4 * n + 8, dtype=np.float32)
        self.start = 0  # absolute sample index of buf[0] (a frame start)
        self.length = 0  # valid samples in buf
        self.total = 0  # samples fed so far
        self._frame_idx = np.arange(n)
        self._view_of: npt.NDArray[np.float32] | None = None  # buffer _view is a view of
        self._view: npt.NDArray[np.float32] = self.buf[:0].reshape(0, 1)

    @property
    def end(self) -> int:
        """Absolute sample after the last one buffered."""
        return self.start + self.length

    def fits(self, size: int) -> bool:
        """Whether ``size`` more samples fit without :meth:`make_room`."""
        return self.length + size <= self.buf.size

    def append(self, x: npt.NDArray[np.generic], kind: str) -> None:
        """Copy ``x`` (validated, dtype kind ``kind``) to the end of the buffer.

        The caller makes room first if it does not :meth:`fit <fits>`.
        """
        n0 = self.length
        end = n0 + x.size
        if kind == "f":
            self.buf[n0:end] = x
        elif kind == "h":
            np.multiply(x, 1.0 / 32768.0, out=self.buf[n0:end], casting="unsafe")
        else:
            # the analysis runs in float32 (measured ~10 % less CPU, and float32's ~140 dB of
            # FFT dynamic range is far more than the trigger needs); absurd float64 values are
            # clipped (+-1e6 = +120 dBFS) instead of overflowing to inf
            np.clip(x, -1e6, 1e6, out=self.buf[n0:end], casting="same_kind")
        self.length = end
        self.total += x.size

    def make_room(self, size: int, keep_frame: int) -> None:
        """Drop samples before ``keep_frame`` so that ``size`` more fit.

        In place if that leaves at least half the buffer free, else in a buffer twice the size.
        """
        keep_from = (keep_frame * self.n) // 2 - self.start
        keep_len = self.length - keep_from
        if 2 * (keep_len + size) <= self.buf.size:
            self.buf[:keep_len] = self.buf[keep_from : self.length]
        else:
            new = np.empty(max(2 * (keep_len + size), 4 * self.n), dtype=np.float32)
            new[:keep_len] = self.buf[keep_from : self.length]
            self.buf = new
        self.start += keep_from
        self.length = keep_len

    def frames(self, first: int, k: int) -> npt.NDArray[np.float32]:
        """Return the samples of absolute frames ``first .. first + k - 1``, shape (k, n)."""
        n = self.n
        if n % 2:
            js = np.arange(first, first + k)
            starts = (js * n) // 2 - self.start
            out: npt.NDArray[np.float32] = self.buf[starts[:, None] + self._frame_idx[None, :]]
            return out
        # hop n/2: rows of one strided view of the whole buffer (no gather copy), made once
        # per buffer; the buffer always starts on a frame boundary (see make_room)
        if self._view_of is not self.buf:
            self._view = np.lib.stride_tricks.as_strided(
                self.buf,
                shape=((self.buf.size - n) // (n // 2) + 1, n),
                strides=(self.buf.strides[0] * (n // 2), self.buf.strides[0]),
                writeable=False,
            )
            self._view_of = self.buf
        r0 = ((first * n) // 2 - self.start) // (n // 2)
        return self._view[r0 : r0 + k]

    def half_frames(self, q0: int, q1: int) -> npt.NDArray[np.float32] | None:
        """Return the frames starting N/4 after frames ``q0 .. q1 - 1`` (None: not kept)."""
        n = self.n
        starts = (np.arange(q0, q1) * n) // 2 + n // 4 - self.start
        if starts[0] < 0 or starts[-1] + n > self.length:
            return None
        out: npt.NDArray[np.float32] = self.buf[starts[:, None] + self._frame_idx[None, :]]
        return out


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


class FrontEnd:
    """STFT and floor tracker of every band, written into a :class:`Grid`.

    Parameters
    ----------
    bands : list of Band
        The listened-for profiles (:func:`trigger_codec.grid.make_bands`).
    """

    def __init__(self, bands: list[Band]) -> None:
        self.bins = np.concatenate(
            [np.arange(b.profile.first_bin, b.profile.last_bin + 1) for b in bands]
        )
        self._offsets = np.array([b.offset for b in bands])
        self._band_of_col = np.repeat(np.arange(len(bands)), [b.profile.n_slots for b in bands])
        self._W, self._d = _ema_matrices(CHUNK, 1.0 / FLOOR_FRAMES)
        self._inv_slots = 1.0 / np.array([b.profile.n_slots for b in bands], dtype=np.float64)
        self.floor = np.zeros(self.bins.size)  # each bin's floor after the last frame

    def reset(self) -> None:
        """Forget the floor (a new stream)."""
        self.floor = np.zeros(self.bins.size)

    def analyse(self, frames: npt.NDArray[np.float32], grid: Grid) -> None:
        """Append the ``k`` frames ``frames`` (shape (k, n)) to ``grid`` (``P``, ``F``, ``S``).

        ``grid`` must have room for ``k`` rows plus one (:meth:`Grid.make_room`); ``grid.rows``
        is not advanced here.
        """
        k = frames.shape[0]
        r = grid.rows
        # arr.take(..., axis) rather than fancy indexing or np.take: ~4x less call overhead
        spec = scipy.fft.rfft(frames, axis=1).take(self.bins, axis=1)
        P32 = spec.real**2 + spec.imag**2
        P = grid.P[r : r + k]
        P[...] = P32  # float64 from here on: same-type operations are faster
        # the floor before each frame, and (row k) after the last one: the next frame's
        F = grid.F[r : r + k + 1]
        np.matmul(self._W[: k + 1, :k], P, out=F)
        F += self._d[: k + 1, None] * self.floor
        self.floor = F[k].copy()
        means = np.add.reduceat(P32, self._offsets, axis=1) * self._inv_slots
        den = means.take(self._band_of_col, axis=1)
        den += F[:k]
        den += TINY
        E = np.divide(P, den, out=den)
        sums = np.add.reduceat(E, self._offsets, axis=1).take(self._band_of_col, axis=1)
        sums += TINY
        np.divide(E, sums, out=grid.S[r : r + k])

    def band_powers(self, frames: npt.NDArray[np.float32], band: Band) -> npt.NDArray[np.float32]:
        """Return ``|X|^2`` of ``band``'s tone bins of ``frames``, shape (k, n_slots)."""
        spec = scipy.fft.rfft(frames, axis=1)
        spec = spec[:, self.bins[band.cols]]
        return np.asarray(spec.real**2 + spec.imag**2, dtype=np.float32)
