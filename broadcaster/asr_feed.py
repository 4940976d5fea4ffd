"""Programme blocks to the recogniser: mono 16 kHz int16 in fixed chunks, and the clock between.

Runs in the recognition thread. :meth:`AsrFeed.push` yields the recogniser's events after each
chunk, so whoever handles them sees the feed exactly as it was when they came out (the input
position, the recent audio for the onset search).

Two clocks: *recogniser time* (seconds of audio the recogniser was given) and *input time*
(seconds of programme taken in). They differ by the blocks dropped when recognition fell behind
(:class:`Gap`); word times are mapped back with :meth:`AsrFeed.to_programme_s`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from broadcaster.asr import Final, Partial, Recognizer
from broadcaster.onset import find_onset
from broadcaster.resample import StreamResampler, float_to_int16

__all__ = ["ASR_CHUNK", "ASR_RATE_HZ", "AsrFeed", "Gap", "RecentAudio"]

#: Sample rate the vosk models are trained at.
ASR_RATE_HZ = 16000
#: The recogniser is fed fixed chunks of 0.1 s: vosk's output depends on where chunks end (and on
#: PartialResult calls between them), so fixed chunks make results independent of the input's
#: block size and rate, and equal to a plain streaming vosk client using the same chunk.
ASR_CHUNK = 1600
#: Recent recogniser input kept for the onset refinement (s).
RECENT_S = 4.0

Events = list[Partial | Final]


@dataclass(frozen=True)
class Gap:
    """Programme audio the recogniser never got (its block was dropped).

    Attributes
    ----------
    at_s : float
        Recogniser time where the gap is (s).
    length_s : float
        Programme seconds missing there.
    """

    at_s: float
    length_s: float


@dataclass
class RecentAudio:
    """The last :data:`RECENT_S` of recogniser input (16 kHz int16), for the onset search.

    ``start`` is the recogniser sample index of ``pcm[0]``.
    """

    pcm: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    start: int = 0

    def add(self, chunk: np.ndarray) -> None:
        """Append a chunk and forget what is older than :data:`RECENT_S`."""
        keep = round(RECENT_S * ASR_RATE_HZ)
        self.pcm = np.concatenate([self.pcm, chunk])
        if len(self.pcm) > keep:
            self.start += len(self.pcm) - keep
            self.pcm = self.pcm[-keep:]


class AsrFeed:
    """Feed programme blocks to a :class:`~broadcaster.asr.Recognizer`.

    Parameters
    ----------
    recognizer : Recognizer
        Takes 16 kHz int16 chunks.
    sample_rate_hz : int
        Programme sample rate (>= 16000).
    """

    def __init__(self, recognizer: Recognizer, sample_rate_hz: int) -> None:
        self.recognizer = recognizer
        self.sample_rate_hz = sample_rate_hz
        self.resampler = StreamResampler(sample_rate_hz, ASR_RATE_HZ)
        self.recent = RecentAudio()
        self.gaps: list[Gap] = []
        self._pcm_buf = np.zeros(0, np.int16)  # less than one chunk, waiting for more
        self._in_pos = 0  # programme sample index just after the last block taken

    def push(self, start: int, block: np.ndarray) -> Iterator[Events]:
        """Take the programme block that began at input sample ``start``; yield events per chunk.

        Parameters
        ----------
        start : int
            Input sample index of ``block[0]`` (a jump past the last block is a dropped block).
        block : np.ndarray [shape=(n, channels), dtype=float32], samples in [-1, 1]
        """
        if start > self._in_pos:
            fed = self.recognizer.samples_fed + len(self._pcm_buf)
            self.gaps.append(Gap(fed / ASR_RATE_HZ, (start - self._in_pos) / self.sample_rate_hz))
        self._in_pos = start + len(block)
        mono = block.astype(np.float64).mean(axis=1)
        yield from self._chunks(float_to_int16(self.resampler.process(mono)))

    def end(self) -> Iterator[Events]:
        """End of input: feed the resampler's tail and a last short chunk, then finish."""
        tail = float_to_int16(self.resampler.process(np.zeros(0), final=True))
        yield from self._chunks(tail, final=True)
        yield self.recognizer.finish()

    def _chunks(self, pcm: np.ndarray, final: bool = False) -> Iterator[Events]:
        buf = np.concatenate([self._pcm_buf, pcm]) if len(self._pcm_buf) else pcm
        n_full = len(buf) // ASR_CHUNK
        for i in range(n_full):
            chunk = buf[i * ASR_CHUNK : (i + 1) * ASR_CHUNK]
            self.recent.add(chunk)
            yield self.recognizer.accept(chunk)
        self._pcm_buf = buf[n_full * ASR_CHUNK :]
        if final and len(self._pcm_buf):
            self.recent.add(self._pcm_buf)
            yield self.recognizer.accept(self._pcm_buf)
            self._pcm_buf = self._pcm_buf[:0]

    def to_programme_s(self, t: float) -> float:
        """Map recogniser time ``t`` (s) to input time (adds the gaps of dropped blocks)."""
        return t + sum(g.length_s for g in self.gaps if g.at_s <= t)

    def input_pos_s(self) -> float:
        """Input (programme) position the recogniser has consumed, in seconds."""
        return self.to_programme_s(self.recognizer.samples_fed / ASR_RATE_HZ)

    def onset_s(self, not_before_s: float) -> float | None:
        """Return the speech onset in the recent audio (recogniser s), or None if it shows none.

        ``not_before_s`` (recogniser s): the end of the previous utterance's last word.
        """
        return find_onset(
            self.recent.pcm,
            self.recent.start / ASR_RATE_HZ,
            ASR_RATE_HZ,
            not_before_s=not_before_s,
        )
