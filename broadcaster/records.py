"""What the daemon knows about each caption: its text, times, upload state and airings.

Written from two threads (the recognition thread adds captions, the audio path adds airings, the
uploader sets states), so every access goes through :class:`CaptionBook`'s lock. Read for the run
summary (:meth:`CaptionBook.rows`) and for the output still owed at the end.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Airing", "CaptionBook", "CaptionRecord"]


@dataclass(frozen=True)
class Airing:
    """One airing of a caption's trigger.

    Attributes
    ----------
    sample : int
        First sample of the trigger in the outgoing programme (samples at the programme rate).
    seconds : float
        The same, in seconds of the outgoing programme (rounded to 0.1 ms).
    """

    sample: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        """Return ``{"sample": ..., "seconds": ...}`` (the run summary's form)."""
        return {"sample": self.sample, "seconds": self.seconds}


@dataclass
class CaptionRecord:
    """What the daemon knows about one caption (for the operator view and the summary).

    ``start_s``/``end_s`` are input (programme-in) seconds; ``state`` the latest upload state.
    """

    seq: int
    text: str
    start_s: float
    end_s: float
    state: str = "spooled"
    stored_at: str | None = None
    airings: list[Airing] = field(default_factory=list)


class CaptionBook:
    """The captions of this run, by seq, and airings that came before their caption."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[int, CaptionRecord] = {}
        # aired at the utterance's first words: the record comes with the final
        self._early: dict[int, list[Airing]] = {}

    def aired(self, seq: int, airing: Airing) -> None:
        """Note an airing of ``seq``'s trigger (before its caption exists, it waits)."""
        with self._lock:
            rec = self._records.get(seq)
            if rec is not None:
                rec.airings.append(airing)
            else:
                self._early.setdefault(seq, []).append(airing)

    def add(self, rec: CaptionRecord) -> None:
        """Add a caption; the airings its seq already had become its first ones."""
        with self._lock:
            rec.airings.extend(self._early.pop(rec.seq, []))
            self._records[rec.seq] = rec

    def forget_early(self, seq: int) -> None:
        """Drop the airings of a seq whose utterance never became a caption."""
        with self._lock:
            self._early.pop(seq, None)

    def set_upload_state(self, seq: int, state: str, stored_at: str | None) -> None:
        """Record the uploader's latest state for ``seq`` (unknown seqs are ignored)."""
        with self._lock:
            rec = self._records.get(seq)
            if rec is not None:
                rec.state = state
                if stored_at:
                    rec.stored_at = stored_at

    def last_first_airing(self) -> int:
        """Return the latest first-airing sample of any caption (0 when none aired)."""
        with self._lock:
            return max(
                (r.airings[0].sample for r in self._records.values() if r.airings), default=0
            )

    def records(self) -> dict[int, CaptionRecord]:
        """Return a copy of the records by seq."""
        with self._lock:
            return dict(self._records)

    def rows(self, delay_s: float) -> list[dict[str, Any]]:
        """Return the summary's ``captions`` list, in order of start time.

        Parameters
        ----------
        delay_s : float
            The programme delay (s): ``programme_*_s`` are the input times plus it.
        """
        with self._lock:
            return [
                {
                    "seq": r.seq,
                    "text": r.text,
                    "start_s": r.start_s,
                    "end_s": r.end_s,
                    "programme_start_s": round(r.start_s + delay_s, 3),
                    "programme_end_s": round(r.end_s + delay_s, 3),
                    "state": r.state,
                    "stored_at": r.stored_at,
                    "airings": [a.to_dict() for a in r.airings],
                }
                for r in sorted(self._records.values(), key=lambda r: r.start_s)
            ]
