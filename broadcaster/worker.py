"""The recognition thread (``jimaku-asr``) and the bounded queue the audio path hands blocks to.

The audio path only calls :meth:`RecognitionWorker.submit`: a copy into the queue, never waiting
(a full queue drops the block for recognition, counted and reported at most once a second; the
programme is unaffected). In lockstep mode (file input) ``submit`` waits for room and
:meth:`RecognitionWorker.wait_caught_up` waits until every block was recognised, so a file run
gives what a real-time run with an infinitely fast recogniser would.

A failure in the thread is kept in :attr:`RecognitionWorker.error` (reported once as an error
event) for the audio path to re-raise; the programme itself keeps running until it does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from broadcaster.asr_feed import AsrFeed
from broadcaster.captioner import Captioner
from broadcaster.errors import BroadcasterError, RecognizerError
from jimaku import events as jev

__all__ = ["Progress", "RecognitionWorker"]

#: At most one ``asr_overflow`` report in this many seconds (wall clock).
DROP_REPORT_EVERY_S = 1.0


@dataclass
class Progress:
    """Blocks handed to the thread and blocks it has finished, guarded by the worker's condition."""

    fed: int = 0
    done: int = 0


class RecognitionWorker:
    """Run :class:`~broadcaster.asr_feed.AsrFeed` and :class:`~broadcaster.captioner.Captioner`.

    Parameters
    ----------
    feed : AsrFeed
    captioner : Captioner
    queue_blocks : int
        Capacity of the hand-off queue (blocks).
    lockstep : bool
        File input: wait instead of dropping, and let the caller wait for recognition.
    emit : callable
        Receives overflow and recogniser error events.
    """

    def __init__(
        self,
        feed: AsrFeed,
        captioner: Captioner,
        *,
        queue_blocks: int,
        lockstep: bool,
        emit: Callable[[jev.BroadcastEventBase], None],
    ) -> None:
        self.feed = feed
        self.captioner = captioner
        self.lockstep = lockstep
        self.emit = emit
        self.error: BaseException | None = None
        self.dropped_blocks = 0
        self._q: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue(maxsize=queue_blocks)
        self._cond = threading.Condition()
        self._progress = Progress()
        self._last_drop_report = -1e9
        self._thread = threading.Thread(target=self._run, name="jimaku-asr", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(self, start: int, block: np.ndarray) -> None:
        """Hand a block (input sample ``start`` on) to recognition; audio path, never waits.

        Lockstep mode waits for room instead of dropping.
        """
        try:
            self._q.put((start, block.copy()), block=self.lockstep)
            with self._cond:
                self._progress.fed += 1
        except queue.Full:
            self.dropped_blocks += 1
            now = time.monotonic()
            if now - self._last_drop_report >= DROP_REPORT_EVERY_S:
                self._last_drop_report = now
                self.emit(
                    jev.Error(
                        kind="asr_overflow",
                        dropped_blocks=self.dropped_blocks,
                        message="speech recognition cannot keep "
                        "up; audio was skipped for recognition (the programme is "
                        "unaffected; caption times stay on the programme clock)",
                    )
                )

    def wait_caught_up(self) -> None:
        """Wait until every submitted block was recognised (or the thread failed)."""
        p = self._progress
        with self._cond:
            self._cond.wait_for(lambda: p.done >= p.fed or self.error is not None)

    def stop(self, timeout_s: float | None = None) -> None:
        """End of input: recognise what is left (the last utterance), wait for the thread."""
        self._q.put(None)
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        handle = self.captioner.handle
        try:
            while True:
                item = self._q.get()
                if item is None:
                    for events in self.feed.end():
                        handle(events)
                    break
                start, block = item
                for events in self.feed.push(start, block):
                    handle(events)
                with self._cond:
                    self._progress.done += 1
                    self._cond.notify_all()
        except BroadcasterError as exc:
            self.error = exc
            self.emit(jev.Error(kind="recognizer", message=str(exc)))
        except Exception as exc:  # keep the programme running; report what broke
            self.error = RecognizerError(f"recognition thread failed: {exc!r}")
            self.emit(jev.Error(kind="recognizer", message=str(self.error)))
        finally:
            with self._cond:
                self._progress.done = self._progress.fed
                self._cond.notify_all()
