"""The band grid: analysed frames of every listened-for profile, indexed by absolute frame.

Frame ``j`` starts at absolute sample ``j * N // 2`` (``N`` = 20 ms of samples, hop ``N / 2``):
frame numbers never depend on how the stream was split into blocks. Every stage after the front
end speaks in these frame numbers; only :class:`Grid` turns them into rows of its arrays.

Columns: the tone slots of each profile side by side (hf's 43, then robust's 49 at 44.1/48 kHz);
:class:`Band` says where a profile's columns are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trigger_codec.errors import ParameterError
from trigger_codec.modem import data_slots, preamble_slots
from trigger_codec.profiles import N_SYMBOLS, PREAMBLE_SYMBOLS, PROFILES, Profile

__all__ = ["HISTORY", "PRE_SPAN", "SPAN", "Band", "Grid", "make_bands"]

Float = npt.NDArray[np.float64]

#: frames from a candidate's first preamble frame to its last symbol frame, plus one
SPAN = 2 * (N_SYMBOLS - 1) + 1
#: frames from a candidate's first preamble frame to its last (the sync metric's reach)
PRE_SPAN = 2 * (PREAMBLE_SYMBOLS - 1)
#: frames between the earliest candidate a rival check looks at and the candidate checked
RIVAL_REACH = 40
#: frames of history kept: one full trigger (2 frames per symbol) plus margin, plus the
#: candidates up to RIVAL_REACH hops before the earliest one still to be decoded
HISTORY = SPAN + 8 + RIVAL_REACH


@dataclass(frozen=True)
class Band:
    """One listened-for profile's place in the grid.

    Attributes
    ----------
    profile : Profile
    index : int
        Position among the decoder's bands (its column in the sync metric ``Y``).
    offset : int
        First grid column of the band (its slot 0).
    pre : np.ndarray [shape=(3,), dtype=int64]
        Grid columns of the preamble tones.
    data : np.ndarray [shape=(20, 32), dtype=int64]
        Grid column of value ``v`` in data symbol ``i``.
    """

    profile: Profile
    index: int
    offset: int
    pre: npt.NDArray[np.int64]
    data: npt.NDArray[np.int64]

    @property
    def name(self) -> str:
        """The profile's name."""
        return self.profile.name

    @property
    def cols(self) -> slice:
        """The band's grid columns."""
        return slice(self.offset, self.offset + self.profile.n_slots)


def make_bands(sample_rate: int) -> list[Band]:
    """Return the bands of every profile that fits below Nyquist at ``sample_rate`` Hz.

    Raises :class:`ParameterError` if none fits.
    """
    fitting = [p for p in PROFILES.values() if sample_rate / 2 > p.f_hi_hz]
    if not fitting:
        raise ParameterError(
            f"sample rate {sample_rate} Hz is too low for every trigger profile (the lowest "
            f"band ends at {min(p.f_hi_hz for p in PROFILES.values()) / 1000:g} kHz); "
            "record at 44100 or 48000 Hz"
        )
    bands: list[Band] = []
    off = 0
    for p in fitting:
        bands.append(Band(p, len(bands), off, preamble_slots(p) + off, data_slots(p) + off))
        off += p.n_slots
    return bands


class Grid:
    """The last frames' powers ``P``, floors ``F``, shares ``S`` and sync metric ``Y``.

    Row ``r`` of each array is absolute frame ``first + r``; rows ``[0, rows)`` are valid.
    ``P``, ``F``, ``S``: shape (capacity, columns); ``Y``: (capacity, bands), the sync metric
    of the candidate starting at that frame, valid up to frame ``end - 1 - PRE_SPAN`` (its last
    preamble frame must be in).

    Parameters
    ----------
    columns, bands : int
        Grid columns (all bands' tone slots) and number of bands.
    capacity : int
        Rows allocated (the decoder: ``HISTORY`` + one analysis chunk + 1).
    """

    def __init__(self, columns: int, bands: int, capacity: int) -> None:
        self.P = np.zeros((capacity, columns))
        self.F = np.zeros((capacity, columns))
        self.S = np.zeros((capacity, columns))
        self.Y = np.zeros((capacity, bands))
        self.first = 0
        self.rows = 0

    @classmethod
    def of_stream(cls, power: Float, floor: Float, share: Float, bands: int) -> Grid:
        """Return a grid holding a whole stream from frame 0 (offline analysis; ``Y`` zero).

        The arrays are used as given (C-contiguous float64, shape (frames, columns)).
        """
        g = cls.__new__(cls)
        g.P, g.F, g.S = power, floor, share
        g.Y = np.zeros((power.shape[0], bands))
        g.first = 0
        g.rows = power.shape[0]
        return g

    @property
    def end(self) -> int:
        """Absolute frame after the last valid row (the next frame to analyse)."""
        return self.first + self.rows

    def row(self, frame: int) -> int:
        """Row of absolute ``frame``."""
        return frame - self.first

    def make_room(self, k: int) -> None:
        """Ensure ``k`` more rows (and the floor row after them) fit: keep the last HISTORY."""
        if self.rows + k + 1 > self.P.shape[0]:
            keep = HISTORY
            for a in (self.S, self.P, self.F, self.Y):
                a[:keep] = a[self.rows - keep : self.rows]
            self.first += self.rows - keep
            self.rows = keep
