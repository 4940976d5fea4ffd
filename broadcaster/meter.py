"""Input metering on the real-time path: level reports and clipping warnings.

Runs on the audio path: numpy reductions over the block and at most one event per report
interval, no I/O of its own (the ``emit`` callback must be cheap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jimaku import events as jev

__all__ = ["CLIP_LEVEL", "InputMeter", "MeterCounts"]

#: A sample at or above this magnitude counts as clipped (full scale is 1.0).
CLIP_LEVEL = 0.999
#: Programme seconds between two level reports.
LEVEL_EVERY_S = 0.5
#: Programme seconds between two clipping warnings.
CLIP_WARN_EVERY_S = 10.0


@dataclass
class MeterCounts:
    """What the meter has seen so far.

    Attributes
    ----------
    input_samples : int
        Programme samples (frames) taken in.
    clipped_samples : int
        Samples at or above :data:`CLIP_LEVEL`, all channels counted.
    last_level_at_s, last_clip_warn_at_s : float
        Programme time of the last level report / clipping warning (s).
    """

    input_samples: int = 0
    clipped_samples: int = 0
    last_level_at_s: float = -1.0
    last_clip_warn_at_s: float = -1e9


class InputMeter:
    """Count input samples, report the level twice a second, warn of clipping.

    Parameters
    ----------
    sample_rate_hz : int
        Programme sample rate.
    emit : callable
        Receives :class:`jimaku.events.Level` and clipping :class:`jimaku.events.Warning`.
    """

    def __init__(self, sample_rate_hz: int, emit: Callable[[jev.BroadcastEventBase], None]) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.emit = emit
        self.counts = MeterCounts()

    def measure(self, block: np.ndarray) -> None:
        """Meter one block.

        Parameters
        ----------
        block : np.ndarray [shape=(n, channels), dtype=float32], samples in [-1, 1]
        """
        c = self.counts
        t = c.input_samples / self.sample_rate_hz
        c.input_samples += len(block)
        clipped = int(np.count_nonzero(np.abs(block) >= CLIP_LEVEL))
        if clipped:
            c.clipped_samples += clipped
            if t - c.last_clip_warn_at_s >= CLIP_WARN_EVERY_S:
                c.last_clip_warn_at_s = t
                self.emit(
                    jev.Warning(
                        kind="clipping",
                        at_s=round(t, 3),
                        samples=clipped,
                        message="programme input is clipping; lower "
                        "the input gain (recognition and the trigger suffer)",
                    )
                )
        if t - c.last_level_at_s >= LEVEL_EVERY_S:
            c.last_level_at_s = t
            peak = float(np.max(np.abs(block))) if len(block) else 0.0
            rms = float(np.sqrt(np.mean(np.square(block)))) if len(block) else 0.0
            self.emit(
                jev.Level(
                    at_s=round(t, 3),
                    peak_dbfs=round(20 * np.log10(max(peak, 1e-6)), 1),
                    rms_dbfs=round(20 * np.log10(max(rms, 1e-6)), 1),
                )
            )
