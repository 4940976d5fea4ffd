"""The tone plan shared by encoder and decoder: which DFT bin carries each symbol.

Symbol ``k`` of a trigger occupies samples ``[k*N, (k+1)*N)`` (``N`` = 20 ms) and is one tone
on a 50 Hz bin. The 3 preamble symbols use fixed, widely spread slots; data symbol ``i``
(value ``v`` in 0..31) uses slot ``(v + hop[i]) mod n_slots`` where ``hop`` steps by 13 slots
(650 Hz) per symbol, so the tone of the next symbol is usually far from the reverberant tail of
the previous one, and the symbols of one code byte land in different parts of the band
(frequency diversity against room notches).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trigger_codec.profiles import DATA_SYMBOLS, N_VALUES, PREAMBLE_SYMBOLS, Profile

__all__ = ["data_slots", "hop_offsets", "preamble_slots", "symbol_bins", "symbol_slots"]

_HOP_STEP = 13


def preamble_slots(profile: Profile) -> npt.NDArray[np.int64]:
    """Slots (0..n_slots-1) of the preamble's tones: spread over the band, all distinct."""
    n = profile.n_slots
    return np.array([1, n - 2, n // 2, n // 2 + 7][:PREAMBLE_SYMBOLS], dtype=np.int64)


def hop_offsets(profile: Profile) -> npt.NDArray[np.int64]:
    """Per data symbol slot offset, shape (20,)."""
    return (np.arange(DATA_SYMBOLS, dtype=np.int64) * _HOP_STEP) % profile.n_slots


def data_slots(profile: Profile) -> npt.NDArray[np.int64]:
    """Slot of value ``v`` in data symbol ``i``: array shape (20, 32)."""
    v = np.arange(N_VALUES, dtype=np.int64)
    return (v[None, :] + hop_offsets(profile)[:, None]) % profile.n_slots


def symbol_slots(profile: Profile, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Slots of all 23 symbols of a trigger whose 20 data values are ``values``."""
    ds = data_slots(profile)[np.arange(DATA_SYMBOLS), values]
    return np.concatenate([preamble_slots(profile), ds])


def symbol_bins(profile: Profile, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """DFT bins (x 50 Hz) of all 23 symbols."""
    return profile.first_bin + symbol_slots(profile, values)
