"""From the recogniser's partials and finals to captions: sequence numbers, uploads, triggers.

Runs in the recognition thread. One utterance at a time (:class:`UtteranceState`): its first
non-empty partial reserves the next sequence number (fsync'd by :class:`~broadcaster.seqstore.
SeqStore`), partial text goes to the archive under it, and with ``early_trigger`` its trigger is
requested at once (live) or at the speech onset (synchronous). The final is split into captions
(:class:`~broadcaster.segment.Segmenter`); the first takes the reserved number, the others new
ones; each is recorded, uploaded, and its trigger requested unless it aired already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broadcaster.airing import TriggerRequest
from broadcaster.asr import Final, Partial
from broadcaster.asr_feed import AsrFeed
from broadcaster.records import CaptionBook, CaptionRecord
from broadcaster.segment import Caption, Segmenter
from broadcaster.seqstore import SeqStore
from broadcaster.settings import BroadcastSettings
from broadcaster.uploader import Uploader, utc_iso
from jimaku import events as jev

__all__ = ["Captioner", "UtteranceState"]


@dataclass
class UtteranceState:
    """Where the captioner is between the recogniser's events.

    Attributes
    ----------
    seq : int or None
        The sequence number reserved by the current utterance's first partial.
    early : set of int
        Seqs whose trigger was requested at the utterance's first words (before the final).
    prev_end_s : float
        End of the last final's last word (recogniser s): the onset search starts after it.
    """

    seq: int | None = None
    early: set[int] = field(default_factory=set)
    prev_end_s: float = 0.0


class Captioner:
    """Handle the recogniser's events (see the module docstring).

    Parameters
    ----------
    settings : BroadcastSettings
    feed : AsrFeed
        The clock (input position, recogniser -> programme time) and the recent audio.
    segmenter : Segmenter
    seqs : SeqStore
    uploader : Uploader
    book : CaptionBook
    request_trigger : callable
        Receives a :class:`~broadcaster.airing.TriggerRequest` (thread-safe).
    language : str or None
        The captions' language for the archive.
    wall_start : float
        POSIX time of programme sample 0 (for ``start_at``/``end_at``).
    emit : callable
        Receives partial, utterance, caption and warning events.
    """

    def __init__(
        self,
        settings: BroadcastSettings,
        *,
        feed: AsrFeed,
        segmenter: Segmenter,
        seqs: SeqStore,
        uploader: Uploader,
        book: CaptionBook,
        request_trigger: Callable[[TriggerRequest], None],
        language: str | None,
        wall_start: float,
        emit: Callable[[jev.BroadcastEventBase], None],
    ) -> None:
        self.settings = settings
        self.feed = feed
        self.segmenter = segmenter
        self.seqs = seqs
        self.uploader = uploader
        self.book = book
        self.request_trigger = request_trigger
        self.language = language
        self.wall_start = wall_start
        self.emit = emit
        self.state = UtteranceState()

    def handle(self, events: list[Partial | Final]) -> None:
        """Handle what the recogniser returned for one chunk."""
        for ev in events:
            if isinstance(ev, Partial):
                self._partial(ev)
            else:
                self._final(ev)

    def _partial(self, ev: Partial) -> None:
        if not ev.text:
            return
        ch = self.settings.channel
        st = self.state
        first = st.seq is None
        if st.seq is None:
            st.seq = self.seqs.next(ch)
        seq = st.seq
        self.emit(jev.Partial(seq=seq, text=ev.text, input_s=round(self.feed.input_pos_s(), 3)))
        self.uploader.submit_partial(ch, seq, self._body(ev.text, False, None))
        if first and self.settings.early_trigger:
            self._early_trigger(seq)

    def _final(self, ev: Final) -> None:
        ch = self.settings.channel
        st = self.state
        captions = self.segmenter.split(ev)
        if self.feed.gaps:
            to_prog = self.feed.to_programme_s
            captions = [
                Caption(c.text, c.words, to_prog(c.start_s), to_prog(c.end_s)) for c in captions
            ]
        if ev.words:
            st.prev_end_s = ev.end_s
        input_s = round(self.feed.input_pos_s(), 3)
        # An empty final after partials keeps its reserved seq for the next utterance when the
        # ID was never aired (reusing it cannot show a viewer the wrong text). If it was aired
        # at the first words, the seq is spent: the archive keeps the partial text.
        if not captions and st.seq in st.early:
            self.emit(
                jev.Warning(
                    kind="empty_utterance",
                    seq=st.seq,
                    message="vosk dropped an utterance whose trigger already aired; "
                    "the archive keeps its partial text",
                )
            )
            st.early.discard(st.seq)
            self.book.forget_early(st.seq)
            st.seq = None
        for i, cap in enumerate(captions):
            reserved = st.seq if i == 0 else None
            seq = reserved if reserved is not None else self.seqs.next(ch)
            rec = CaptionRecord(seq, cap.text, round(cap.start_s, 3), round(cap.end_s, 3))
            self.book.add(rec)
            delay_s = self.settings.delay_s
            self.emit(
                jev.BroadcastCaption(
                    seq=seq,
                    text=cap.text,
                    start_s=rec.start_s,
                    end_s=rec.end_s,
                    programme_start_s=round(cap.start_s + delay_s, 3),
                    programme_end_s=round(cap.end_s + delay_s, 3),
                    input_s=input_s,
                    words=len(cap.words),
                )
            )
            self.uploader.submit_final(ch, seq, self._body(cap.text, True, cap))
            if seq in st.early:
                st.early.discard(seq)  # its trigger is on air already
            else:
                self.request_trigger(TriggerRequest(seq, cap.start_s))
        if captions:
            st.seq = None

    def _early_trigger(self, seq: int) -> None:
        """Request *seq*'s trigger at its utterance's first partial (``early_trigger``).

        Live mode: at once. Synchronous mode: where the speech onset airs (minus the lead), when
        the audio shows the onset; otherwise the trigger waits for the final's word times.
        """
        start = self.feed.onset_s(self.state.prev_end_s) if self.settings.onset_refinement else None
        now = self.feed.input_pos_s()
        if start is None and self.settings.delay_s > 0:
            return
        start_s = now if start is None else self.feed.to_programme_s(start)
        self.state.early.add(seq)
        self.emit(
            jev.Utterance(
                seq=seq,
                start_s=round(start_s, 3),
                onset_found=start is not None,
                input_s=round(now, 3),
            )
        )
        self.request_trigger(TriggerRequest(seq, start_s))

    def _body(self, text: str, final: bool, cap: Caption | None) -> dict[str, Any]:
        """Return the archive's caption body (``start_at``/``end_at`` and words for a final)."""
        body: dict[str, Any] = {"text": text, "final": final, "language": self.language}
        if cap is not None:
            off = self.wall_start + self.settings.delay_s
            body["start_at"] = utc_iso(off + cap.start_s)
            body["end_at"] = utc_iso(off + cap.end_s)
            body["words"] = [
                {"word": w.word, "start": w.start, "end": w.end, "conf": w.conf} for w in cap.words
            ]
        return body
