"""Acceptance: what a decoded word must pass, and which candidates are not decoded at all.

A word is accepted if its CRC-16 matches and its re-encoding check reaches ``z >= MIN_Z``
(:func:`trigger_codec.framing.decode_soft`, bound in :mod:`trigger_codec.bound`). That bound
assumes noise-like energies; the balance rule keeps the decoder out of candidates where they are
far from it: a candidate whose 23 symbol frames hold almost nothing in the upper half of the band
(a band whose top a codec cut: hf through AAC 128k) is not decoded. There the few live bins pass
the sync in every frame and the check terms of the dead bins' codec noise are heavy-tailed (2
false triggers in the channel bench's 10 h without this rule, README). A trigger's tones hop over
the whole band: channel-bench triggers at -3 to 0 dB 0.47-1.9; music through AAC 128k: median
0.015, max 0.15.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trigger_codec.framing import MIN_Z
from trigger_codec.frontend import TINY
from trigger_codec.grid import Band, Grid
from trigger_codec.profiles import N_SYMBOLS

__all__ = ["MIN_BALANCE", "MIN_Z", "balance", "balanced"]

#: candidates whose upper half of the band holds less than this fraction of the lower half's
#: power are not decoded
MIN_BALANCE = 0.25

_SYM_ROWS = 2 * np.arange(N_SYMBOLS)


def balance(grid: Grid, b: Band, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Upper half of the band's power over the lower half's, per candidate start frame.

    Summed over each candidate's 23 symbol frames; ``frames``: absolute, shape (c,).
    """
    n = b.profile.n_slots
    rows = np.asarray(frames) - grid.first
    P = grid.P[:, b.cols].take(rows[:, None] + _SYM_ROWS[None, :], axis=0)
    power = P.sum(axis=1)
    upper = power[:, n // 2 :].sum(axis=1)
    return np.asarray(upper / (power[:, : n // 2].sum(axis=1) + TINY), dtype=np.float64)


def balanced(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Whether candidates of these :func:`balance` values may be decoded."""
    return np.asarray(values >= MIN_BALANCE)
