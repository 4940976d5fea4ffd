"""The phone side: microphone clock/resampling, AGC-like level changes, 16-bit quantisation."""

from __future__ import annotations

import numpy as np
from scipy.fft import next_fast_len
from scipy.signal import resample, resample_poly

from channel_sim.errors import ChainConfigError

__all__ = ["agc", "mic_resample", "quantise"]


def mic_resample(
    audio: np.ndarray, sr_in: int, sr_out: int = 44100, clock_ppm: float = 0.0
) -> np.ndarray:
    """Record ``audio`` with a microphone ADC running at ``sr_out`` with a clock error.

    A clock that runs ``clock_ppm`` parts per million fast takes ``sr_out * (1 + ppm/1e6)`` samples
    per true second, so the stream is resampled by that exact ratio (band-limited: polyphase for
    the nominal ratio, FFT resampling for the ppm part).

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32]
        Sound pressure at the microphone, sampled at ``sr_in``.
    sr_in, sr_out : int
        Sample rates in Hz.
    clock_ppm : float
        Receiver clock error in ppm (-1000..1000); positive = receiver clock fast.

    Returns
    -------
    np.ndarray [shape=(round(n * sr_out * (1 + ppm/1e6) / sr_in),), dtype=float32]
        A sample at output index ``k`` is the input at time ``k / (sr_out * (1 + ppm/1e6))`` s.
    """
    if sr_in <= 0 or sr_out <= 0:
        raise ChainConfigError(f"sample rates must be positive, got {sr_in} -> {sr_out} Hz")
    if not -1000 <= clock_ppm <= 1000:
        raise ChainConfigError(f"clock_ppm={clock_ppm} is outside -1000..1000 ppm")
    x = np.asarray(audio, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    from math import gcd

    g = gcd(int(sr_in), int(sr_out))
    y = resample_poly(x, sr_out // g, sr_in // g) if sr_in != sr_out else x
    if clock_ppm:
        n_out = round(len(x) * sr_out * (1 + clock_ppm * 1e-6) / sr_in)
        # FFT resampling by the exact ratio; zero padding takes the circular wrap-around, and a
        # fast padded input length keeps pocketfft quick (lengths with large prime factors are
        # ~10x slower; the output length cannot also be chosen without changing the ratio)
        lp = next_fast_len(len(y) + min(len(y), 4096), real=True)
        yp = np.concatenate([y, np.zeros(lp - len(y))])
        y = resample(yp, round(lp * n_out / len(y)))[:n_out]
    return np.asarray(y, dtype=np.float32)


def quantise(audio: np.ndarray, bits: int = 16) -> np.ndarray:
    """Round to a ``bits``-bit integer grid and clip at full scale, like an ADC.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Values ``k / 2**(bits-1)`` for integers ``k`` in ``[-2**(bits-1), 2**(bits-1) - 1]``.
    """
    if not 2 <= bits <= 24:
        raise ChainConfigError(f"bits={bits} is outside 2-24")
    full = float(2 ** (bits - 1))
    x = np.asarray(audio, dtype=np.float64)
    q = np.clip(np.round(x * full), -full, full - 1) / full
    return q.astype(np.float32)


def agc(
    audio: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    range_db: float = 20.0,
    change_s: float = 1.5,
    target_dbfs: float | None = None,
) -> np.ndarray:
    """AGC-like level changes: a slowly wandering gain, optionally normalising to a target level.

    The gain in dB is a random piecewise-linear curve with knots every ``change_s`` seconds,
    uniformly within ``+-range_db/2``; with ``target_dbfs`` the whole signal is first scaled so its
    RMS is at that level (a phone's AGC pulls quiet rooms up).

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32]
    sr : int
        Sample rate in Hz.
    rng : np.random.Generator
    range_db : float
        Peak-to-peak gain range, dB (0-60).
    change_s : float
        Seconds between gain knots (> 0).
    target_dbfs : float or None
        Overall RMS target, dBFS.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    if not 0 <= range_db <= 60:
        raise ChainConfigError(f"AGC range_db={range_db} dB is outside 0-60")
    if change_s <= 0:
        raise ChainConfigError(f"AGC change_s={change_s} s must be > 0")
    x = np.asarray(audio, dtype=np.float64)
    n = len(x)
    if n == 0:
        return x.astype(np.float32)
    if target_dbfs is not None:
        rms = float(np.sqrt(np.mean(x * x)))
        if rms > 0:
            x = x * (10 ** (target_dbfs / 20) / rms)
    step = max(1, int(change_s * sr))
    knots_t = np.arange(0, n + step, step)
    knots_db = rng.uniform(-range_db / 2, range_db / 2, size=len(knots_t))
    gain_db = np.interp(np.arange(n), knots_t, knots_db)
    return (x * 10 ** (gain_db / 20)).astype(np.float32)
