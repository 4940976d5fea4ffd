"""Streaming rational resampling for the recogniser (programme rate -> model rate).

Wraps :func:`scipy.signal.resample_poly` so that feeding a signal in blocks of any size gives the
same samples as resampling the whole signal at once (up to float rounding): each call resamples a
window that starts on a sample where the input and output grids coincide and reaches far enough
back and ahead to cover the polyphase filter, and returns only output samples whose filter support
is complete. The latency this adds is the filter half-length, about 10 output samples.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import resample_poly

__all__ = ["StreamResampler", "float_to_int16"]


def float_to_int16(x: np.ndarray) -> np.ndarray:
    """Convert samples in [-1, 1] to int16 (``clip(round(x * 32768), -32768, 32767)``).

    The inverse of reading 16-bit PCM as ``k / 32768``, so 16-bit files reach vosk unchanged
    (vosk's text changes with the least significant bit).

    Parameters
    ----------
    x : np.ndarray [shape=(n,), dtype=float32 or float64]

    Returns
    -------
    np.ndarray [shape=(n,), dtype=int16]
    """
    y: np.ndarray = np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(
        np.int16
    )
    return y


class StreamResampler:
    """Resample a mono stream from ``rate_in_hz`` to ``rate_out_hz`` block by block.

    Parameters
    ----------
    rate_in_hz, rate_out_hz : int
        Input and output sample rates (Hz).
    """

    def __init__(self, rate_in_hz: int, rate_out_hz: int) -> None:
        g = math.gcd(rate_in_hz, rate_out_hz)
        self.up = rate_out_hz // g
        self.down = rate_in_hz // g
        # resample_poly's default filter has half-length 10*max(up, down) at the up-sampled rate.
        self.pad = math.ceil(10 * max(self.up, self.down) / self.up) + 2
        self._buf = np.zeros(0, np.float64)
        self._buf_start = 0
        self._next_out = 0

    def process(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        """Add input samples; return the output samples now complete.

        Parameters
        ----------
        x : np.ndarray [shape=(n,), dtype=float]
            Next input samples (mono).
        final : bool
            End of stream: return everything that is left.

        Returns
        -------
        np.ndarray [shape=(m,), dtype=float64]
        """
        if self.up == self.down:
            return np.asarray(x, np.float64)
        self._buf = np.concatenate([self._buf, np.asarray(x, np.float64)])
        end_in = self._buf_start + len(self._buf)
        if final:
            j_end = -(-end_in * self.up // self.down)
        else:
            j_end = max(0, ((end_in - self.pad) * self.up) // self.down + 1)
        if j_end <= self._next_out:
            return np.zeros(0, np.float64)
        a = self._window_start(self._next_out)
        y = resample_poly(self._buf[a - self._buf_start :], self.up, self.down)
        k0 = self._next_out - a * self.up // self.down
        out = y[k0 : k0 + (j_end - self._next_out)]
        self._next_out = j_end
        new_start = max(self._buf_start, self._window_start(self._next_out))
        self._buf = self._buf[new_start - self._buf_start :]
        self._buf_start = new_start
        return np.asarray(out, np.float64)

    def _window_start(self, j: int) -> int:
        # an input index that is a multiple of `down` (so a*up/down is an integer output index)
        # at least `pad` input samples before output sample j
        t = (j * self.down) // self.up - self.pad
        return max(0, (t // self.down) * self.down)
