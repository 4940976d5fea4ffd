"""The sync rule: which candidate start frames are worth decoding.

For every candidate start frame ``j`` the preamble (sync) metric is the mean over the 3 preamble
symbols (frames ``j + 2k``) of the share ``S = E[tone] / sum(E)`` of the known tone in its frame
(:mod:`trigger_codec.frontend`). Random noise gives ~1/n_slots (0.02); a clean trigger 0.5-0.9.

A candidate passes the rule if

1. its metric is >= :data:`SYNC_MEAN`, or
2. its metric is >= :data:`SYNC_LOW`, it is the largest within +-:data:`PEAK_HOPS` frames, and
   its data frames hold concentrated tones (:func:`data_share` >= :data:`SYNC_DATA`): one
   preamble tone notched by the room.

The same function (:func:`passes`) decides steps 1-2 both when the decoder schedules an early
analysis batch for a hit (its data frames are not in yet, so the data-share test of step 2
waits) and when it decides which candidates to decode.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trigger_codec.grid import Band, Grid
from trigger_codec.profiles import DATA_SYMBOLS, PREAMBLE_SYMBOLS

__all__ = [
    "PEAK_HOPS",
    "SYNC_DATA",
    "SYNC_LOW",
    "SYNC_MEAN",
    "data_share",
    "local_max",
    "passes",
    "sync_metric",
    "window",
]

Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

#: step 1: preamble metric at least this
SYNC_MEAN = 0.10
#: step 2: a candidate below SYNC_MEAN down to SYNC_LOW (a room notch on one preamble tone) ...
SYNC_LOW = 0.06
#: ... whose data frames' concentration (:func:`data_share`) is at least this (noise: ~0.09;
#: channel-bench triggers at 0 dB: >= 0.114)
SYNC_DATA = 0.12
#: step 2's local maximum: the largest within this many frames (hops) either side
PEAK_HOPS = 2

#: frames of the data symbols relative to the candidate's first frame
_DATA_ROWS = 2 * (PREAMBLE_SYMBOLS + np.arange(DATA_SYMBOLS))


def sync_metric(grid: Grid, pre_cols: npt.NDArray[np.int64], f0: int, f1: int) -> Float:
    """Return the preamble metric of candidate frames ``f0 .. f1 - 1``, shape (f1 - f0, bands).

    ``pre_cols`` (shape (3, bands)): each band's preamble columns. The candidates' last preamble
    frames must be in the grid. One take() per symbol from a row slice.
    """
    S = grid.S
    lo, hi = grid.row(f0), grid.row(f1)
    acc: Float = S[lo:hi].take(pre_cols[0], axis=1)
    acc += S[lo + 2 : hi + 2].take(pre_cols[1], axis=1)
    for k in range(2, PREAMBLE_SYMBOLS):  # (x0 + x1) + x2: the order np.mean sums in
        acc += S[lo + 2 * k : hi + 2 * k].take(pre_cols[k], axis=1)
    acc /= PREAMBLE_SYMBOLS
    return acc


def window(grid: Grid, f0: int, f1: int) -> Float:
    """Return the sync metric ``Y`` of frames ``f0 - PEAK_HOPS .. f1 + PEAK_HOPS - 1``.

    Frames before the grid's first (the stream's start) count as no sync (0).
    """
    lo, hi = grid.row(f0) - PEAK_HOPS, grid.row(f1) + PEAK_HOPS
    ext = grid.Y[max(lo, 0) : hi]
    if lo < 0:
        ext = np.concatenate([np.zeros((-lo, grid.Y.shape[1])), ext])
    return ext


def local_max(ext: Float) -> Bool:
    """Whether each row of ``ext[PEAK_HOPS:-PEAK_HOPS]`` is the largest within +-PEAK_HOPS rows."""
    c = ext.shape[0] - 2 * PEAK_HOPS
    peak = np.maximum.reduce([ext[j : j + c] for j in range(2 * PEAK_HOPS + 1)])
    return np.asarray(ext[PEAK_HOPS : PEAK_HOPS + c] >= peak)


def passes(ext: Float) -> tuple[Bool, Bool]:
    """Apply steps 1 and 2 (without the data share) to the middle rows of ``ext``.

    ``ext``: a :func:`window`. Returns ``(step1, step2)`` masks, shape ``(rows - 2 PEAK_HOPS,
    bands)``; ``step2`` still needs :func:`data_share` >= SYNC_DATA.
    """
    sm = ext[PEAK_HOPS:-PEAK_HOPS]
    step1 = sm >= SYNC_MEAN
    low = (sm >= SYNC_LOW) & ~step1
    if low.any():  # rare: a few per minute of noise
        low &= local_max(ext)
    return step1, low


def data_share(grid: Grid, band: Band, frame: int) -> float:
    """Mean over the 20 data symbols of the largest share among the symbol's 32 candidate tones.

    For the candidate starting at absolute ``frame`` (step 2 of the rule).
    """
    rows = grid.row(frame) + _DATA_ROWS
    return float(grid.S[rows[:, None], band.data].max(axis=1).mean())
