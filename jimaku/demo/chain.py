"""The whole chain, file to file: archive, broadcaster, living room, receiver, timings.

:func:`run_chain` is what ``jimaku demo``, ``tests/test_system.py`` and
``benchmarks/bench_latency.py`` all run, so the demo a newcomer sees is the chain the test checks
and the bench measures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from jimaku.demo.archive_proc import ArchiveProcess
from jimaku.demo.detect import aired_triggers
from jimaku.demo.events import broadcast_captions, broadcast_progress_s, shown_captions
from jimaku.demo.programme import Programme, build_long_programme, load_announcer, write_programme
from jimaku.demo.stages import (
    ROOM_PRESET,
    JsonlProcess,
    JsonlRun,
    broadcaster_args,
    check_room,
    feed_in_real_time,
    receiver_args,
    run_broadcaster,
    run_receiver,
    simulate_room,
)
from jimaku.demo.timing import (
    AiredTrigger,
    BroadcastCaption,
    CaptionTiming,
    ShownCaption,
    build_timings,
)
from jimaku.demo.transcript import align_to_transcript

#: Silence before the phone recording in the real-time run (s): the programme is fed to the
#: broadcaster from the moment the receiver's stream reaches the recording's first sample, so
#: both start on one clock (the receiver announces its stream start only once it is running).
PHONE_LEAD_IN_S = 1.0
#: Silence after it (s): the viewer's phone keeps listening after the programme ends while the
#: last utterance's final is recognised and stored (its text replaces the partial on screen).
#: The receiver is stopped earlier, once every final is on screen (:data:`FINAL_GRACE_S`).
PHONE_TAIL_S = 120.0
#: After the broadcaster is done, how long the receiver may take to show the last finals (s).
FINAL_GRACE_S = 15.0

__all__ = [
    "FINAL_GRACE_S",
    "PHONE_LEAD_IN_S",
    "PHONE_TAIL_S",
    "ChainResult",
    "ChainSettings",
    "NullReporter",
    "Reporter",
    "run_chain",
]


@dataclass(frozen=True)
class ChainSettings:
    """How to run the chain.

    Attributes
    ----------
    out_dir : Path
        Where every artefact goes (``demo-out/`` for the demo).
    delay_s : float
        Broadcaster programme delay: 0 is live mode, > 0 synchronous mode.
    n_utterances : int or None
        ``None``: the bundled announcer recording as it is; N: a programme of N sentences re-placed
        from it (:func:`~jimaku.demo.programme.build_long_programme`).
    seed : int
        Seed for the long programme's layout and the room's random parts.
    room_preset : str
        ``channel_sim.PRESETS`` entry for the living room.
    channel_name : str
        Name of the archive channel the chain creates.
    broadcaster_args, receiver_args : tuple of str
        Extra flags for ``jimaku broadcast`` / ``jimaku receive``.
    realtime : bool
        Run the broadcaster and the receiver at the same time in real time (default): the
        programme is fed to the broadcaster at its own pace while the receiver listens to the
        phone recording at its own pace, so every time on the programme clock is a component's
        own stamp (see :mod:`jimaku.demo.timing`). ``False``: both as fast as they go, one after
        the other (delivery and text only; no viewer-side times).
    programme : Programme or None
        What to broadcast (``None``: the bundled announcer recording).
    """

    out_dir: Path
    delay_s: float = 0.0
    n_utterances: int | None = None
    seed: int = 20261128
    room_preset: str = ROOM_PRESET
    channel_name: str = "jimaku demo"
    broadcaster_args: tuple[str, ...] = ()
    receiver_args: tuple[str, ...] = ()
    realtime: bool = True
    programme: Programme | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.delay_s <= 30.0:
            raise ValueError(f"delay_s must be within 0-30 s, got {self.delay_s}")
        if self.n_utterances is not None and self.programme is not None:
            raise ValueError("n_utterances re-places the bundled sentences; not with a programme")
        if self.n_utterances is not None and self.n_utterances < 1:
            raise ValueError(f"n_utterances must be >= 1 or None, got {self.n_utterances}")


class Reporter(Protocol):
    """Progress sink: the console UI or nothing (tests)."""

    def stage(self, name: str, total: float | None = None) -> None:
        """Begin a new stage (``total``: its amount of work, e.g. programme seconds)."""

    def advance(self, completed: float, detail: str = "") -> None:
        """Report that the current stage has done ``completed`` of its total."""

    def done(self, detail: str = "") -> None:
        """Mark the current stage as finished."""


class NullReporter:
    """A :class:`Reporter` that shows nothing."""

    def stage(self, name: str, total: float | None = None) -> None:  # noqa: D102
        pass

    def advance(self, completed: float, detail: str = "") -> None:  # noqa: D102
        pass

    def done(self, detail: str = "") -> None:  # noqa: D102
        pass


@dataclass
class ChainResult:
    """Everything the chain produced and measured.

    Attributes
    ----------
    settings : ChainSettings
        How it ran.
    programme : Programme
        The announcer programme (with the truth about its speech).
    channel : int
        The archive channel created for the run.
    captions : list of BroadcastCaption
        What the broadcaster reported, in its order.
    archive_captions : list of dict
        What the archive holds for the channel after the run (``Caption`` JSON), by seq.
    aired : list of AiredTrigger
        Triggers found in the on-air audio.
    shown : list of ShownCaption
        The receiver's shown captions, in its order (duplicates kept: the test checks them).
    timings : list of CaptionTiming
        Each caption on the programme clock.
    onair_rate_hz, phone_rate_hz : int
        Sample rates of the on-air audio and the phone recording.
    cpu_s : dict of str to float
        CPU seconds used per stage (broadcaster and receiver processes, room, decoding).
    wall_s : dict of str to float
        Wall-clock seconds per stage.
    paths : dict of str to Path
        Artefacts written (``onair``, ``phone``, ``vtt``, ``receiver_log``, ``broadcaster_log``,
        ``timings``).
    rehearsal : list of BroadcastCaption
        The captions of the rehearsal run that made the on-air audio for the room.
    onair_matches : bool
        The measured run aired the same triggers at the same samples as the rehearsal (so the
        phone recording is what its room would have recorded), or, ``--fast``, made the same
        captions.
    origin_wall : float or None
        POSIX time the broadcaster was fed its first programme sample (real-time runs).
    feed_lag_s : float or None
        Largest lag of the programme feed behind real time (the broadcaster did not keep up
        when this is large).
    """

    settings: ChainSettings
    programme: Programme
    channel: int
    captions: list[BroadcastCaption]
    archive_captions: list[dict[str, Any]]
    aired: list[AiredTrigger]
    shown: list[ShownCaption]
    timings: list[CaptionTiming]
    onair_rate_hz: int
    phone_rate_hz: int
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: dict[str, float] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    rehearsal: list[BroadcastCaption] = field(default_factory=list)
    onair_matches: bool = False
    origin_wall: float | None = None
    feed_lag_s: float | None = None


@contextmanager
def _timed(name: str, cpu: dict[str, float], wall: dict[str, float]) -> Iterator[None]:
    c0, w0 = time.process_time(), time.monotonic()
    try:
        yield
    finally:
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0
        wall[name] = wall.get(name, 0.0) + time.monotonic() - w0


def run_chain(settings: ChainSettings, reporter: Reporter | None = None) -> ChainResult:
    """Run the whole chain once and measure every caption's timing.

    Parameters
    ----------
    settings : ChainSettings
        What to run.
    reporter : Reporter, optional
        Progress display (nothing when omitted).

    Returns
    -------
    ChainResult
        Artefacts in ``settings.out_dir`` and the measurements.

    Raises
    ------
    DemoError
        A component is missing or a stage failed (the message says which and what to do).
    """
    from audio_io import read_audio, write_audio

    rep: Reporter = reporter or NullReporter()
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    paths: dict[str, Path] = {}

    check_room(settings.room_preset)  # before anything starts: a typo costs nothing
    rep.stage("programme")
    with _timed("programme", cpu, wall):
        programme = settings.programme or load_announcer()
        if settings.n_utterances is not None:
            programme = build_long_programme(
                programme, settings.n_utterances, np.random.default_rng(settings.seed)
            )
        paths["programme"] = out / "programme.wav"
        write_programme(programme, paths["programme"])
    rep.done(f"{programme.source}, {programme.duration_s:.1f} s")

    def on_broadcast(event: dict[str, Any]) -> None:
        pos = broadcast_progress_s(event)
        if pos is not None:
            rep.advance(pos, str(event.get("text", ""))[:40])

    rep.stage("archive server (rehearsal)")
    with ArchiveProcess(out / "rehearsal-archive") as archive:
        channel, token = archive.add_channel(settings.channel_name)
        rep.done(f"{archive.url}, channel {channel}")

        # The rehearsal makes the on-air audio the room needs before a phone can hear it. The
        # broadcaster runs in lockstep on file input, so the real-time run below airs the very
        # same audio (checked: ``onair_matches``).
        rep.stage("broadcaster (rehearsal)", total=programme.duration_s)
        paths["onair"] = out / "onair.wav"
        paths["rehearsal_log"] = out / "broadcaster-rehearsal.jsonl"
        b_run = run_broadcaster(
            paths["programme"],
            paths["onair"],
            archive.url,
            channel,
            token,
            paths["rehearsal_log"],
            settings.delay_s,
            on_broadcast,
            settings.broadcaster_args,
            state_dir=out / "rehearsal-state",
        )
        _account(b_run, "broadcaster_rehearsal", cpu, wall)
        rehearsal = broadcast_captions(b_run.events)
        rep.done(f"{len(rehearsal)} captions")

    rep.stage("living room")
    with _timed("room", cpu, wall):
        onair, onair_sr = read_audio(paths["onair"])
        aired = aired_triggers(onair, onair_sr)
        phone, phone_sr = simulate_room(
            onair,
            onair_sr,
            settings.seed,
            settings.room_preset,
            triggers_only=_triggers_only(onair, onair_sr, paths["programme"], settings.delay_s),
        )
        paths["phone"] = out / "phone-recording.wav"
        write_audio(paths["phone"], phone, phone_sr)
        # What the phone hears in the real-time run: a lead-in while the broadcaster starts, the
        # recording, and the room going on after the programme (the last caption's final comes
        # out after the input ended, and a live receiver is still listening then).
        paths["phone_rt"] = out / "phone-recording-realtime.wav"
        write_audio(
            paths["phone_rt"],
            np.concatenate(
                [
                    np.zeros(round(PHONE_LEAD_IN_S * phone_sr), np.float32),
                    phone,
                    np.zeros(round(PHONE_TAIL_S * phone_sr), np.float32),
                ]
            ),
            phone_sr,
        )
    rep.done(f"{len(aired)} trigger airings on air, phone at {phone_sr} Hz")

    n_seen = 0

    def on_receive(event: dict[str, Any]) -> None:
        nonlocal n_seen
        if event.get("type") == "shown":
            n_seen += 1
            rep.advance(n_seen, f"#{event.get('seq')} {event.get('text', '')}"[:40])

    paths["broadcaster_log"] = out / "broadcaster.jsonl"
    paths["receiver_log"] = out / "receiver.jsonl"
    origin_wall: float | None = None
    feed_lag_s = None
    rep.stage("archive server")
    with ArchiveProcess(out / "archive") as archive:
        channel_live, token = archive.add_channel(settings.channel_name, channel)
        rep.done(
            f"{archive.url}, channel {channel_live}; the caption page: open {archive.url}/ in a "
            "browser on this computer and tap Start (phones: docs/receiver.md)"
        )
        if settings.realtime:
            rep.stage("broadcaster + receiver, real time", total=float(len(rehearsal)) or None)
            prog, prog_sr = read_audio(paths["programme"])
            paths["onair_live"] = out / "onair-live.wav"
            b_proc = JsonlProcess(
                "broadcaster",
                broadcaster_args(
                    "-",
                    paths["onair_live"],
                    archive.url,
                    channel,
                    token,
                    settings.delay_s,
                    out / "broadcaster-state",
                    (
                        "--pcm-format",
                        "s16le",
                        "--pcm-rate",
                        str(prog_sr),
                        "--pcm-channels",
                        str(prog.shape[1] if prog.ndim == 2 else 1),
                        *settings.broadcaster_args,
                    ),
                ),
                paths["broadcaster_log"],
                stdin_pipe=True,
            )
            r_proc: JsonlProcess | None = None
            try:
                b_proc.wait_for("started", timeout_s=120)  # the model is loaded
                r_proc = JsonlProcess(
                    "receiver",
                    receiver_args(paths["phone_rt"], archive.url, True, settings.receiver_args),
                    paths["receiver_log"],
                    on_receive,
                )
                listening = r_proc.wait_for("listening", timeout_s=120)
                # the programme starts where the phone recording does, after its lead-in
                phone_zero = float(listening["stream_start_wall"]) + PHONE_LEAD_IN_S
                origin_wall, feed_lag_s = feed_in_real_time(
                    b_proc.stdin, prog, prog_sr, start_wall=phone_zero
                )
                b_run = b_proc.finish(timeout_s=programme.duration_s + 300)
                # The phone goes on listening until every caption's final text is on screen
                # (the last one's final comes out after the programme ended, later still when
                # the broadcaster lagged), then there is nothing more to see.
                made = {int(e["seq"]) for e in b_run.events if e.get("type") == "caption"}

                def all_final(events: list[dict[str, Any]]) -> bool:
                    final = {
                        int(e["seq"])
                        for e in events
                        if e.get("type") in ("shown", "updated") and e.get("final") is True
                    }
                    return made <= final

                r_proc.wait_until(all_final, timeout_s=FINAL_GRACE_S)
                r_run = r_proc.stop()
            finally:
                b_proc.kill()
                if r_proc is not None:
                    r_proc.kill()
            _account(b_run, "broadcaster", cpu, wall)
            _account(r_run, "receiver", cpu, wall)
            captions = broadcast_captions(b_run.events, origin_wall)
            # the receiver's stream positions include the lead-in: back to the recording's
            shown = [
                replace(
                    s,
                    trigger_s=None if s.trigger_s is None else s.trigger_s - PHONE_LEAD_IN_S,
                    decoded_stream_s=(
                        None if s.decoded_stream_s is None else s.decoded_stream_s - PHONE_LEAD_IN_S
                    ),
                )
                for s in shown_captions(r_run.events, origin_wall)
            ]
            onair_live, _ = read_audio(paths["onair_live"])
            onair_matches = _same_airings(aired, aired_triggers(onair_live, onair_sr))
        else:
            # --fast: the broadcaster again file to file, then the receiver through the
            # recording as fast as it decodes; there is no programme clock for the viewer side
            rep.stage("broadcaster", total=programme.duration_s)
            b_run = run_broadcaster(
                paths["programme"],
                out / "onair-again.wav",
                archive.url,
                channel,
                token,
                paths["broadcaster_log"],
                settings.delay_s,
                on_broadcast,
                settings.broadcaster_args,
                state_dir=out / "broadcaster-state",
            )
            _account(b_run, "broadcaster", cpu, wall)
            rep.stage("receiver", total=float(len(rehearsal)) or None)
            r_run = run_receiver(
                paths["phone"],
                archive.url,
                paths["receiver_log"],
                on_receive,
                settings.receiver_args,
                realtime=False,
            )
            _account(r_run, "receiver", cpu, wall)
            captions = broadcast_captions(b_run.events)
            shown = shown_captions(r_run.events)
            onair_matches = [(c.seq, c.text) for c in captions] == [
                (c.seq, c.text) for c in rehearsal
            ]
        rep.done(f"{len(captions)} captions stored, {len(shown)} shown")

        rep.stage("archive export")
        archive_captions = _fetch_archive(archive.url, channel)
        paths["vtt"] = out / "captions.vtt"
        paths["vtt"].write_text(_fetch_vtt(archive.url, channel), encoding="utf-8")
        rep.done(f"{len(archive_captions)} captions in the archive")

    if origin_wall is not None:
        captions = _stored_by_the_archive(captions, archive_captions, origin_wall)
    timings = build_timings(captions, aired, shown, programme.sentences, channel, settings.delay_s)
    if programme.transcript:
        # a user's recording: the spoken sentences come from their transcript, matched in order
        lines = programme.transcript
        matched = align_to_transcript([t.text for t in timings], lines)
        timings = [
            replace(t, spoken=None if i is None else lines[i])
            for t, i in zip(timings, matched, strict=True)
        ]
    result = ChainResult(
        settings,
        programme,
        channel,
        captions,
        archive_captions,
        aired,
        shown,
        timings,
        int(onair_sr),
        int(phone_sr),
        cpu,
        wall,
        paths,
        rehearsal,
        onair_matches,
        origin_wall,
        feed_lag_s,
    )
    paths["timings"] = out / "timings.json"
    paths["timings"].write_text(
        json.dumps(result_summary(result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def _triggers_only(
    onair: np.ndarray,
    sample_rate_hz: int,
    programme_path: Path,
    delay_s: float,
) -> np.ndarray:
    """On-air audio minus the (delayed) programme: the triggers the broadcaster mixed in.

    The room's noise is set by its in-band SNR against the trigger, so the channel simulator needs
    the trigger alone. The mixer's limiter only acts on peaks, so the difference is the triggers
    (plus whatever the limiter took off the programme, which the SNR then slightly overstates).
    """
    from audio_io import read_audio

    prog, _ = read_audio(programme_path)
    on = onair.mean(axis=1) if onair.ndim == 2 else onair
    pm = prog.mean(axis=1) if prog.ndim == 2 else prog
    shift = round(delay_s * sample_rate_hz)
    aligned = np.zeros(len(on), np.float32)
    seg = pm[: max(0, len(on) - shift)]
    aligned[shift : shift + len(seg)] = seg
    return (on - aligned).astype(np.float32)


def _stored_by_the_archive(
    captions: list[BroadcastCaption], archive_captions: list[dict[str, Any]], origin_wall: float
) -> list[BroadcastCaption]:
    """Time each final's storage by the archive's own stamp (its ``updated_at``).

    The broadcaster stamps its ``upload stored`` event when the PUT's answer is back, after the
    archive has committed the caption and pushed it to live followers: a receiver can show the
    text a few ms before that stamp. The archive's ``updated_at`` of the final revision is when it
    was stored (same machine, same wall clock); the broadcaster's acknowledgement stays in
    ``upload_s``.
    """
    from datetime import datetime

    stamp = {
        int(c["seq"]): datetime.fromisoformat(str(c["updated_at"])).timestamp() - origin_wall
        for c in archive_captions
        if c.get("final") and c.get("updated_at")
    }
    return [replace(c, stored_wall_s=stamp[c.seq]) if c.seq in stamp else c for c in captions]


def _same_airings(a: list[AiredTrigger], b: list[AiredTrigger], tol_s: float = 0.002) -> bool:
    """Tell whether two lists hold the same triggers at the same on-air times (within tol_s)."""
    if len(a) != len(b):
        return False
    return all(
        (x.channel, x.seq) == (y.channel, y.seq) and abs(x.start_s - y.start_s) <= tol_s
        for x, y in zip(sorted(a, key=_key), sorted(b, key=_key), strict=True)
    )


def _key(t: AiredTrigger) -> tuple[float, int]:
    return (t.start_s, t.seq)


def _account(run: JsonlRun, name: str, cpu: dict[str, float], wall: dict[str, float]) -> None:
    cpu[name] = run.cpu_s
    wall[name] = run.wall_s


def _fetch_archive(url: str, channel: int) -> list[dict[str, Any]]:
    import httpx

    from jimaku.demo.errors import StageFailed

    captions: list[dict[str, Any]] = []
    after = -1
    while True:
        try:
            resp = httpx.get(
                f"{url}/v1/channels/{channel}/captions",
                params={"after": after, "limit": 500},
                timeout=10.0,
            )
            resp.raise_for_status()
            batch = resp.json()["captions"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise StageFailed(f"listing the archive's captions at {url} failed: {exc}") from exc
        if not batch:
            return captions
        captions.extend(batch)
        after = int(batch[-1]["seq"])


def _fetch_vtt(url: str, channel: int) -> str:
    import httpx

    from jimaku.demo.errors import StageFailed

    try:
        resp = httpx.get(f"{url}/v1/channels/{channel}/captions.vtt", timeout=10.0)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise StageFailed(f"exporting the captions as WebVTT from {url} failed: {exc}") from exc
    return resp.text


def result_summary(result: ChainResult) -> dict[str, Any]:
    """Summarise a chain run: settings, per-caption timings, CPU and wall time.

    Parameters
    ----------
    result : ChainResult
        The run.

    Returns
    -------
    dict
        JSON-serialisable.
    """

    def caption_row(t: CaptionTiming) -> dict[str, Any]:
        row = asdict(t)
        row["latency_s"] = t.latency_s
        row["sync_error_s"] = t.sync_error_s
        row["cer"] = t.cer
        return row

    return {
        "programme": result.programme.source,
        "programme_s": round(result.programme.duration_s, 3),
        "delay_s": result.settings.delay_s,
        "channel": result.channel,
        "room_preset": result.settings.room_preset,
        "seed": result.settings.seed,
        "onair_rate_hz": result.onair_rate_hz,
        "phone_rate_hz": result.phone_rate_hz,
        "captions": [caption_row(t) for t in result.timings],
        "n_shown": len(result.shown),
        "realtime": result.settings.realtime,
        "onair_matches": result.onair_matches,
        "feed_lag_s": result.feed_lag_s,
        "cpu_s": result.cpu_s,
        "wall_s": result.wall_s,
    }
