"""``jimaku broadcast``: the station daemon, and ``jimaku broadcast correct``."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``jimaku broadcast``."""
    p = subparsers.add_parser(
        "broadcast",
        help="recognise speech, store captions, mix trigger IDs into the programme",
        description=(
            "The station daemon: streaming vosk recognition of the programme audio, each caption "
            "stored on the archive under a new trigger ID, the ID mixed into the outgoing audio. "
            "`jimaku broadcast correct --seq S --text T` sends a corrected caption. "
            "Raw PCM on stdin/stdout: interleaved little-endian --pcm-format at --pcm-rate Hz with "
            "--pcm-channels channels (output uses the same layout). Exit: 0 all captions stored, "
            "3 some left in the local spool (sent on the next run), 2 bad input, 1 device failure."
        ),
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=("run", "correct"),
        default="run",
        help="run the daemon (default) or correct a caption",
    )
    p.add_argument(
        "--input",
        help="sound device (index or name; 'default'), audio file, or - for raw PCM on stdin",
    )
    p.add_argument("--output", help="sound device, .wav/.flac file, or - for raw PCM on stdout")
    p.add_argument(
        "--input-device",
        help="sound device to record from (index or name); "
        "same as --input DEVICE, never taken for a file",
    )
    p.add_argument("--output-device", help="sound device to play to (index or name)")
    p.add_argument("--archive", help="archive URL (or $JIMAKU_ARCHIVE / settings file)")
    p.add_argument("--channel", type=int, help="channel ID 0-4095 (or $JIMAKU_CHANNEL)")
    p.add_argument("--token", help="channel token (better: $JIMAKU_TOKEN or the settings file)")
    p.add_argument("--settings", help="TOML settings file (or $JIMAKU_SETTINGS)")
    p.add_argument("--profile", choices=("hf", "robust"), help="trigger profile (default hf)")
    p.add_argument(
        "--delay",
        type=float,
        help="synchronous mode: delay the programme by S seconds (default 0: live)",
    )
    p.add_argument("--model", help="vosk model directory or installed name (default: Korean)")
    p.add_argument(
        "--phrases",
        help="text file of expected phrases / script, one per line "
        "(runtime grammar; small models only; recognition is then limited to them)",
    )
    p.add_argument(
        "--endpoint-silence",
        type=float,
        help="seconds of silence after which vosk ends a sentence it is confident "
        "about (default 0.3; 0: the model's own rule, 0.5)",
    )
    p.add_argument(
        "--trigger-at",
        choices=("first-words", "final"),
        help="air each caption's trigger when vosk recognises the utterance's first "
        "words (default; the text follows as partial, then final) or only once the "
        "final text exists",
    )
    p.add_argument(
        "--no-onset-refinement",
        dest="onset_refinement",
        action="store_false",
        default=None,
        help="take an utterance's start from vosk's word time alone, "
        "not refined by the audio's energy onset",
    )
    p.add_argument("--state-dir", help="sequence counter and spool directory")
    p.add_argument("--repeat-interval", type=float, help="seconds between trigger repeats")
    p.add_argument("--caption-hold", type=float, help="seconds a caption stays on screen")
    p.add_argument("--json", action="store_true", help="status as JSON lines, not the live view")
    p.add_argument("--list-devices", action="store_true", help="list sound devices and exit")
    p.add_argument("--pcm-format", default="s16le", choices=("s16le", "f32le"))
    p.add_argument("--pcm-rate", type=int, default=48000)
    p.add_argument("--pcm-channels", type=int, default=1)
    p.add_argument("--device-rate", type=int, default=48000, help="sound device rate (Hz)")
    p.add_argument("--device-channels", type=int, default=1)
    p.add_argument("--blocksize", type=int, default=1024, help="device block (frames)")
    p.add_argument(
        "--device-retries", type=int, default=5, help="reopen a failed device this many times"
    )
    p.add_argument("--device-retry-s", type=float, default=2.0)
    p.add_argument("--archive-timeout", type=float, default=5.0, help="HTTP timeout (s)")
    p.add_argument("--seq", type=int, help="correct: the caption's sequence number")
    p.add_argument("--text", help="correct: the corrected text")
    p.set_defaults(func=run, extra="broadcaster")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the daemon or the correction."""
    if args.action == "correct":
        from broadcaster.run import run_correct

        return run_correct(args)
    from broadcaster.run import run_broadcast

    return run_broadcast(args)
