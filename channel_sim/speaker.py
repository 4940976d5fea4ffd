"""TV-speaker roll-off: the small loudspeaker of a flat TV or a phone speaker.

Modelled as a 2nd-order Butterworth high-pass (no bass from a small driver) followed by a
1st-order low-pass (the gentle treble roll-off of a small full-range driver behind a grille) and
an optional steep cut above ``cutoff_hz`` (cheap class-D amplifier filters).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from channel_sim.errors import ChainConfigError

__all__ = ["speaker_rolloff"]


def speaker_rolloff(
    audio: np.ndarray,
    sr: int,
    highpass_hz: float = 180.0,
    rolloff_hz: float = 14000.0,
    cutoff_hz: float | None = None,
) -> np.ndarray:
    """Filter ``audio`` like a small TV loudspeaker.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32]
        Signal fed to the speaker.
    sr : int
        Sample rate in Hz.
    highpass_hz : float
        Corner of the 12 dB/octave bass cut, Hz.
    rolloff_hz : float
        Corner of the 6 dB/octave treble roll-off, Hz (14 kHz: -3.7 dB at 15 kHz,
        -6.5 dB at 18 kHz, -8.7 dB at 19.5 kHz at 48 kHz; bilinear warping makes it steeper
        near Nyquist).
    cutoff_hz : float or None
        If set, an 8th-order Butterworth low-pass at this frequency, Hz.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        The radiated sound (on-axis), same length.
    """
    nyq = sr / 2
    for name, f in (
        ("highpass_hz", highpass_hz),
        ("rolloff_hz", rolloff_hz),
        ("cutoff_hz", cutoff_hz),
    ):
        if f is not None and not 0 < f < nyq:
            raise ChainConfigError(
                f"speaker {name}={f} Hz must be between 0 and Nyquist ({nyq} Hz)"
            )
    x = np.asarray(audio, dtype=np.float64)
    y = sosfilt(butter(2, highpass_hz, btype="highpass", fs=sr, output="sos"), x)
    y = sosfilt(butter(1, rolloff_hz, btype="lowpass", fs=sr, output="sos"), y)
    if cutoff_hz is not None:
        y = sosfilt(butter(8, cutoff_hz, btype="lowpass", fs=sr, output="sos"), y)
    return np.asarray(y, dtype=np.float32)
