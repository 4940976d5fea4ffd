"""``jimaku demo --live``: the same chain through the real speaker, room and microphone.

The broadcaster plays the programme on the output device (device output paces it in real time) and
the receiver listens on the input device at the same time. Times are real wall-clock times, put on
the programme clock by subtracting the broadcaster's ``wall_start`` (its programme sample 0).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from jimaku.demo.archive_proc import ArchiveProcess, jimaku_command
from jimaku.demo.errors import DemoError, StageFailed
from jimaku.demo.events import (
    broadcast_captions,
    broadcast_progress_s,
    read_jsonl_events,
    shown_captions,
)
from jimaku.demo.programme import AIR_RATE_HZ, Programme, load_announcer, write_programme
from jimaku.demo.stages import run_broadcaster
from jimaku.demo.timing import AiredTrigger, CaptionTiming, build_timings

__all__ = ["first_sentences", "live_timings", "run_live_demo"]

#: How long the receiver keeps listening after the broadcaster finished (s): the last caption's
#: trigger airs at the end and its fetch takes a moment.
_TAIL_LISTEN_S = 4.0
#: How long the receiver gets to open the microphone before the programme starts (s).
_WARMUP_S = 3.0


class _Reader(threading.Thread):
    """Collect a subprocess's JSON lines (stdout) into a list and a log file, as they come."""

    def __init__(self, stream: IO[bytes], log_path: Path) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.log_path = log_path
        self.events: list[dict[str, Any]] = []

    def run(self) -> None:
        with self.log_path.open("w", encoding="utf-8") as log:
            for event in read_jsonl_events(self.stream, log):
                self.events.append(event)  # others read the list while it grows


def live_timings(
    b_events: list[dict[str, Any]],
    r_events: list[dict[str, Any]],
    sentences: Any,
    channel: int,
    delay_s: float,
    airtime_s: float,
) -> list[CaptionTiming]:
    """Put a live run's captions on the programme clock.

    Parameters
    ----------
    b_events, r_events : list of dict
        The broadcaster's and the receiver's JSON lines.
    sentences : sequence of Sentence
        The programme's speech.
    channel : int
        The channel.
    delay_s : float
        The broadcaster's delay.
    airtime_s : float
        The trigger's airtime (s), to mark where each airing ends.

    Returns
    -------
    list of CaptionTiming
        As :func:`~jimaku.demo.timing.build_timings`; decoding times are the receiver's wall
        times minus the broadcaster's ``wall_start``.
    """
    started = [e for e in b_events if e.get("type") == "started"]
    if not started:
        raise StageFailed("the broadcaster's log has no 'started' event")
    start = datetime.fromisoformat(str(started[0]["wall_start"])).timestamp()
    captions = broadcast_captions(b_events, start)
    aired = [
        AiredTrigger(channel, c.seq, t, t + airtime_s) for c in captions for t in c.trigger_at_s
    ]
    # the receiver's trigger positions are on its own stream: put them on the programme clock
    shown = [
        s
        if s.trigger_s is None or s.stream_start_wall is None
        else replace(s, trigger_s=s.trigger_s + s.stream_start_wall - start)
        for s in shown_captions(r_events, start)
    ]
    return build_timings(captions, aired, shown, sentences, channel, delay_s)


def first_sentences(programme: Programme, n: int, tail_s: float = 1.5) -> Programme:
    """Cut the programme after its *n*-th sentence (plus *tail_s* of what follows it).

    Parameters
    ----------
    programme : Programme
        The announcer programme.
    n : int
        Sentences to keep (>= 1; more than there are keeps them all).
    tail_s : float
        Audio kept after the last kept sentence (s), so its final comes out.

    Raises
    ------
    DemoError
        *n* < 1.
    """
    if n < 1:
        raise DemoError(f"--utterances must be at least 1, got {n}")
    kept = programme.sentences[:n]
    end = min(len(programme.audio), round((kept[-1].end_s + tail_s) * programme.sample_rate_hz))
    return replace(
        programme,
        audio=programme.audio[:end],
        sentences=kept,
        source=f"{programme.source}, first {len(kept)}",
    )


def run_live_demo(args: argparse.Namespace) -> int:
    """Run the demo on the real sound devices; returns the exit code."""
    from rich.console import Console

    from jimaku.demo.report import RichReporter, print_timings
    from trigger_codec import airtime_s

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    if not console.is_terminal:
        console = Console(width=130)
    console.print(
        "[bold]jimaku demo --live[/bold]: the programme plays on the speaker; the "
        "receiver listens on the microphone. Keep the volume at a normal level."
    )
    programme = load_announcer()
    if args.utterances:
        programme = first_sentences(programme, args.utterances)
    prog_path = out / "programme.wav"
    write_programme(programme, prog_path, AIR_RATE_HZ)
    out_dev = args.output_device or "default"
    in_dev = args.input_device
    with RichReporter() as rep, ArchiveProcess(out / "archive") as archive:
        rep.stage("archive server")
        channel, token = archive.add_channel("jimaku live demo")
        rep.done(f"{archive.url}, channel {channel}")
        rep.stage("receiver (mic)")
        r_cmd = jimaku_command(
            "receive",
            *(["--input-device", in_dev] if in_dev else []),
            "--json",
            "--tui",
            "off",
            "--archive",
            archive.url,
        )
        r_err = (out / "receiver.stderr").open("wb")
        recv = subprocess.Popen(
            r_cmd,
            stdout=subprocess.PIPE,
            stderr=r_err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert recv.stdout is not None
        reader = _Reader(recv.stdout, out / "receiver.jsonl")
        reader.start()
        try:
            time.sleep(_WARMUP_S)
            if recv.poll() is not None:
                r_err.close()
                text = (out / "receiver.stderr").read_text(errors="replace").strip()
                mic = in_dev or "the default microphone"
                raise StageFailed(
                    f"the receiver could not listen on {mic}: "
                    f"{text.splitlines()[-1] if text else recv.returncode}"
                )
            rep.done(f"listening on {in_dev or 'the default microphone'}")
            rep.stage("broadcaster", total=programme.duration_s)

            def on_event(ev: dict[str, Any]) -> None:
                pos = broadcast_progress_s(ev)
                if pos is not None:
                    rep.advance(pos, str(ev.get("text", ""))[:40])

            b_run = run_broadcaster(
                prog_path,
                Path(out_dev),
                archive.url,
                channel,
                token,
                out / "broadcaster.jsonl",
                args.delay,
                on_event,
            )
            rep.done("programme played")
            time.sleep(_TAIL_LISTEN_S)
        finally:
            if recv.poll() is None:
                recv.terminate()  # SIGTERM: SIGINT may be ignored (demo run in the background)
                try:
                    recv.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    recv.kill()
                    recv.wait()
            reader.join(timeout=5)
            r_err.close()
        import httpx

        try:
            vtt = httpx.get(f"{archive.url}/v1/channels/{channel}/captions.vtt", timeout=10)
            (out / "captions.vtt").write_text(vtt.text, encoding="utf-8")
        except httpx.HTTPError as exc:
            raise DemoError(f"exporting the captions as WebVTT failed: {exc}") from exc
    profile = next(
        (str(e.get("profile")) for e in b_run.events if e.get("type") == "started"), "hf"
    )
    timings = live_timings(
        b_run.events, reader.events, programme.sentences, channel, args.delay, airtime_s(profile)
    )
    print_timings(timings, args.delay, console, bundled=programme.bundled)
    never = [t.seq for t in timings if t.shown_s is None]
    if never:
        console.print(
            f"[red]captions never shown: {never}[/red] (is the speaker loud enough, "
            "and does it reproduce 17-19.5 kHz? try the broadcaster's --profile robust)"
        )
        return 1
    return 0
