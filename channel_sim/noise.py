"""Ambient noise (white, pink, babble) and the in-band SNR used everywhere in channel_sim.

In-band SNR (the definition the bench and the tests use)
--------------------------------------------------------
``snr_db = 10 log10(P_trigger / P_noise)`` where both powers are measured **after** a band-pass
(8th-order Butterworth, zero phase) over the trigger's band ``[f_lo, f_hi]``:

* ``P_trigger``: mean square of the band-passed *trigger-only* signal (the reference, taken through
  the same stages as the programme up to the noise stage) over the samples where the reference is
  active: from the first to the last sample whose band-passed envelope exceeds -30 dB of its peak.
  When a reference holds several triggers, P_trigger is the mean over all active spans.
* ``P_noise``: mean square of the band-passed noise over its whole length.
* ``[f_lo, f_hi]``: given explicitly, or else taken from the reference itself as the 0.5 % and
  99.5 % quantiles of its cumulative power spectrum (so it adapts to the profile: ~17-19.5 kHz for
  ``hf``, ~12.5-15.5 kHz for ``robust``, ggwave's tone band for ggwave).

The programme's own energy in the band is not counted as noise: it is part of the programme.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.fft import next_fast_len
from scipy.signal import lfilter

from channel_sim.errors import ChainConfigError

__all__ = [
    "NOISE_KINDS",
    "active_mask",
    "babble_noise",
    "band_power",
    "make_noise",
    "occupied_band",
    "pink_noise",
    "white_noise",
]

NOISE_KINDS = ("white", "pink", "babble")


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise, unit variance.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    return rng.standard_normal(n).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise, unit variance, by Kellet's IIR filter on white noise.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    # Paul Kellet's economy 1/f filter approximated by a 3-pole/3-zero IIR (+-0.5 dB above 10 Hz)
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    warm = 2000
    y = lfilter(b, a, rng.standard_normal(n + warm))[warm:]
    y /= max(float(np.std(y)), 1e-12)
    return np.asarray(y, dtype=np.float32)


def babble_noise(
    n: int, sr: int, rng: np.random.Generator, talkers: int = 6, speech: np.ndarray | None = None
) -> np.ndarray:
    """Babble: several overlapping talkers, unit variance.

    Parameters
    ----------
    n : int
        Length in samples.
    sr : int
        Sample rate in Hz.
    rng : np.random.Generator
        Randomness (talker offsets, gains).
    talkers : int
        Number of overlapping voices.
    speech : np.ndarray [shape=(m,), dtype=float32] or None
        Speech material to cut the talkers from (e.g. espeak-ng output); if None, speech-like
        noise is synthesised (voiced buzz through moving formant filters, syllable-rate envelope).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    out = np.zeros(n, dtype=np.float64)
    for _ in range(talkers):
        if speech is not None and len(speech) > 0:
            src = np.asarray(speech, dtype=np.float64)
            reps = int(np.ceil((n + len(src)) / len(src)))
            long = np.tile(src, reps)
            start = int(rng.integers(0, len(src)))
            voice = long[start : start + n]
        else:
            pool = _speechlike_pool(sr)
            start = int(rng.integers(0, len(pool)))
            idx = (start + np.arange(n)) % len(pool)
            voice = pool[idx].astype(np.float64)
        voice = voice / max(float(np.std(voice)), 1e-12)
        out += voice * rng.uniform(0.5, 1.0)
    out /= max(float(np.std(out)), 1e-12)
    return out.astype(np.float32)


@lru_cache(maxsize=4)
def _speechlike_pool(sr: int) -> np.ndarray:
    # 20 s of speech-like material per sample rate; synthesis is slow, so talkers are cut from
    # this pool at random offsets

    from channel_sim.programme import synth_speechlike

    out = synth_speechlike(20.0, sr, np.random.default_rng(7))
    out.setflags(write=False)
    return out


def make_noise(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Noise of a named kind (``white``, ``pink`` or ``babble``), unit variance.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    if kind == "white":
        return white_noise(n, rng)
    if kind == "pink":
        return pink_noise(n, rng)
    if kind == "babble":
        return babble_noise(n, sr, rng)
    raise ChainConfigError(f"unknown noise kind {kind!r}; use one of {NOISE_KINDS}")


def _bandpass(x: np.ndarray, sr: int, band_hz: tuple[float, float]) -> np.ndarray:
    lo, hi = band_hz
    if not 0 < lo < hi < sr / 2:
        raise ChainConfigError(
            f"band {lo}-{hi} Hz is not inside 0-{sr / 2} Hz (Nyquist at {sr} Hz); pick a band "
            "below Nyquist"
        )
    # brick-wall band-pass in the frequency domain: exactly the band the SNR is defined over
    # (a Butterworth's skirts would count out-of-band noise for narrow bands)
    # (zero-padded to a fast FFT length: pocketfft on a length with a large prime factor is
    # ~50x slower)
    xx = np.asarray(x, dtype=np.float64)
    nfft = next_fast_len(len(xx), real=True)
    spec = np.fft.rfft(xx, nfft)
    freqs = np.fft.rfftfreq(nfft, 1 / sr)
    spec[(freqs < lo) | (freqs > hi)] = 0
    return np.fft.irfft(spec, nfft)[: len(xx)]


def active_mask(reference: np.ndarray, sr: int, band_hz: tuple[float, float]) -> np.ndarray:
    """Mark the samples where the band-passed reference is within 30 dB of its peak envelope.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=bool]
    """
    y = _bandpass(reference, sr, band_hz)
    win = max(1, int(0.005 * sr))
    env = np.sqrt(np.convolve(y * y, np.ones(win) / win, mode="same"))
    peak = float(np.max(env)) if len(env) else 0.0
    if peak <= 0:
        return np.zeros(len(y), dtype=bool)
    return np.asarray(env > peak * 10 ** (-30 / 20))


def band_power(
    x: np.ndarray, sr: int, band_hz: tuple[float, float], mask: np.ndarray | None = None
) -> float:
    """Mean square of ``x`` band-passed to ``band_hz`` (over ``mask`` if given).

    Returns
    -------
    float
        Power in full-scale units squared.
    """
    y = _bandpass(x, sr, band_hz)
    if mask is not None:
        y = y[mask]
    return float(np.mean(y * y)) if len(y) else 0.0


def occupied_band(reference: np.ndarray, sr: int) -> tuple[float, float]:
    """Find the band holding 99 % of the reference's power (0.5 % / 99.5 % spectral quantiles).

    Returns
    -------
    tuple of 2 floats
        ``(f_lo, f_hi)`` in Hz.
    """
    x = np.asarray(reference, dtype=np.float64)
    if not np.any(x):
        raise ChainConfigError("the reference signal is all zeros; pass the trigger-only signal")
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    c = np.cumsum(spec) / np.sum(spec)
    lo = float(freqs[int(np.searchsorted(c, 0.005))])
    hi = float(freqs[min(int(np.searchsorted(c, 0.995)), len(freqs) - 1)])
    lo = max(lo, 20.0)
    hi = min(max(hi, lo + 100.0), sr / 2 * 0.999)
    return lo, hi
