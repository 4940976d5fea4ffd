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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from jimaku.demo.archive_proc import ArchiveProcess
from jimaku.demo.detect import aired_triggers, decode_with_positions
from jimaku.demo.events import broadcast_captions, broadcast_progress_s, shown_captions
from jimaku.demo.programme import Programme, build_long_programme, load_announcer, write_programme
from jimaku.demo.stages import (
    ROOM_PRESET,
    JsonlRun,
    check_room,
    run_broadcaster,
    run_receiver,
    simulate_room,
)
from jimaku.demo.timing import (
    AiredTrigger,
    BroadcastCaption,
    CaptionTiming,
    DecodedTrigger,
    ShownCaption,
    build_timings,
)

__all__ = ["ChainResult", "ChainSettings", "NullReporter", "Reporter", "run_chain"]


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
    plot : bool
        Draw the PNG timeline (``timeline.png``).
    receiver_realtime : bool
        Play the phone recording to the receiver in real time (default), so its display rules
        and clock behave as for a viewer; ``False`` runs it ``--fast`` (decode times then come
        from the chain's own decoder pass, and display holds are not meaningful).
    """

    out_dir: Path
    delay_s: float = 0.0
    n_utterances: int | None = None
    seed: int = 20261128
    room_preset: str = ROOM_PRESET
    channel_name: str = "jimaku demo"
    broadcaster_args: tuple[str, ...] = ()
    receiver_args: tuple[str, ...] = ()
    plot: bool = False
    receiver_realtime: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.delay_s <= 30.0:
            raise ValueError(f"delay_s must be within 0-30 s, got {self.delay_s}")
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
    decoded : list of DecodedTrigger
        Triggers decoded from the phone recording, with when they came back.
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
    """

    settings: ChainSettings
    programme: Programme
    channel: int
    captions: list[BroadcastCaption]
    archive_captions: list[dict[str, Any]]
    aired: list[AiredTrigger]
    decoded: list[DecodedTrigger]
    shown: list[ShownCaption]
    timings: list[CaptionTiming]
    onair_rate_hz: int
    phone_rate_hz: int
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: dict[str, float] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)


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
        programme = load_announcer()
        if settings.n_utterances is not None:
            programme = build_long_programme(
                programme, settings.n_utterances, np.random.default_rng(settings.seed)
            )
        paths["programme"] = out / "programme.wav"
        write_programme(programme, paths["programme"])
    rep.done(f"{programme.source}, {programme.duration_s:.1f} s")

    rep.stage("archive server")
    with ArchiveProcess(out / "archive") as archive:
        channel, token = archive.add_channel(settings.channel_name)
        rep.done(f"{archive.url}, channel {channel}")

        rep.stage("broadcaster", total=programme.duration_s)

        def on_broadcast(event: dict[str, Any]) -> None:
            pos = broadcast_progress_s(event)
            if pos is not None:
                rep.advance(pos, str(event.get("text", ""))[:40])

        paths["onair"] = out / "onair.wav"
        paths["broadcaster_log"] = out / "broadcaster.jsonl"
        b_run = run_broadcaster(
            paths["programme"],
            paths["onair"],
            archive.url,
            channel,
            token,
            paths["broadcaster_log"],
            settings.delay_s,
            on_broadcast,
            settings.broadcaster_args,
        )
        _account(b_run, "broadcaster", cpu, wall)
        captions = broadcast_captions(b_run.events, settings.delay_s)
        rep.done(f"{len(captions)} captions stored")

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
        rep.done(f"{len(aired)} trigger airings on air, phone at {phone_sr} Hz")

        rep.stage("phone decoder")
        with _timed("decode", cpu, wall):
            decoded = decode_with_positions(phone, phone_sr)
        rep.done(f"{len(decoded)} triggers heard")

        rep.stage("receiver", total=float(len(captions)) or None)
        n_seen = 0

        def on_receive(event: dict[str, Any]) -> None:
            nonlocal n_seen
            if event.get("event") == "shown":
                n_seen += 1
                rep.advance(n_seen, f"#{event.get('seq')} {event.get('text', '')}"[:40])

        paths["receiver_log"] = out / "receiver.jsonl"
        r_run = run_receiver(
            paths["phone"],
            archive.url,
            paths["receiver_log"],
            on_receive,
            settings.receiver_args,
            realtime=settings.receiver_realtime,
        )
        _account(r_run, "receiver", cpu, wall)
        shown = shown_captions(r_run.events, realtime=settings.receiver_realtime)
        rep.done(f"{len(shown)} captions shown")

        rep.stage("archive export")
        archive_captions = _fetch_archive(archive.url, channel)
        paths["vtt"] = out / "captions.vtt"
        paths["vtt"].write_text(_fetch_vtt(archive.url, channel), encoding="utf-8")
        rep.done(f"{len(archive_captions)} captions in the archive")

    timings = build_timings(
        captions, aired, decoded, shown, programme.sentences, channel, settings.delay_s
    )
    result = ChainResult(
        settings,
        programme,
        channel,
        captions,
        archive_captions,
        aired,
        decoded,
        shown,
        timings,
        int(onair_sr),
        int(phone_sr),
        cpu,
        wall,
        paths,
    )
    if settings.plot:
        from jimaku.demo.plot import plot_timeline

        rep.stage("timeline plot")
        paths["timeline"] = out / "timeline.png"
        mode = f"synchronous, delay {settings.delay_s:g} s" if settings.delay_s else "live"
        plot_timeline(
            paths["timeline"],
            onair,
            onair_sr,
            phone,
            phone_sr,
            timings,
            aired,
            decoded,
            channel,
            title=f"jimaku demo ({mode}): {programme.source}, room {settings.room_preset}",
        )
        rep.done(str(paths["timeline"]))
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
        "cpu_s": result.cpu_s,
        "wall_s": result.wall_s,
    }
