"""``jimaku decode`` / ``encode`` / ``embed``: the test engineer's offline tools.

Importing this module costs only :mod:`argparse`; numpy, soundfile, PyAV and matplotlib are
imported when a subcommand runs. Every bad input ends in one line on stderr and exit status 2
(no traceback); a run that finds no trigger is not an error (status 0, "no triggers found").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run_decode", "run_embed", "run_encode"]

_PROFILES = ("hf", "robust")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``decode``, ``encode`` and ``embed``."""
    p = subparsers.add_parser(
        "decode",
        help="find triggers in audio files (WAV/FLAC/OGG/MP3/M4A/TS/MP4)",
        description=(
            "Decode every trigger (both profiles) in each FILE and print a table: file, start "
            "time (s from the file's start), channel, seq, profile, estimated in-band SNR. Files "
            "are streamed (any length); stereo is mixed down. Exit status 2 if any file could "
            "not be read (the others are still decoded), else 0 (also when nothing is found)."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files to decode")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per detection per line instead of the table",
    )
    p.add_argument(
        "--plot",
        metavar="OUT.png",
        help="draw the spectrogram of both trigger bands with detections marked "
        "(several files: OUT-<file stem>.png each)",
    )
    p.add_argument(
        "--progress",
        action="store_true",
        help="show a progress bar on stderr even when it is not a terminal",
    )
    p.set_defaults(func=run_decode, extra="audio")

    p = subparsers.add_parser(
        "encode",
        help="write one trigger to a WAV/FLAC file",
        description="Encode the trigger for CHANNEL/SEQ as a mono 16-bit WAV or FLAC file.",
    )
    p.add_argument("--channel", type=int, required=True, help="channel ID, 0-4095")
    p.add_argument("--seq", type=int, required=True, help="sequence number, 0-1048575")
    p.add_argument(
        "--profile",
        choices=_PROFILES,
        default="hf",
        help="hf: 17-19.5 kHz (default); robust: 12.5-15.5 kHz",
    )
    p.add_argument(
        "--sample-rate",
        type=int,
        default=48000,
        metavar="HZ",
        help="sample rate in Hz (default 48000; 44100 also works)",
    )
    p.add_argument(
        "--pad",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="silence before and after the trigger (default 0)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="output .wav/.flac")
    p.set_defaults(func=run_encode, extra="audio")

    p = subparsers.add_parser(
        "embed",
        help="mix triggers into a programme file",
        description=(
            "Mix triggers into PROGRAMME with the broadcaster's real-time mixer (block by "
            "block, at the profile's level rule) and write OUT (.wav/.flac, 16-bit, same "
            "sample rate and channels). TIME is seconds (12.5), M:SS or H:MM:SS; a trigger "
            "that would overlap an earlier one starts right after it."
        ),
    )
    p.add_argument("programme", metavar="PROGRAMME", help="programme audio file")
    p.add_argument(
        "--at",
        action="append",
        required=True,
        metavar="TIME:CHANNEL:SEQ",
        help="a trigger to place (repeat the option for several)",
    )
    p.add_argument("--profile", choices=_PROFILES, default="hf", help="trigger profile")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the triggers as placed (JSON list) instead of a summary",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="output .wav/.flac")
    p.set_defaults(func=run_embed, extra="audio")


def _fail(command: str, exc: BaseException | str) -> int:
    print(f"jimaku {command}: error: {exc}", file=sys.stderr)
    return 2


def _plot_path(plot: str, file: str, several: bool) -> Path:
    out = Path(plot)
    if not several:
        return out
    return out.with_name(f"{out.stem}-{Path(file).stem}{out.suffix or '.png'}")


def _row(det: Any, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "start_s": round(det.start_s, 3),
        "end_s": round(det.end_s, 3),
        "channel": det.channel,
        "seq": det.seq,
        "profile": det.profile,
        "snr_db": round(det.snr_db, 1),
    }


_COLUMNS = (
    ("file", "<"),
    ("start_s", ">"),
    ("channel", ">"),
    ("seq", ">"),
    ("profile", "<"),
    ("snr_db", ">"),
)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, header: list[bool]) -> None:
    import json

    if as_json:
        for r in rows:
            print(json.dumps(r), flush=True)
        return
    if not rows:
        return
    width = {
        "file": max([24, *(len(str(r["file"])) for r in rows)]),
        "start_s": 10,
        "channel": 7,
        "seq": 8,
        "profile": 7,
        "snr_db": 6,
    }
    if not header[0]:
        print("  ".join(f"{name:{al}{width[name]}}" for name, al in _COLUMNS))
        header[0] = True
    for r in rows:
        cells = dict(r, start_s=f"{r['start_s']:.3f}", snr_db=f"{r['snr_db']:.1f}")
        print("  ".join(f"{cells[name]!s:{al}{width[name]}}" for name, al in _COLUMNS), flush=True)


def run_decode(args: argparse.Namespace) -> int:
    """Run ``jimaku decode``; return 0, or 2 if any file was unusable."""
    try:
        return _decode(args)
    except BrokenPipeError:
        # the reader went away (``jimaku decode ... | head``): stop quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _decode(args: argparse.Namespace) -> int:
    from jimaku.offline.decode import decode_file, open_decoder
    from jimaku.offline.errors import OfflineError
    from jimaku.offline.plot import BandSpectrogram, draw_plot
    from jimaku.offline.progress import progress_bar
    from jimaku.offline.settings import OfflineSettings

    cfg = OfflineSettings()
    status, found, header = 0, 0, [False]
    several = len(args.files) > 1
    for file in args.files:
        try:
            _, sr, _, frames = open_decoder(file)
            spec = BandSpectrogram(sr, cfg.plot_nfft, cfg.plot_max_columns) if args.plot else None
            show = args.progress or (sys.stderr.isatty() and frames >= cfg.progress_min_s * sr)
            with progress_bar(file, show) as tick:
                result = decode_file(file, cfg, spectrogram=spec, progress=tick)
        except OfflineError as exc:
            partial = getattr(exc, "partial", [])
            if partial:
                _print_rows([_row(d, file) for d in partial], args.json, header)
            status = _fail("decode", exc)
            continue
        rows = [_row(d, file) for d in result.detections]
        found += len(rows)
        _print_rows(rows, args.json, header)
        if not rows:
            print(
                f"{file}: no triggers found ({result.duration_s:.1f} s decoded)",
                file=sys.stderr if args.json else sys.stdout,
            )
        if spec is not None:
            out = _plot_path(args.plot, file, several)
            try:
                draw_plot(out, spec, result.detections, title=f"{file} ({sr} Hz)")
            except (OSError, ValueError) as exc:
                status = _fail("decode", f"{out}: cannot write the plot ({exc})")
    if several and not args.json:
        print(
            f"{found} trigger{'s' * (found != 1)} in {len(args.files)} files"
            + (" (some could not be read, see above)" if status else "")
        )
    return status


def run_encode(args: argparse.Namespace) -> int:
    """Run ``jimaku encode``; return 0, or 2 for a bad value."""
    from jimaku.offline.errors import OfflineError
    from jimaku.offline.synth import encode_file

    try:
        n = encode_file(
            args.output, args.channel, args.seq, args.profile, args.sample_rate, args.pad
        )
    except OfflineError as exc:
        return _fail("encode", exc)
    print(
        f"wrote {args.output}: channel {args.channel} seq {args.seq} profile {args.profile}, "
        f"{args.sample_rate} Hz, {n / args.sample_rate:.3f} s"
    )
    return 0


def run_embed(args: argparse.Namespace) -> int:
    """Run ``jimaku embed``; return 0, or 2 for bad input or a bad ``--at``."""
    import json

    from jimaku.offline.embed import embed_file, parse_at
    from jimaku.offline.errors import OfflineError

    try:
        placements = [parse_at(a) for a in args.at]
        placed = embed_file(args.programme, args.output, placements, args.profile)
    except OfflineError as exc:
        return _fail("embed", exc)
    if args.json:
        print(json.dumps([p.as_dict() for p in placed]))
        return 0
    for p in placed:
        note = "" if p.complete else "  (cut off by the end of the programme)"
        print(f"{p.start_s:10.3f} s  channel {p.channel:4d}  seq {p.seq:7d}  {p.profile}{note}")
    print(f"wrote {args.output}: {len(placed)} trigger{'s' * (len(placed) != 1)}")
    return 0
