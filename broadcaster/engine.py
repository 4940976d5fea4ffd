"""The broadcaster engine: programme audio in, programme + triggers out, captions to the archive.

Threads::

    caller (audio thread)  process(block) -> delay line -> TriggerMixer -> output block
         |  copies the block into a bounded queue (never waits, except in lockstep file mode)
         v
    jimaku-asr worker      mono mixdown -> StreamResampler -> vosk Recognizer -> Partial/Final
                           -> Segmenter -> SeqStore.next() (fsync'd) -> Uploader.submit_*()
                           -> trigger requests (queue) picked up by the next process() call
    jimaku-uploader        spool -> archive_client PUT, backoff on outage

In *lockstep* mode (file input) :meth:`Broadcaster.process` waits until the recogniser has consumed
the block before mixing it, so the output is what a real-time run with an infinitely fast
recogniser would give (a final's trigger airs in the block after the one that ended the
utterance) and file runs are reproducible. With a sound device the programme never waits.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from broadcaster.asr import Final, Partial, Recognizer, load_vosk_model
from broadcaster.errors import (
    BroadcasterError,
    InputFormatError,
    ModelLoadError,
    RecognizerError,
)
from broadcaster.onset import find_onset
from broadcaster.resample import StreamResampler, float_to_int16
from broadcaster.segment import Caption, Segmenter
from broadcaster.seqstore import SeqStore
from broadcaster.settings import BroadcastSettings
from broadcaster.spool import Spool
from broadcaster.uploader import Uploader, utc_iso
from jimaku import events as jev

__all__ = ["ASR_RATE_HZ", "Broadcaster", "CaptionRecord", "DelayLine"]

#: Synchronous mode: time from a trigger's end to its caption on the phone's screen (s). Measured
#: (bench_latency, near-tv room): the receiver's decoder returns a detection 0.02-0.06 s after the
#: trigger's last sample; the caption's first words are already there from the live stream.
SYNC_DECODE_S = 0.06
#: Recent recogniser input kept for the onset refinement (s).
_RECENT_S = 4.0
#: Sample rate the vosk models are trained at.
ASR_RATE_HZ = 16000
#: The recogniser is fed fixed chunks of 0.1 s: vosk's output depends on where chunks end (and on
#: PartialResult calls between them), so fixed chunks make results independent of the input's
#: block size and rate, and equal to a plain streaming vosk client using the same chunk.
ASR_CHUNK = 1600

Emit = Callable[[jev.BroadcastEventBase], None]


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


@dataclass
class CaptionRecord:
    """What the daemon knows about one caption (for the operator view and the summary)."""

    seq: int
    text: str
    start_s: float
    end_s: float
    state: str = "spooled"
    stored_at: str | None = None
    airings: list[dict[str, float | int]] = field(default_factory=list)


@dataclass
class _Repeat:
    seq: int
    next_at: int
    until: int
    count: int = 1


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
        from models.errors import ModelError
        from models.resolve import resolve_model

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
        try:
            self.model_info = resolve_model(settings.model)
            if settings.endpoint_silence_s:
                from models.endpoint import endpoint_overlay

                self.model_info = endpoint_overlay(
                    self.model_info,
                    settings.endpoint_silence_s,
                    settings.state_dir / "model-overlays",
                )
        except ModelError as exc:
            raise ModelLoadError(str(exc)) from exc
        model = load_vosk_model(self.model_info.path)
        phrases = list(settings.phrases) or None
        if phrases and not self.model_info.supports_grammar:
            emit(
                jev.Warning(
                    message=f"model {self.model_info.name} has no runtime grammar: "
                    "phrase hints are ignored",
                )
            )
            phrases = None
        self.recognizer = Recognizer(
            model, ASR_RATE_HZ, joins_words=self.model_info.joins_words, phrases=phrases
        )
        cjk = self.model_info.language in ("ko", "ja", "zh")
        self.segmenter = Segmenter(
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
        from trigger_codec import airtime_s

        # the viewer sees the caption one airtime + decode (+ display) after the trigger starts
        self._lead_s = (
            settings.sync_lead_s
            if settings.sync_lead_s is not None
            else airtime_s(settings.profile) + SYNC_DECODE_S
        )
        self.resampler = StreamResampler(sample_rate_hz, ASR_RATE_HZ)
        self._pcm_buf = np.zeros(0, np.int16)
        self.seqs = SeqStore(settings.state_dir / "seq.sqlite")
        self.spool = Spool(settings.state_dir / "spool.sqlite")
        self.uploader = Uploader(
            client, self.spool, self._on_upload, partial_interval_s=settings.partial_interval_s
        )
        qsize = max(4, int(settings.asr_queue_s / max(settings.block_s, 0.005)))
        self._asr_q: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue(maxsize=qsize)
        # blocks dropped for recognition leave gaps: (recogniser time s, gap length s), so word
        # times can be mapped back to programme time
        self._gaps: list[tuple[float, float]] = []
        self._asr_in_pos = 0
        self._last_drop_report = -1e9
        self._sched_q: queue.SimpleQueue[_Sched] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._fed = 0
        self._done = 0
        self._error: BaseException | None = None
        self._cur_seq: int | None = None
        # seqs whose trigger was scheduled at the utterance's first words (before the final)
        self._early: set[int] = set()
        self._early_airings: dict[int, list[dict[str, float | int]]] = {}
        self._prev_end_s = 0.0  # end of the last final's last word (recogniser seconds)
        # the recogniser's recent input (16 kHz int16) for the onset refinement
        self._recent = np.zeros(0, np.int16)
        self._recent_start = 0  # recogniser sample index of self._recent[0]
        self._repeats: list[_Repeat] = []
        self.records: dict[int, CaptionRecord] = {}
        self._records_lock = threading.Lock()
        self.asr_dropped_blocks = 0
        self.clipped_samples = 0
        self.input_samples = 0
        self._last_level_at = -1.0
        self._last_clip_warn_at = -1e9
        self._worker = threading.Thread(target=self._asr_loop, name="jimaku-asr", daemon=True)
        self._finished = False
        self.started = False

    # ----------------------------------------------------------------- set-up
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
        self._worker.start()
        self.uploader.start()
        self.started = True

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
        if self._error is not None:
            raise self._error
        block = np.asarray(block, np.float32)
        if block.ndim == 1:
            block = block[:, None]
        self._meter(block)
        try:
            start = self.input_samples - len(block)
            self._asr_q.put((start, block.copy()), block=self.lockstep)
            with self._cond:
                self._fed += 1
        except queue.Full:
            self.asr_dropped_blocks += 1
            now = time.monotonic()
            if now - self._last_drop_report >= 1.0:  # at most one report a second
                self._last_drop_report = now
                self.emit(
                    jev.Error(
                        kind="asr_overflow",
                        dropped_blocks=self.asr_dropped_blocks,
                        message="speech recognition cannot keep "
                        "up; audio was skipped for recognition (the programme is "
                        "unaffected; caption times stay on the programme clock)",
                    )
                )
        if self.lockstep:
            with self._cond:
                self._cond.wait_for(lambda: self._done >= self._fed or self._error is not None)
            if self._error is not None:
                raise self._error
        return self._output(block)

    def _output(self, block: np.ndarray) -> np.ndarray:
        n = len(block)
        delayed = self.delay.process(block)
        self._schedule_due(n)
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

    def _meter(self, block: np.ndarray) -> None:
        t = self.input_samples / self.sample_rate_hz
        self.input_samples += len(block)
        clipped = int(np.count_nonzero(np.abs(block) >= 0.999))
        if clipped:
            self.clipped_samples += clipped
            if t - self._last_clip_warn_at >= 10.0:
                self._last_clip_warn_at = t
                self.emit(
                    jev.Warning(
                        kind="clipping",
                        at_s=round(t, 3),
                        samples=clipped,
                        message="programme input is clipping; lower "
                        "the input gain (recognition and the trigger suffer)",
                    )
                )
        if t - self._last_level_at >= 0.5:
            self._last_level_at = t
            peak = float(np.max(np.abs(block))) if len(block) else 0.0
            rms = float(np.sqrt(np.mean(np.square(block)))) if len(block) else 0.0
            self.emit(
                jev.Level(
                    at_s=round(t, 3),
                    peak_dbfs=round(20 * np.log10(max(peak, 1e-6)), 1),
                    rms_dbfs=round(20 * np.log10(max(rms, 1e-6)), 1),
                )
            )

    def _schedule_due(self, n: int) -> None:
        ch = self.settings.channel
        pos = int(self.mixer.position)
        rate = self.sample_rate_hz
        while True:
            try:
                item = self._sched_q.get_nowait()
            except queue.Empty:
                break
            at: int | None = None
            if self.settings.delay_s > 0:
                at = round((item.start_s - self._lead_s) * rate) + self.delay.delay_samples
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
            start = int(self.mixer.schedule(ch, item.seq, at_sample=at))
            self._aired(item.seq, start, 0)
            # a new caption replaces older ones on screen: stop repeating them
            every = round(self.settings.repeat_interval_s * rate)
            hold = round(self.settings.caption_hold_s * rate)
            self._repeats = [_Repeat(item.seq, start + every, start + hold)]
        for r in self._repeats:
            while r.next_at < pos + n and r.next_at < r.until:
                at_r = r.next_at if r.next_at >= pos else None
                start = int(self.mixer.schedule(ch, r.seq, at_sample=at_r))
                self._aired(r.seq, start, r.count)
                r.count += 1
                r.next_at += round(self.settings.repeat_interval_s * rate)
        self._repeats = [r for r in self._repeats if r.next_at < r.until]

    def _aired(self, seq: int, sample: int, repeat: int) -> None:
        seconds = sample / self.sample_rate_hz
        with self._records_lock:
            rec = self.records.get(seq)
            airing: dict[str, float | int] = {"sample": sample, "seconds": round(seconds, 4)}
            if rec is not None:
                rec.airings.append(airing)
            else:  # aired at the utterance's first words: the record comes with the final
                self._early_airings.setdefault(seq, []).append(airing)
        self.emit(
            jev.Airing(
                seq=seq,
                sample=sample,
                seconds=round(seconds, 4),
                repeat=repeat,
            )
        )

    # -------------------------------------------------- recognition thread
    def _asr_loop(self) -> None:
        try:
            while True:
                item = self._asr_q.get()
                if item is None:
                    tail = float_to_int16(self.resampler.process(np.zeros(0), final=True))
                    self._recognise(tail, final=True)
                    self._handle(self.recognizer.finish())
                    break
                start, block = item
                if start > self._asr_in_pos:
                    fed = self.recognizer.samples_fed + len(self._pcm_buf)
                    self._gaps.append(
                        (fed / ASR_RATE_HZ, (start - self._asr_in_pos) / self.sample_rate_hz)
                    )
                self._asr_in_pos = start + len(block)
                mono = block.astype(np.float64).mean(axis=1)
                self._recognise(float_to_int16(self.resampler.process(mono)))
                with self._cond:
                    self._done += 1
                    self._cond.notify_all()
        except BroadcasterError as exc:
            self._error = exc
            self.emit(jev.Error(kind="recognizer", message=str(exc)))
        except Exception as exc:  # keep the programme running; report what broke
            self._error = RecognizerError(f"recognition thread failed: {exc!r}")
            self.emit(jev.Error(kind="recognizer", message=str(self._error)))
        finally:
            with self._cond:
                self._done = self._fed
                self._cond.notify_all()

    def _recognise(self, pcm: np.ndarray, final: bool = False) -> None:
        buf = np.concatenate([self._pcm_buf, pcm]) if len(self._pcm_buf) else pcm
        n_full = len(buf) // ASR_CHUNK
        for i in range(n_full):
            chunk = buf[i * ASR_CHUNK : (i + 1) * ASR_CHUNK]
            self._remember(chunk)
            self._handle(self.recognizer.accept(chunk))
        self._pcm_buf = buf[n_full * ASR_CHUNK :]
        if final and len(self._pcm_buf):
            self._remember(self._pcm_buf)
            self._handle(self.recognizer.accept(self._pcm_buf))
            self._pcm_buf = self._pcm_buf[:0]

    def _remember(self, chunk: np.ndarray) -> None:
        keep = round(_RECENT_S * ASR_RATE_HZ)
        self._recent = np.concatenate([self._recent, chunk])
        if len(self._recent) > keep:
            self._recent_start += len(self._recent) - keep
            self._recent = self._recent[-keep:]

    def _input_pos_s(self) -> float:
        """Input (programme) position the recogniser has consumed, in seconds."""
        return self._to_programme_s(self.recognizer.samples_fed / ASR_RATE_HZ)

    def _utterance_start(self) -> float | None:
        """Estimate where the utterance whose first partial just came out started.

        Returns
        -------
        float or None
            Recogniser seconds: the speech onset in the recent audio (:mod:`broadcaster.onset`)
            when ``onset_refinement`` is on and the audio shows one, else None.
        """
        if not self.settings.onset_refinement:
            return None
        return find_onset(
            self._recent,
            self._recent_start / ASR_RATE_HZ,
            ASR_RATE_HZ,
            not_before_s=self._prev_end_s,
        )

    def _to_programme_s(self, t: float) -> float:
        """Map recogniser stream time to input time (adds the gaps of dropped blocks)."""
        return t + sum(g for at, g in self._gaps if at <= t)

    def _caption_body(self, text: str, final: bool, cap: Caption | None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "final": final, "language": self.language}
        if cap is not None:
            off = self.wall_start + self.settings.delay_s
            body["start_at"] = utc_iso(off + cap.start_s)
            body["end_at"] = utc_iso(off + cap.end_s)
            body["words"] = [
                {"word": w.word, "start": w.start, "end": w.end, "conf": w.conf} for w in cap.words
            ]
        return body

    def _handle(self, events: list[Partial | Final]) -> None:
        ch = self.settings.channel
        for ev in events:
            if isinstance(ev, Partial):
                if not ev.text:
                    continue
                first = self._cur_seq is None
                if self._cur_seq is None:
                    self._cur_seq = self.seqs.next(ch)
                seq = self._cur_seq
                self.emit(
                    jev.Partial(
                        seq=seq,
                        text=ev.text,
                        input_s=round(self._input_pos_s(), 3),
                    )
                )
                self.uploader.submit_partial(ch, seq, self._caption_body(ev.text, False, None))
                if first and self.settings.early_trigger:
                    self._early_schedule(seq)
                continue
            captions = self.segmenter.split(ev)
            if self._gaps:
                captions = [
                    Caption(
                        c.text,
                        c.words,
                        self._to_programme_s(c.start_s),
                        self._to_programme_s(c.end_s),
                    )
                    for c in captions
                ]
            if ev.words:
                self._prev_end_s = ev.end_s
            input_s = round(self._input_pos_s(), 3)
            # An empty final after partials keeps its reserved seq for the next utterance when the
            # ID was never aired (reusing it cannot show a viewer the wrong text). If it was aired
            # at the first words, the seq is spent: the archive keeps the partial text.
            if not captions and self._cur_seq in self._early:
                self.emit(
                    jev.Warning(
                        kind="empty_utterance",
                        seq=self._cur_seq,
                        message="vosk dropped an utterance whose trigger already aired; "
                        "the archive keeps its partial text",
                    )
                )
                self._early.discard(self._cur_seq)
                self._early_airings.pop(self._cur_seq, None)
                self._cur_seq = None
            for i, cap in enumerate(captions):
                reserved = self._cur_seq if i == 0 else None
                seq = reserved if reserved is not None else self.seqs.next(ch)
                rec = CaptionRecord(seq, cap.text, round(cap.start_s, 3), round(cap.end_s, 3))
                with self._records_lock:
                    rec.airings.extend(self._early_airings.pop(seq, []))
                    self.records[seq] = rec
                self.emit(
                    jev.BroadcastCaption(
                        seq=seq,
                        text=cap.text,
                        start_s=rec.start_s,
                        end_s=rec.end_s,
                        programme_start_s=round(cap.start_s + self.settings.delay_s, 3),
                        programme_end_s=round(cap.end_s + self.settings.delay_s, 3),
                        input_s=input_s,
                        words=len(cap.words),
                    )
                )
                self.uploader.submit_final(ch, seq, self._caption_body(cap.text, True, cap))
                if seq in self._early:
                    self._early.discard(seq)  # its trigger is on air already
                else:
                    self._sched_q.put(_Sched(seq, cap.start_s))
            if captions:
                self._cur_seq = None

    def _early_schedule(self, seq: int) -> None:
        """Schedule *seq*'s trigger at its utterance's first partial (``early_trigger``).

        Live mode: at once. Synchronous mode: where the speech onset airs (minus the lead), when
        the audio shows the onset; otherwise the trigger waits for the final's word times.
        """
        start = self._utterance_start()
        now = self._input_pos_s()
        if start is None and self.settings.delay_s > 0:
            return
        start_s = now if start is None else self._to_programme_s(start)
        self._early.add(seq)
        self.emit(
            jev.Utterance(
                seq=seq,
                start_s=round(start_s, 3),
                onset_found=start is not None,
                input_s=round(now, 3),
            )
        )
        self._sched_q.put(_Sched(seq, start_s))

    def _on_upload(self, event: jev.BroadcastEventBase) -> None:
        if isinstance(event, jev.Upload):
            with self._records_lock:
                rec = self.records.get(event.seq)
                if rec is not None:
                    rec.state = event.state
                    if event.stored_at:
                        rec.stored_at = event.stored_at
        self.emit(event)

    # ---------------------------------------------------------- shutdown
    def finish(self) -> None:
        """End of input: flush recognition (last utterance), wait for it."""
        if self._finished:
            return
        self._finished = True
        self._asr_q.put(None)
        self._worker.join()
        if self._error is not None:
            raise self._error

    def tail_samples(self) -> int:
        """Count the samples of output still owed after the input ended.

        The delay line's content plus whatever scheduled first airings have not finished (the last
        caption's trigger, placed after the input ended in live mode).
        """
        from trigger_codec import airtime_s

        air = round(airtime_s(self.settings.profile) * self.sample_rate_hz) + 1
        pos = int(self.mixer.position)
        last = max(
            (int(r.airings[0]["sample"]) for r in self.records.values() if r.airings), default=0
        )
        need = self.delay.delay_samples - self._flushed_delay()
        pending = not self._sched_q.empty()
        return int(max(need, last + air - pos, air if pending else 0, 0))

    def _flushed_delay(self) -> int:
        # output samples already produced beyond the input's end (they flushed the delay line)
        return max(0, int(self.mixer.position) - self.input_samples)

    def close(self, drain_timeout_s: float | None = None) -> dict[str, Any]:
        """Wait (bounded) for uploads, stop threads, close state; return the run summary."""
        if not self._finished:
            self._finished = True
            self._asr_q.put(None)
            self._worker.join(timeout=30)
        timeout = self.settings.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        drained = self.uploader.drain(timeout)
        self.uploader.stop()
        left = self.spool.items()
        with self._records_lock:
            caps = [
                {
                    "seq": r.seq,
                    "text": r.text,
                    "start_s": r.start_s,
                    "end_s": r.end_s,
                    "programme_start_s": round(r.start_s + self.settings.delay_s, 3),
                    "programme_end_s": round(r.end_s + self.settings.delay_s, 3),
                    "state": r.state,
                    "stored_at": r.stored_at,
                    "airings": list(r.airings),
                }
                for r in sorted(self.records.values(), key=lambda r: r.start_s)
            ]
        summary = {
            "type": "summary",
            "channel": self.settings.channel,
            "captions": caps,
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


@dataclass(frozen=True)
class _Sched:
    seq: int
    start_s: float
