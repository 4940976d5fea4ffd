"""Named signal profiles (the tone plan of each trigger band) and their airtime.

Both profiles share one frame grid: a frame is 20 ms (``sample_rate / 50`` samples: 882 at
44.1 kHz, 960 at 48 kHz), so DFT bins are exactly 50 Hz apart at both rates and every tone sits
on a bin centre. One symbol lasts one frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from trigger_codec.errors import ParameterError

__all__ = [
    "BIN_HZ",
    "BITS_PER_SYMBOL",
    "DATA_SYMBOLS",
    "EDGE_HZ",
    "FILTER_S",
    "FRAME_S",
    "N_SYMBOLS",
    "N_VALUES",
    "PREAMBLE_SYMBOLS",
    "PROFILES",
    "Profile",
    "airtime_s",
    "check_rate",
    "frame_length",
    "get_profile",
]

#: symbol / analysis frame duration, s (bins 50 Hz apart at 44.1 and 48 kHz)
FRAME_S = 0.020
#: DFT bin spacing of the frame grid, Hz
BIN_HZ = 50
#: band kept free between the band edge and the outermost tone (filter transition), Hz
EDGE_HZ = 200.0
#: known tones that open every trigger (sync)
PREAMBLE_SYMBOLS = 3
#: 100 convolutional code bits (48 message bits, rate 0.48) sent as 20 symbols of 5 bits (32-FSK)
BITS_PER_SYMBOL = 5
N_VALUES = 1 << BITS_PER_SYMBOL
DATA_SYMBOLS = 20
N_SYMBOLS = PREAMBLE_SYMBOLS + DATA_SYMBOLS
#: length of the encoder's linear-phase band-pass FIR, s (sets the 200 Hz transition width)
FILTER_S = 0.020


@dataclass(frozen=True)
class Profile:
    """One trigger band.

    Parameters
    ----------
    name : str
        ``"hf"`` or ``"robust"``.
    f_lo_hz, f_hi_hz : float
        The band all trigger energy stays in (out-of-band >= 50 dB down).
    first_bin : int
        Bin (x 50 Hz) of the lowest tone; the ``n_slots`` tones are ``first_bin ...
        first_bin + n_slots - 1``.
    n_slots : int
        Number of tone positions a symbol may hop over (32 values + hopping room).
    peak_dbfs : float
        Peak level of :func:`trigger_codec.encode`'s output, dBFS.
    masking : bool
        True if the mixer sets the level from the programme's level in the band.
    """

    name: str
    f_lo_hz: float
    f_hi_hz: float
    first_bin: int
    n_slots: int
    peak_dbfs: float
    masking: bool

    def __post_init__(self) -> None:
        if self.n_slots < N_VALUES + 4:
            raise ParameterError(
                f"profile {self.name!r}: n_slots={self.n_slots} must be >= {N_VALUES + 4}"
            )
        lo = self.first_bin * BIN_HZ - EDGE_HZ
        hi = self.last_bin * BIN_HZ + EDGE_HZ
        if lo < self.f_lo_hz or hi > self.f_hi_hz:
            raise ParameterError(
                f"profile {self.name!r}: tones {lo:.0f}-{hi:.0f} Hz (with the filter margin) "
                f"leave the band {self.f_lo_hz:.0f}-{self.f_hi_hz:.0f} Hz"
            )

    @property
    def last_bin(self) -> int:
        """Bin of the highest tone."""
        return self.first_bin + self.n_slots - 1


PROFILES: dict[str, Profile] = {
    # 43 tones 17.2-19.3 kHz, 200 Hz kept free at each band edge for the filter transition.
    "hf": Profile("hf", 17000.0, 19500.0, 344, 43, -20.0, False),
    # 49 tones 12.8-15.2 kHz, below FDK-AAC's ~15.5 kHz and FM's 15 kHz low-pass.
    "robust": Profile("robust", 12500.0, 15500.0, 256, 49, -20.0, True),
}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise :class:`ParameterError`."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown profile {name!r}; use one of {sorted(PROFILES)}") from None


def airtime_s(profile: str = "hf") -> float:
    """Duration of one trigger, s (symbols plus the band-pass filter's tails).

    Parameters
    ----------
    profile : str
        ``"hf"`` or ``"robust"`` (both have the same airtime).

    Returns
    -------
    float
        Seconds from the first to the last non-zero sample of :func:`encode`'s output.
    """
    get_profile(profile)
    return round(N_SYMBOLS * FRAME_S + FILTER_S, 6)


def frame_length(sample_rate: int) -> int:
    """Return samples per 20 ms frame; :class:`ParameterError` unless rate % 50 == 0."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | float):
        raise ParameterError(f"sample_rate must be a number in Hz, got {sample_rate!r}")
    if sample_rate != int(sample_rate) or int(sample_rate) % BIN_HZ or sample_rate <= 0:
        raise ParameterError(
            f"sample rate {sample_rate!r} Hz is not supported: it must be a positive multiple of "
            f"{BIN_HZ} Hz so tones sit on DFT bins; use 44100 or 48000 Hz"
        )
    return int(sample_rate) // BIN_HZ


def check_rate(sample_rate: int, profile: Profile) -> int:
    """Validate ``sample_rate`` for ``profile``; return the frame length in samples."""
    n = frame_length(sample_rate)
    if sample_rate / 2 <= profile.f_hi_hz:
        raise ParameterError(
            f"sample rate {sample_rate} Hz is too low for the {profile.name!r} trigger band "
            f"{profile.f_lo_hz / 1000:g}-{profile.f_hi_hz / 1000:g} kHz (Nyquist "
            f"{sample_rate / 2000:g} kHz); record at 44100 or 48000 Hz"
        )
    return n
