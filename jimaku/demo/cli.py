"""``jimaku demo``: the whole chain on the bundled announcer recording, explained as it runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["register", "run"]

_DESCRIPTION = """\
Run the whole jimaku chain on this machine: start an archive server (loopback, temporary SQLite),
create a channel, run the broadcaster on the bundled announcer recording (speech recognition,
captions stored, triggers mixed into the programme), play the on-air audio through a simulated
living room into a phone microphone (44.1 kHz), and run the broadcaster and the receiver side by
side in real time; print every caption as the viewer saw it beside the sentence that was spoken,
with its character error rate and its timing on the programme clock (see docs/demo.md).
--programme FILE runs it on your own recording (--transcript TXT: what is said in it, one
sentence per line; --model M: a vosk model for its language).
Writes DIR/ (default demo-out/): onair.wav, phone-recording.wav, captions.vtt, receiver.jsonl,
broadcaster.jsonl, timings.json.
With --live the on-air audio goes to the real speaker and the receiver listens on the real
microphone instead of the simulated room."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``jimaku demo``."""
    p = subparsers.add_parser(
        "demo",
        help="run the whole chain end to end on a bundled recording",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        metavar="DIR",
        help="output folder (default: demo-out)",
    )
    p.add_argument(
        "--delay",
        type=float,
        default=0.0,
        metavar="S",
        help="synchronous mode: delay the programme by S seconds so captions appear "
        "with the speech (try 2.5); default 0 = live mode",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="use the real sound devices: play the on-air audio on the speaker and "
        "listen with the microphone",
    )
    p.add_argument(
        "--output-device",
        default=None,
        metavar="DEV",
        help="with --live: speaker device (name or index; default: system default)",
    )
    p.add_argument(
        "--input-device",
        default=None,
        metavar="DEV",
        help="with --live: microphone device (name or index; default: system default)",
    )
    p.add_argument(
        "--utterances",
        type=int,
        default=None,
        metavar="N",
        help="broadcast N sentences re-placed from the recording instead of it as is "
        "(with --live: its first N sentences)",
    )
    p.add_argument(
        "--room",
        default="near-tv",
        metavar="PRESET",
        help="the room: near-tv (default: phone 1 m from the TV, RT60 0.2 s) or a "
        "channel_sim preset such as living-room (RT60 0.4 s, 2.5 m), kitchen, "
        "bedroom, radio-mp3",
    )
    p.add_argument(
        "--programme",
        type=Path,
        default=None,
        metavar="FILE",
        help="broadcast your own recording (WAV/FLAC/MP3/...) instead of the bundled announcer",
    )
    p.add_argument(
        "--transcript",
        type=Path,
        default=None,
        metavar="TXT",
        help="with --programme: what is said in it, one sentence per line (UTF-8), to show "
        "beside each caption with its character error rate",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="M",
        help="vosk model for the broadcaster (directory or installed name; default: Korean)",
    )
    p.add_argument("--seed", type=int, default=20261128, help="seed for the room and layout")
    p.set_defaults(func=run, extra="all")


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code (0 ok, 2 a clear error was printed)."""
    import sys

    from jimaku.demo.errors import DemoError

    try:
        _check_out_dir(args.out)
        if args.delay < 0 or args.delay > 30:
            raise DemoError(f"--delay {args.delay} is out of range; use 0 (live) to 30 seconds")
        if args.live and args.programme is not None:
            raise DemoError("--programme runs through the simulated room; not with --live")
        if args.live:
            from jimaku.demo.live import run_live_demo

            return run_live_demo(args)
        return _run_file_demo(args)
    except DemoError as exc:
        print(f"jimaku demo: {exc}", file=sys.stderr)
        return 2


def _check_out_dir(out: str | os.PathLike[str]) -> None:
    """Create the output folder now, so a bad ``--out`` is one line before anything starts."""
    from jimaku.demo.errors import DemoError

    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(
            f"cannot create the output folder {str(out)!r} ({exc.strerror or exc}); "
            "pick another with --out"
        ) from None


def _run_file_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from jimaku.demo.chain import ChainSettings, run_chain
    from jimaku.demo.errors import DemoError
    from jimaku.demo.programme import load_programme_file
    from jimaku.demo.report import RichReporter, print_timings
    from jimaku.demo.transcript import load_transcript

    if args.transcript is not None and args.programme is None:
        raise DemoError("--transcript goes with --programme FILE (the bundled one is known)")
    if args.programme is not None and args.utterances is not None:
        raise DemoError("--utterances re-places the bundled sentences; not with --programme")
    programme = None
    if args.programme is not None:
        transcript = load_transcript(args.transcript) if args.transcript is not None else ()
        programme = load_programme_file(args.programme, transcript)
    try:
        settings = ChainSettings(
            out_dir=args.out,
            delay_s=args.delay,
            n_utterances=args.utterances,
            seed=args.seed,
            room_preset=args.room,
            programme=programme,
            broadcaster_args=("--model", args.model) if args.model else (),
        )
    except ValueError as exc:
        raise DemoError(str(exc)) from exc
    console = Console()
    if not console.is_terminal:
        console = Console(width=130)  # a log file, not a screen: no need to wrap at 80 columns
    console.print(
        "[bold]jimaku demo[/bold]: broadcaster -> archive -> on-air audio -> living room -> "
        f"phone -> captions ({'live' if not args.delay else f'delay {args.delay:g} s'})"
    )
    with RichReporter() as rep:
        result = run_chain(settings, rep)
    print_timings(result.timings, settings.delay_s, console, bundled=result.programme.bundled)
    console.print("\nwritten:")
    for name, path in result.paths.items():
        console.print(f"  {name:<16} {path}")
    never = [t.seq for t in result.timings if t.shown_s is None]
    if never:
        console.print(f"[red]captions never shown: {never}")
        return 1
    return 0
