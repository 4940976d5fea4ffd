"""The outgoing programme: delay line, and when each caption's trigger airs (first and repeats).

Runs on the real-time path (:meth:`AiringScheduler.due` is called once per output block, before
the block is mixed): no waiting and no I/O. Trigger requests come from the recognition thread
through a :class:`queue.SimpleQueue`, the only thing the two threads share here.

Placement: in live mode a trigger airs as soon as the mixer can; in synchronous mode (a programme
delay) at the caption's start in the delayed programme minus the lead (one airtime plus decode
time, so the viewer sees the caption as its speech airs), or late with a warning when recognition
took longer than the delay. A new caption's trigger stops the repeats of the one before it (it
replaces it on screen); each caption repeats every ``repeat_interval_s`` for ``caption_hold_s``.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from broadcaster.records import Airing, CaptionBook
from jimaku import events as jev

__all__ = ["AiringScheduler", "DelayLine", "Repeat", "TriggerRequest"]


class DelayLine:
    """Delay a multichannel stream by a fixed number of samples (zeros come out first).

    Parameters
    ----------
    delay_samples : int
        Delay (samples at the programme rate).
    channels : int
        Number of audio channels.
    """

    def __init__(self, delay_samples: int, channels: int) -> None:
        self.delay_samples = delay_samples
        self._buf = np.zeros((delay_samples, channels), np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Push *block* (shape (n, channels)) in, return the block that comes out."""
        if self.delay_samples == 0:
            return block
        joined = np.concatenate([self._buf, block])
        out, self._buf = joined[: len(block)], joined[len(block) :]
        return out


@dataclass(frozen=True)
class TriggerRequest:
    """Air ``seq``'s trigger for a caption whose speech starts at ``start_s`` (input seconds)."""

    seq: int
    start_s: float


@dataclass
class Repeat:
    """The repeats still owed for one caption (programme-out sample positions).

    Attributes
    ----------
    seq : int
    next_at : int
        Output sample where the next repeat is due.
    until : int
        No repeat starts at or after this output sample (first airing + hold).
    count : int
        The repeat number the next one gets (the first airing is 0).
    """

    seq: int
    next_at: int
    until: int
    count: int = 1


class AiringScheduler:
    """Turn trigger requests into mixer schedules; repeat the caption on screen.

    Parameters
    ----------
    mixer : trigger_codec.TriggerMixer
        The programme's mixer (its ``position`` is the next output sample).
    channel : int
        The channel ID every trigger carries.
    sample_rate_hz : int
        Programme sample rate.
    delay_samples : int
        The programme delay (samples); 0 in live mode.
    lead_s : float
        Synchronous mode: a trigger starts this long before its caption's speech airs (s).
    repeat_interval_s, caption_hold_s : float
        Repeat spacing and how long a caption keeps repeating (s).
    book : CaptionBook
        Where airings are recorded.
    emit : callable
        Receives :class:`jimaku.events.Airing` and late-trigger warnings.
    """

    def __init__(
        self,
        mixer: Any,
        *,
        channel: int,
        sample_rate_hz: int,
        delay_samples: int,
        lead_s: float,
        repeat_interval_s: float,
        caption_hold_s: float,
        book: CaptionBook,
        emit: Callable[[jev.BroadcastEventBase], None],
    ) -> None:
        self.mixer = mixer
        self.channel = channel
        self.sample_rate_hz = sample_rate_hz
        self.delay_samples = delay_samples
        self.lead_s = lead_s
        self.repeat_interval_s = repeat_interval_s
        self.caption_hold_s = caption_hold_s
        self.book = book
        self.emit = emit
        self._requests: queue.SimpleQueue[TriggerRequest] = queue.SimpleQueue()
        self._repeats: list[Repeat] = []

    def request(self, req: TriggerRequest) -> None:
        """Ask for a trigger (any thread); it is placed by the next :meth:`due`."""
        self._requests.put(req)

    @property
    def pending(self) -> bool:
        """Whether a request waits to be placed."""
        return not self._requests.empty()

    def due(self, n: int) -> None:
        """Schedule what is due before the next ``n`` output samples are mixed (audio path)."""
        pos = int(self.mixer.position)
        rate = self.sample_rate_hz
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                break
            at: int | None = None
            if self.delay_samples > 0:
                at = round((item.start_s - self.lead_s) * rate) + self.delay_samples
                if at < pos:
                    self.emit(
                        jev.Warning(
                            kind="late_trigger",
                            seq=item.seq,
                            late_s=round((pos - at) / rate, 3),
                            message="recognition took longer than --delay; the trigger airs late",
                        )
                    )
                    at = None
            start = int(self.mixer.schedule(self.channel, item.seq, at_sample=at))
            self._aired(item.seq, start, 0)
            # a new caption replaces older ones on screen: stop repeating them
            every = round(self.repeat_interval_s * rate)
            hold = round(self.caption_hold_s * rate)
            self._repeats = [Repeat(item.seq, start + every, start + hold)]
        for r in self._repeats:
            while r.next_at < pos + n and r.next_at < r.until:
                at_r = r.next_at if r.next_at >= pos else None
                start = int(self.mixer.schedule(self.channel, r.seq, at_sample=at_r))
                self._aired(r.seq, start, r.count)
                r.count += 1
                r.next_at += round(self.repeat_interval_s * rate)
        self._repeats = [r for r in self._repeats if r.next_at < r.until]

    def _aired(self, seq: int, sample: int, repeat: int) -> None:
        seconds = round(sample / self.sample_rate_hz, 4)
        self.book.aired(seq, Airing(sample, seconds))
        self.emit(jev.Airing(seq=seq, sample=sample, seconds=seconds, repeat=repeat))
