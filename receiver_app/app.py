"""The receiver: listen, decode, fetch, apply the display rules, hand the screen to the outputs.

Threads and who owns what::

    audio (PortAudio callback, devices only)  -> bounded queue in audio_io.InputStream
    decode worker   source.blocks() -> trigger_codec.Decoder.feed -> events queue
    fetch workers   archive GET ?wait (CaptionFetcher)              -> events queue
    live follower   WS /live (LiveFollower, optional)               -> events queue
    event loop      (run(); any thread) owns CaptionDisplay, the trigger order and the outputs

Captions reach the display in the order their triggers were heard, so a slow answer for an
earlier trigger holds later ones back (up to ``order_hold_s`` when listening live; without limit
in ``--fast`` file mode, where the fetcher's give-up bounds it). Stale captions (on air longer ago
than ``stale_after_s``) are not shown as live; with ``timeshift`` they are shown marked
"recorded".

False IDs (the decoder very rarely reports an ID nobody broadcast: a random CRC-16 match) must
never show anything or disturb what is shown. One rule guards against them: a channel is
*trusted* once the archive has confirmed it (a fetch or the live stream brought a caption of it)
or one of its triggers has been heard twice (real triggers repeat every few seconds while their
caption is on screen; a false ID does not repeat). A pinned channel is trusted from the start.
A trigger on a channel that is not trusted

- does not switch the followed channel (the very first channel heard, with nothing followed yet,
  is still joined at once so the first caption is fast); it switches when the channel becomes
  trusted;
- does not hold later captions in trigger order (live listening): it leaves the order as soon as
  a later caption is ready, and is shown when (if) the archive brings its caption;
- when the archive has no caption or no such channel, is counted in
  :attr:`ReceiverApp.unconfirmed_triggers` and told to the viewer only if the channel is heard
  again (a real unknown channel repeats; a false ID stays silent).

A false seq on the followed channel itself (1 in 4096 false IDs) is not caught by this rule.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jimaku.events import CaptionShown, Listening
from receiver_app.display import CaptionDisplay, CaptionItem, DisplayEvent, ScreenState
from receiver_app.errors import ReceiverError
from receiver_app.fetcher import CaptionFetcher, FetchResult
from receiver_app.settings import ReceiverSettings
from receiver_app.source import AudioSource

__all__ = ["Output", "ReceiverApp", "ShownRecord", "TriggerHeard"]


@dataclass
class TriggerHeard:
    """A detected trigger and what became of it.

    Attributes
    ----------
    channel, seq : int
        From the trigger.
    profile : str
        Codec profile it was heard in.
    start_s, end_s : float
        Where it is in the input stream, seconds from its first sample.
    snr_db : float
        Decoder's estimate.
    decoded_wall : float
        When the decoder reported it (Unix time, seconds).
    decoded_mono : float
        The same moment on the app's monotonic clock.
    decoded_stream_s : float
        Input stream position (s) the decoder had been fed up to when it reported it.
    result : FetchResult or None
        The caption's text once in hand.
    dropped : bool
        Left the trigger order unresolved because its channel was not trusted (so it held
        nothing): delivered when its caption comes.
    resolved_mono, resolved_wall : float or None
        When ``result`` came (monotonic clock, Unix time).
    """

    channel: int
    seq: int
    profile: str
    start_s: float
    end_s: float
    snr_db: float
    decoded_wall: float
    decoded_mono: float
    decoded_stream_s: float
    result: FetchResult | None = None
    resolved_mono: float | None = None
    resolved_wall: float | None = None
    dropped: bool = False

    def resolve(self, result: FetchResult, mono: float) -> None:
        """Record that the caption's text is in hand (``mono``: the app's clock now)."""
        self.result = result
        self.resolved_mono = mono
        self.resolved_wall = time.time()


#: One ``shown``/``updated`` line of ``--json`` output (the model is shared with its readers).
ShownRecord = CaptionShown


class Output(Protocol):
    """Something that shows the receiver's state (terminal, web view, JSON log)."""

    def screen(self, state: ScreenState) -> None:
        """Show the new screen."""

    def shown(self, record: ShownRecord) -> None:
        """Record a caption that appeared (``"shown"``) or changed in place (``"updated"``)."""

    def status(self, message: str) -> None:
        """Tell the viewer something (archive down, stale caption ignored, ...), in one line."""

    def listening(self, event: Listening) -> None:
        """Note that the input stream started (position 0 is at ``event.stream_start_wall``)."""


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@dataclass
class ReceiverApp:
    """The receiver application (see the module docstring).

    Parameters
    ----------
    settings : ReceiverSettings
        Everything configurable.
    source : AudioSource
        Where audio comes from.
    outputs : list of Output
        Where the screen, shown captions and status go.
    order_hold_s : float or None
        Longest wait for an earlier trigger's caption before later ones are shown (None: wait
        until the earlier one resolves; used for ``--fast`` files).
    """

    settings: ReceiverSettings
    source: AudioSource
    outputs: list[Output] = field(default_factory=list)
    order_hold_s: float | None = 3.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.display = CaptionDisplay(self.settings.display)
        self._heard: dict[tuple[int, int], TriggerHeard] = {}
        self._order: list[TriggerHeard] = []
        self._stop = threading.Event()
        self._eof = False
        self.error: ReceiverError | None = None
        self.current_channel: int | None = self.settings.channel
        self.ignored_other_channel = 0
        self.stale_suppressed = 0
        self.missing = 0
        #: triggers on a channel not trusted whose caption the archive did not have (most likely
        #: false IDs); counted for the test engineer, never shown
        self.unconfirmed_triggers = 0
        self._trusted: set[int] = (
            set() if self.settings.channel is None else {self.settings.channel}
        )
        # triggers heard (repeats included) per untrusted channel
        self._hearings: dict[int, int] = {}
        self._untold: dict[int, list[str]] = {}  # failures of untrusted channels, told if trusted
        self._newest_channel: int | None = None  # channel of the trigger heard last
        self._shown_channel: int | None = None  # channel of the caption delivered last
        self._fetcher: CaptionFetcher | None = None
        self._live: Any = None

    # -- producers (other threads) -----------------------------------------------------------
    def _decode_worker(self) -> None:
        from trigger_codec import Decoder

        try:
            rate = self.source.sample_rate
            dec = Decoder(sample_rate=rate)
            fed = 0  # samples fed to the decoder: its position in the input stream
            for block in self.source.blocks():
                if self._stop.is_set():
                    break
                if fed == 0:
                    self._events.put(("listening", self._listening()))
                fed += len(block)
                for d in dec.feed(block):
                    self._events.put(("det", (d, time.time(), self.clock(), fed / rate)))
            for d in dec.flush():
                self._events.put(("det", (d, time.time(), self.clock(), fed / rate)))
        except ReceiverError as exc:
            self._events.put(("error", exc))
        except Exception as exc:
            self._events.put(("error", ReceiverError(f"decoding failed: {exc!r}")))
        self._events.put(("eof", None))

    def _listening(self) -> Listening:
        start = getattr(self.source, "start_wall", None)
        return Listening(
            stream_start_wall=round(time.time() if start is None else float(start), 4),
            sample_rate_hz=int(self.source.sample_rate),
            realtime=bool(getattr(self.source, "realtime", True)),
        )

    def _status(self, msg: str) -> None:
        self._events.put(("status", msg))

    # -- the event loop ----------------------------------------------------------------------
    def run(self) -> int:
        """Listen until the input ends (files) or :meth:`stop` is called.

        Returns
        -------
        int
            0, or 1 when the input failed (the error is in :attr:`error` and was reported).
        """
        self._fetcher = CaptionFetcher(
            self.settings, lambda r: self._events.put(("fetched", r)), self._status
        )
        if self.settings.live:
            from receiver_app.live import LiveFollower

            self._live = LiveFollower(
                self.settings,
                on_caption=lambda c: self._events.put(("live", c)),
                on_status=self._status,
                on_rejected=lambda ch, msg: self._events.put(("live_rejected", (ch, msg))),
            )
            if self.current_channel is not None:
                self._live.follow(self.current_channel)
        worker = threading.Thread(target=self._decode_worker, name="decode", daemon=True)
        worker.start()
        try:
            while not self._stop.is_set():
                now = self.clock()
                deadline = self.display.next_deadline(now)
                timeout = 0.2 if deadline is None else min(0.2, max(0.0, deadline - now))
                try:
                    kind, payload = self._events.get(timeout=timeout)
                except queue.Empty:
                    kind, payload = "tick", None
                self._handle(kind, payload)
                self._emit(self.display.tick(self.clock()))
                self._release()
                if self._eof and self._finished():
                    break
        finally:
            self._stop.set()
            self.source.close()
            if self._live is not None:
                self._live.close()
            self._fetcher.close()
            worker.join(timeout=2.0)
        return 1 if self.error is not None else 0

    def stop(self) -> None:
        """Ask :meth:`run` to return (from any thread)."""
        self._stop.set()
        self._events.put(("tick", None))

    def _finished(self) -> bool:
        # a dropped untrusted trigger's fetch is waited for too (bounded by the give-up), so
        # it is counted before a file's run ends
        return (
            not self._order
            and self.display.pending == 0
            and not any(h.dropped for h in self._heard.values())
        )

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "det":
            self._on_detection(*payload)
        elif kind == "fetched":
            self._on_fetched(payload)
        elif kind == "live":
            self._on_live(payload)
        elif kind == "live_rejected":
            self._tell(payload[0], payload[1])
        elif kind == "status":
            for o in self.outputs:
                o.status(payload)
        elif kind == "error":
            self.error = payload
            for o in self.outputs:
                o.status(f"error: {payload}")
        elif kind == "listening":
            for o in self.outputs:
                o.listening(payload)
        elif kind == "eof":
            self._eof = True

    def _on_detection(self, det: Any, wall: float, mono: float, stream_s: float) -> None:
        ch, seq = int(det.channel), int(det.seq)
        if self.settings.channel is not None and ch != self.settings.channel:
            self.ignored_other_channel += 1
            return
        self._newest_channel = ch
        if ch not in self._trusted:
            self._hearings[ch] = self._hearings.get(ch, 0) + 1
            if self._hearings[ch] >= 2:
                self._trust(ch, seq)  # heard twice: no false ID
        if (ch, seq) in self._heard:
            return  # a repeat of the same trigger costs nothing
        if self.current_channel is None:
            # the first channel heard: joined at once at this trigger, so the stream starts with
            # its caption as it stands and the first words show now (a held GET would answer at
            # the next revision); a refusal is told only if the channel is heard again
            self._follow(ch, seq)
        elif ch != self.current_channel and ch in self._trusted:
            self._follow(ch, seq)
        # else: another channel not trusted yet: followed once the archive confirms it
        heard = TriggerHeard(
            ch,
            seq,
            str(det.profile),
            float(det.start_s),
            float(det.end_s),
            float(det.snr_db),
            wall,
            mono,
            stream_s,
        )
        self._heard[(ch, seq)] = heard
        if len(self._heard) > 4 * self.settings.cache_size:
            # Forget the oldest resolved triggers (never one still waiting for its caption).
            old = [k for k, h in self._heard.items() if h.result is not None]
            for k in old[: len(old) // 2]:
                del self._heard[k]
        self._order.append(heard)
        assert self._fetcher is not None
        cached = self._fetcher.cache.get((ch, seq))
        if cached is not None and not bool(getattr(cached, "final", True)):
            # The live WebSocket brought the first words before the trigger: show them now;
            # the fetch below brings the final text, which replaces them in place.
            heard.resolve(FetchResult(ch, seq, cached, "partial", 0), self.clock())
        self._fetcher.request(ch, seq)

    def _follow(self, ch: int, seq: int) -> None:
        """Follow channel ``ch``, joining its live stream at the trigger ``seq``."""
        if ch == self.current_channel:
            return
        self.current_channel = ch
        if self._live is not None:
            self._live.follow(ch, from_seq=seq)

    def _trust(self, ch: int, seq: int) -> None:
        """Trust channel ``ch`` (the archive has a caption of it, or it was heard twice).

        It is followed (joined at its trigger ``seq``) if the newest trigger heard is on it, and
        its failures held back so far are told.
        """
        if ch in self._trusted:
            return
        self._trusted.add(ch)
        self._hearings.pop(ch, None)
        if self._newest_channel == ch:  # not when the viewer has already moved on from it
            self._follow(ch, seq)
        for msg in self._untold.pop(ch, []):
            for o in self.outputs:
                o.status(msg)

    def _tell(self, ch: int, msg: str) -> None:
        """Tell the viewer ``msg`` about channel ``ch`` now if trusted, else once it is."""
        if ch in self._trusted:
            for o in self.outputs:
                o.status(msg)
        else:
            self._untold.setdefault(ch, []).append(msg)

    def _on_fetched(self, result: FetchResult) -> None:
        heard = self._heard.get((result.channel, result.seq))
        if heard is None:
            return
        if result.caption is not None:
            self._trust(result.channel, result.seq)
        if heard.dropped:
            # left the order untrusted: shown now if the archive has it, else counted
            heard.dropped = False
            heard.resolve(result, self.clock())
            self._deliver(heard, result)
            return
        if heard.result is not None:
            # It was shown early from a live partial; the fetched final text replaces it.
            if result.caption is not None and heard not in self._order:
                # the live stream may already have brought a newer revision (a correction)
                assert self._fetcher is not None
                newest = self._fetcher.cache.get((result.channel, result.seq))
                self._update_in_place(newest if newest is not None else result.caption)
            heard.result = result if result.caption is not None else heard.result
            return
        heard.resolve(result, self.clock())

    def _update_in_place(self, caption: Any) -> None:
        if self._is_stale(caption) and not self.settings.timeshift:
            return
        self._emit(self.display.offer(self._item(caption), self.clock()))

    def _on_live(self, caption: Any) -> None:
        assert self._fetcher is not None
        key = (int(caption.channel), int(caption.seq))
        self._fetcher.cache.put(key, caption)
        if key[0] == self.current_channel:
            self._trust(key[0], key[1])  # the live join succeeded: the channel exists
        heard = self._heard.get(key)
        if heard is None:
            return  # not heard yet: the cache makes its trigger resolve without a request
        if heard.result is None:
            if not bool(getattr(caption, "final", True)):
                # Heard, and its text is still being spoken: show the partial now, the final
                # text replaces it in place when the fetch completes.
                heard.resolve(FetchResult(key[0], key[1], caption, "partial", 0), self.clock())
            return
        # Already on (or through) the screen: a partial growing or a correction.
        self._update_in_place(caption)

    def _release(self) -> None:
        """Hand resolved captions to the display in the order their triggers were heard."""
        now = self.clock()
        while self._order:
            head = self._order[0]
            if head.result is None:
                later_done = any(h.result is not None for h in self._order[1:])
                if (
                    later_done
                    and self.order_hold_s is not None
                    and head.channel not in self._trusted
                ):
                    # an untrusted trigger (perhaps a false ID) holds nothing
                    self._order.pop(0)
                    head.dropped = True
                    continue
                if not (
                    later_done
                    and self.order_hold_s is not None
                    and now - head.decoded_mono > self.order_hold_s
                ):
                    return
            self._order.pop(0)
            if head.result is not None:
                self._deliver(head, head.result)

    def _is_stale(self, caption: Any) -> bool:
        on_air = _parse_time(getattr(caption, "end_at", None)) or _parse_time(
            getattr(caption, "start_at", None)
        )
        if on_air is None:
            return False
        age = (dt.datetime.now(dt.UTC) - on_air).total_seconds()
        return age > self.settings.stale_after_s

    def _item(self, caption: Any) -> CaptionItem:
        stale = self._is_stale(caption)
        return CaptionItem(
            channel=int(caption.channel),
            seq=int(caption.seq),
            text=str(caption.text),
            final=bool(getattr(caption, "final", True)),
            marker="recorded" if stale else None,
        )

    def _deliver(self, heard: TriggerHeard, result: FetchResult) -> None:
        cap = result.caption
        if cap is None:
            if heard.channel not in self._trusted and result.reason != "unreachable":
                self.unconfirmed_triggers += 1
            else:
                self.missing += 1
            why = {
                "unreachable": "the archive stayed unreachable",
                "missing": "the archive has no caption for it",
                "unknown_channel": "the archive has no such channel",
            }.get(result.reason, result.reason)
            self._tell(heard.channel, f"no caption for channel {heard.channel} #{heard.seq}: {why}")
            return
        if self._is_stale(cap) and not self.settings.timeshift:
            self.stale_suppressed += 1
            on_air = getattr(cap, "end_at", None) or getattr(cap, "start_at", None)
            for o in self.outputs:
                o.status(
                    f"not shown: caption {heard.channel} #{heard.seq} was on air at {on_air}, "
                    f"over {self.settings.stale_after_s:g} s ago (a recording or replayed "
                    "trigger); use --timeshift to show recorded programmes' captions"
                )
            return
        if self._shown_channel is not None and heard.channel != self._shown_channel:
            # said when the screen changes channel (in trigger order), so never of a channel
            # only a false ID was heard on
            for o in self.outputs:
                o.status(f"now following channel {heard.channel} (was {self._shown_channel})")
        self._shown_channel = heard.channel
        self._emit(self.display.offer(self._item(cap), self.clock()))

    def _emit(self, events: list[DisplayEvent]) -> None:
        if not events:
            return
        state = self.display.screen
        for o in self.outputs:
            o.screen(state)
        for ev in events:
            if ev.item is None:
                continue
            heard = self._heard.get(ev.item.key)
            cap = self._fetcher.cache.get(ev.item.key) if self._fetcher else None
            on_air = getattr(cap, "start_at", None) if cap is not None else None
            rec = CaptionShown(
                type="updated" if ev.kind == "updated" else "shown",
                channel=ev.item.channel,
                seq=ev.item.seq,
                text=ev.item.text,
                final=ev.item.final,
                stale=ev.item.marker == "recorded",
                profile=heard.profile if heard else "",
                trigger_start_s=round(heard.start_s, 4) if heard else None,
                trigger_end_s=round(heard.end_s, 4) if heard else None,
                decoded_stream_s=round(heard.decoded_stream_s, 4) if heard else None,
                decoded_wall=round(heard.decoded_wall, 4) if heard else None,
                fetched_wall=(
                    round(heard.resolved_wall, 4)
                    if heard and heard.resolved_wall is not None
                    else None
                ),
                shown_wall=round(time.time(), 4),
                stream_start_wall=getattr(self.source, "start_wall", None),
                on_air=on_air.isoformat() if isinstance(on_air, dt.datetime) else on_air,
            )
            for o in self.outputs:
                o.shown(rec)
