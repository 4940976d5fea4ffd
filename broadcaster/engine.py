"""The broadcaster engine: programme audio in, programme + triggers out, captions to the archive.

Threads::

    caller (audio thread)  process(block) -> InputMeter -> DelayLine -> AiringScheduler
         |                 -> TriggerMixer -> output block
         |  RecognitionWorker.submit: a copy into a bounded queue (never waits, except in
         v  lockstep file mode)
    jimaku-asr worker      AsrFeed (mono mixdown -> StreamResampler -> vosk Recognizer, 0.1 s
                           chunks) -> Captioner (Segmenter, SeqStore.next() fsync'd,
                           Uploader.submit_*(), trigger requests picked up by the next process())
    jimaku-uploader        spool -> archive_client PUT, backoff on outage

This module is the wiring; the stages live in :mod:`~broadcaster.meter`, :mod:`~broadcaster.airing`
(delay line, trigger placement and repeats), :mod:`~broadcaster.worker` (the recognition thread),
:mod:`~broadcaster.asr_feed` (chunks and the recogniser <-> programme clock),
:mod:`~broadcaster.captioner` (partials and finals to captions) and :mod:`~broadcaster.records`
(what is known of each caption, for the summary).

In *lockstep* mode (file input) :meth:`Broadcaster.process` waits until the recogniser has consumed
the block before mixing it, so the output is what a real-time run with an infinitely fast
recogniser would give (a final's trigger airs in the block after the one that ended the
utterance) and file runs are reproducible. With a sound device the programme never waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from broadcaster.airing import AiringScheduler, DelayLine
from broadcaster.asr import Recognizer, load_vosk_model
from broadcaster.asr_feed import ASR_RATE_HZ, AsrFeed
from broadcaster.captioner import Captioner
from broadcaster.errors import InputFormatError, ModelLoadError
from broadcaster.meter import InputMeter
from broadcaster.records import CaptionBook, CaptionRecord
from broadcaster.segment import Segmenter
from broadcaster.seqstore import SeqStore
from broadcaster.settings import BroadcastSettings
from broadcaster.spool import Spool
from broadcaster.uploader import Uploader, utc_iso
from broadcaster.worker import RecognitionWorker
from jimaku import events as jev

__all__ = ["ASR_RATE_HZ", "SYNC_DECODE_S", "Broadcaster", "CaptionRecord", "DelayLine"]

#: Synchronous mode: time from a trigger's end to its caption on the phone's screen (s). Measured
#: (bench_latency, near-tv room): the receiver's decoder returns a detection 0.02-0.06 s after the
#: trigger's last sample; the caption's first words are already there from the live stream.
SYNC_DECODE_S = 0.06

Emit = Callable[[jev.BroadcastEventBase], None]


class Broadcaster:
    """One channel's broadcasting pipeline.

    Parameters
    ----------
    settings : BroadcastSettings
    sample_rate_hz : int
        Programme sample rate (input = output).
    channels : int
        Programme channels (input = output).
    client : archive_client.ArchiveClient
        The archive connection the uploader uses.
    emit : callable
        Receives status events as dicts (see docs/broadcaster.md); called from several threads
        (the caller must make it thread-safe and cheap: it is called on the audio path).
    lockstep : bool
        Wait for recognition of each block before mixing it (file input).
    wall_start : float, optional
        POSIX time of programme sample 0 (default: now); used for ``start_at``/``end_at``.

    Raises
    ------
    ModelLoadError, InputFormatError, StateError, ConfigError
    """

    def __init__(
        self,
        settings: BroadcastSettings,
        *,
        sample_rate_hz: int,
        channels: int,
        client: Any,
        emit: Emit,
        lockstep: bool = False,
        wall_start: float | None = None,
    ) -> None:
        self.settings = settings
        self.sample_rate_hz = sample_rate_hz
        self.channels = channels
        self.emit = emit
        self.lockstep = lockstep
        self.wall_start = time.time() if wall_start is None else wall_start
        if sample_rate_hz < ASR_RATE_HZ:
            raise InputFormatError(
                f"programme sample rate {sample_rate_hz} Hz is below the {ASR_RATE_HZ} Hz speech "
                "recognition needs; feed 44100 or 48000 Hz audio"
            )
        if channels < 1:
            raise InputFormatError(f"programme has {channels} channels; need at least 1")
        self.model_info = self._resolve_model()
        self.recognizer = self._make_recognizer()
        cjk = self.model_info.language in ("ko", "ja", "zh")
        segmenter = Segmenter(
            line_columns=settings.line_columns or (31 if cjk else 42),
            max_lines=settings.max_lines,
            max_duration_s=settings.max_caption_s,
            joins_words=self.model_info.joins_words,
        )
        self.language = settings.language or (
            self.model_info.language if self.model_info.language != "und" else None
        )
        self.mixer = self._make_mixer()
        self.delay = DelayLine(round(settings.delay_s * sample_rate_hz), channels)
        self.book = CaptionBook()
        self.meter = InputMeter(sample_rate_hz, emit)
        self.airing = AiringScheduler(
            self.mixer,
            channel=settings.channel,
            sample_rate_hz=sample_rate_hz,
            delay_samples=self.delay.delay_samples,
            lead_s=self._lead_s(),
            repeat_interval_s=settings.repeat_interval_s,
            caption_hold_s=settings.caption_hold_s,
            book=self.book,
            emit=emit,
        )
        self.seqs = SeqStore(settings.state_dir / "seq.sqlite")
        self.spool = Spool(settings.state_dir / "spool.sqlite")
        self.uploader = Uploader(
            client, self.spool, self._on_upload, partial_interval_s=settings.partial_interval_s
        )
        feed = AsrFeed(self.recognizer, sample_rate_hz)
        captioner = Captioner(
            settings,
            feed=feed,
            segmenter=segmenter,
            seqs=self.seqs,
            uploader=self.uploader,
            book=self.book,
            request_trigger=self.airing.request,
            language=self.language,
            wall_start=self.wall_start,
            emit=emit,
        )
        self.worker = RecognitionWorker(
            feed,
            captioner,
            queue_blocks=max(4, int(settings.asr_queue_s / max(settings.block_s, 0.005))),
            lockstep=lockstep,
            emit=emit,
        )
        self._finished = False
        self.started = False

    # ----------------------------------------------------------------- set-up
    def _resolve_model(self) -> Any:
        from models.errors import ModelError
        from models.resolve import resolve_model

        s = self.settings
        try:
            info = resolve_model(s.model)
            if s.endpoint_silence_s:
                from models.endpoint import endpoint_overlay

                info = endpoint_overlay(info, s.endpoint_silence_s, s.state_dir / "model-overlays")
        except ModelError as exc:
            raise ModelLoadError(str(exc)) from exc
        return info

    def _make_recognizer(self) -> Recognizer:
        model = load_vosk_model(self.model_info.path)
        phrases = list(self.settings.phrases) or None
        if phrases and not self.model_info.supports_grammar:
            self.emit(
                jev.Warning(
                    message=f"model {self.model_info.name} has no runtime grammar: "
                    "phrase hints are ignored",
                )
            )
            phrases = None
        return Recognizer(
            model, ASR_RATE_HZ, joins_words=self.model_info.joins_words, phrases=phrases
        )

    def _make_mixer(self) -> Any:
        from trigger_codec import CodecError, TriggerMixer

        try:
            return TriggerMixer(
                sample_rate=self.sample_rate_hz,
                profile=self.settings.profile,
                channels=self.channels,
            )
        except CodecError as exc:
            raise InputFormatError(
                f"cannot mix {self.settings.profile!r} triggers into {self.sample_rate_hz} Hz "
                f"audio: {exc}; use 44100/48000 Hz programme audio, or --profile robust"
            ) from exc

    def _lead_s(self) -> float:
        """Return how long before its speech airs a trigger starts (s, synchronous mode)."""
        from trigger_codec import airtime_s

        if self.settings.sync_lead_s is not None:
            return self.settings.sync_lead_s
        # the viewer sees the caption one airtime + decode (+ display) after the trigger starts
        return airtime_s(self.settings.profile) + SYNC_DECODE_S

    def start(self) -> None:
        """Start the recognition and upload threads."""
        self.emit(
            jev.Started(
                channel=self.settings.channel,
                profile=self.settings.profile,
                mode="synchronous" if self.settings.delay_s > 0 else "live",
                delay_s=self.settings.delay_s,
                sample_rate_hz=self.sample_rate_hz,
                channels=self.channels,
                model=self.model_info.name,
                language=self.language,
                next_seq=self.seqs.peek(self.settings.channel),
                spooled_from_earlier=self.spool.count(),
                wall_start=utc_iso(self.wall_start),
            )
        )
        self.worker.start()
        self.uploader.start()
        self.started = True

    # ------------------------------------------------------------ counters
    @property
    def input_samples(self) -> int:
        """Programme samples (frames) taken in so far."""
        return self.meter.counts.input_samples

    @property
    def clipped_samples(self) -> int:
        """Input samples at full scale so far (all channels)."""
        return self.meter.counts.clipped_samples

    @property
    def asr_dropped_blocks(self) -> int:
        """Blocks skipped for recognition because it could not keep up."""
        return self.worker.dropped_blocks

    @property
    def records(self) -> dict[int, CaptionRecord]:
        """The captions of this run by seq (a copy)."""
        return self.book.records()

    # ------------------------------------------------------ real-time path
    def process(self, block: np.ndarray) -> np.ndarray:
        """Take one programme block, return the outgoing block (same shape).

        Real-time path (device mode): no waiting, no I/O; it copies the block into the
        recogniser's queue, mixes due triggers and returns.

        Parameters
        ----------
        block : np.ndarray [shape=(n, channels), dtype=float32], samples in [-1, 1]

        Returns
        -------
        np.ndarray [shape=(n, channels), dtype=float32]

        Raises
        ------
        RecognizerError
            The recognition thread failed (re-raised here so the caller stops).
        """
        if self.worker.error is not None:
            raise self.worker.error
        block = np.asarray(block, np.float32)
        if block.ndim == 1:
            block = block[:, None]
        self.meter.measure(block)
        self.worker.submit(self.input_samples - len(block), block)
        if self.lockstep:
            self.worker.wait_caught_up()
            if self.worker.error is not None:
                raise self.worker.error
        return self._output(block)

    def _output(self, block: np.ndarray) -> np.ndarray:
        n = len(block)
        delayed = self.delay.process(block)
        self.airing.due(n)
        return np.asarray(self.mixer.process(delayed), np.float32).reshape(n, self.channels)

    def flush_output(self, block_samples: int = 4800) -> list[np.ndarray]:
        """After :meth:`finish`: the output still owed (delay line, last triggers), in blocks.

        Returns
        -------
        list of np.ndarray [shape=(n, channels), dtype=float32]
            Programme tail (silence plus triggers); empty in live mode when nothing is pending.
        """
        out: list[np.ndarray] = []
        owed = self.tail_samples()
        while owed > 0:
            n = min(block_samples, owed)
            out.append(self._output(np.zeros((n, self.channels), np.float32)))
            owed -= n
            if owed == 0:
                owed = self.tail_samples()
        return out

    def _on_upload(self, event: jev.BroadcastEventBase) -> None:
        if isinstance(event, jev.Upload):
            self.book.set_upload_state(event.seq, event.state, event.stored_at)
        self.emit(event)

    # ---------------------------------------------------------- shutdown
    def finish(self) -> None:
        """End of input: flush recognition (last utterance), wait for it."""
        if self._finished:
            return
        self._finished = True
        self.worker.stop()
        if self.worker.error is not None:
            raise self.worker.error

    def tail_samples(self) -> int:
        """Count the samples of output still owed after the input ended.

        The delay line's content plus whatever scheduled first airings have not finished (the last
        caption's trigger, placed after the input ended in live mode).
        """
        from trigger_codec import airtime_s

        air = round(airtime_s(self.settings.profile) * self.sample_rate_hz) + 1
        pos = int(self.mixer.position)
        last = self.book.last_first_airing()
        # output samples already produced beyond the input's end flushed the delay line
        flushed = max(0, pos - self.input_samples)
        need = self.delay.delay_samples - flushed
        pending = self.airing.pending
        return int(max(need, last + air - pos, air if pending else 0, 0))

    def close(self, drain_timeout_s: float | None = None) -> dict[str, Any]:
        """Wait (bounded) for uploads, stop threads, close state; return the run summary."""
        if not self._finished:
            self._finished = True
            self.worker.stop(timeout_s=30)
        timeout = self.settings.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        drained = self.uploader.drain(timeout)
        self.uploader.stop()
        left = self.spool.items()
        summary = {
            "type": "summary",
            "channel": self.settings.channel,
            "captions": self.book.rows(self.settings.delay_s),
            "stored": self.uploader.stored,
            "spooled": sum(1 for i in left if i.state != "rejected"),
            "rejected": sum(1 for i in left if i.state == "rejected"),
            "last_error": next((i.last_error for i in reversed(left) if i.last_error), None),
            "all_stored": drained,
            "asr_dropped_blocks": self.asr_dropped_blocks,
            "clipped_samples": self.clipped_samples,
            "input_s": round(self.input_samples / self.sample_rate_hz, 3),
        }
        self.emit(jev.BroadcastSummary.model_validate(summary))
        self.seqs.close()
        self.spool.close()
        return summary
