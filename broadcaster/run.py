"""``jimaku broadcast``: wire input, engine, output and the operator view together.

Exit codes: 0 every caption is on the archive; 3 the run finished but some captions are still in
the local spool (nothing lost: the next run sends them); 2 bad input or settings (the message says
what to change); 1 a device failed for good.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from broadcaster.errors import BroadcasterError, DeviceError, DeviceNotFound
from broadcaster.settings import BroadcastSettings, load_settings
from jimaku import events as ev

__all__ = ["run_broadcast", "run_correct", "settings_from_args"]


def settings_from_args(args: argparse.Namespace) -> BroadcastSettings:
    """Build the settings from parsed arguments (plus file and environment)."""
    phrases: tuple[str, ...] | None = None
    if getattr(args, "phrases", None):
        try:
            with open(args.phrases, encoding="utf-8") as f:
                phrases = tuple(line.strip() for line in f if line.strip())
        except OSError as exc:
            from broadcaster.errors import ConfigError

            raise ConfigError(f"cannot read --phrases file {args.phrases!r}: {exc}") from exc
    overrides: dict[str, Any] = {
        "archive_url": args.archive,
        "channel": args.channel,
        "token": args.token,
        "profile": getattr(args, "profile", None),
        "delay_s": getattr(args, "delay", None),
        "model": getattr(args, "model", None),
        "phrases": phrases,
        "state_dir": getattr(args, "state_dir", None),
        "repeat_interval_s": getattr(args, "repeat_interval", None),
        "caption_hold_s": getattr(args, "caption_hold", None),
        "endpoint_silence_s": getattr(args, "endpoint_silence", None),
        "early_trigger": None
        if getattr(args, "trigger_at", None) is None
        else args.trigger_at == "first-words",
        "onset_refinement": getattr(args, "onset_refinement", None),
    }
    return load_settings(overrides, getattr(args, "settings", None))


def _device(spec: str) -> int | str | None:
    if spec in ("default", ""):
        return None
    return int(spec) if spec.isdigit() else spec


def _is_file(spec: str) -> bool:
    return spec.lower().endswith((".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".ts", ".mp4"))


def _open_source(args: argparse.Namespace, s: BroadcastSettings) -> Any:
    from broadcaster import ports

    spec = args.input
    if args.input_device is not None:
        return ports.DeviceSource(
            _device(args.input_device), args.device_rate, args.device_channels, args.blocksize
        )
    if spec == "-":
        return ports.RawSource(
            ports.stdin_binary(), args.pcm_rate, args.pcm_channels, args.pcm_format, s.block_s
        )
    if _is_file(spec):
        return ports.FileSource(spec, s.block_s)
    return ports.DeviceSource(_device(spec), args.device_rate, args.device_channels, args.blocksize)


def _open_sink(args: argparse.Namespace, rate: int, channels: int) -> Any:
    from broadcaster import ports

    spec = args.output
    if args.output_device is not None:
        return ports.DeviceSink(_device(args.output_device), rate, channels, args.blocksize)
    if spec == "-":
        return ports.RawSink(ports.stdout_binary(), args.pcm_format)
    if _is_file(spec):
        return ports.FileSink(spec, rate, channels)
    return ports.DeviceSink(_device(spec), rate, channels, args.blocksize)


def _list_devices() -> int:
    from broadcaster.ports import _devices

    aio = _devices()
    AudioDeviceError, list_devices = aio.AudioDeviceError, aio.list_devices
    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        print(f"jimaku broadcast: {exc}", file=sys.stderr)
        return 1
    for d in devices:
        print(
            f"{d.index:3d}  in {d.max_input_channels}  out {d.max_output_channels}  "
            f"{d.default_samplerate_hz:7.0f} Hz  {d.name}"
        )
    return 0


def run_broadcast(args: argparse.Namespace) -> int:
    """Run the daemon until the input ends (file/stdin) or it is interrupted (device)."""
    t0 = time.monotonic()
    if args.list_devices:
        return _list_devices()
    if args.input_device is not None:
        args.input = args.input or f"device:{args.input_device}"
    if args.output_device is not None:
        args.output = args.output or f"device:{args.output_device}"
    if args.input is None or args.output is None:
        print(
            "jimaku broadcast: give --input DEVICE|FILE|- and --output DEVICE|FILE|- "
            "(see --list-devices)",
            file=sys.stderr,
        )
        return 2
    from broadcaster.status import EventSink

    audio_on_stdout = args.output == "-"
    mode = "json" if args.json else ("live" if sys.stderr.isatty() else "json")
    sink_ev = EventSink(mode, sys.stderr if (audio_on_stdout or mode == "live") else sys.stdout)

    def fatal(exc: BroadcasterError) -> int:
        sink_ev.emit(ev.Error(kind="fatal", message=str(exc)))
        if mode == "live" or not args.json:
            print(f"jimaku broadcast: {exc}", file=sys.stderr)
        return 2

    retries = 0
    try:
        while True:
            try:
                return _run_once(args, sink_ev, t0)
            except DeviceError as exc:
                if isinstance(exc, DeviceNotFound) and not retries:
                    # Not there at the first open: a wrong --input/--output-device, reported at
                    # once. A device that was there and went (unplugged) is retried below.
                    return fatal(exc)
                retries += 1
                sink_ev.emit(
                    ev.Error(
                        kind="device",
                        message=str(exc),
                        retry=retries,
                        max_retries=args.device_retries,
                    )
                )
                if retries > args.device_retries:
                    if mode != "live" and not audio_on_stdout:  # else stderr has the status
                        print(
                            f"jimaku broadcast: {exc} (gave up after {retries} attempts)",
                            file=sys.stderr,
                        )
                    return 1
                time.sleep(args.device_retry_s)
            except BroadcasterError as exc:
                return fatal(exc)
    finally:
        sink_ev.close()


def _ready(sink_ev: Any, spec: str, t0: float) -> None:
    """Say that the daemon is listening: model loaded, input open and being read."""
    sink_ev.emit(ev.Ready(input=spec, startup_s=round(time.monotonic() - t0, 3)))


def _run_once(args: argparse.Namespace, sink_ev: Any, t0: float) -> int:
    from broadcaster.errors import ModelLoadError
    from models.errors import ModelError
    from models.resolve import resolve_model

    s = settings_from_args(args)
    try:
        resolve_model(s.model)  # a missing/broken model is reported before anything else starts
    except ModelError as exc:
        raise ModelLoadError(str(exc)) from exc
    source = _open_source(args, s)
    from archive_client import ArchiveClient
    from broadcaster.engine import Broadcaster

    sink = None
    eng = None
    client = None
    summary: dict[str, Any] = {"spooled": 0, "rejected": 0}
    try:
        client = ArchiveClient(s.archive_url, token=s.token, timeout_s=args.archive_timeout)
        eng = Broadcaster(
            s,
            sample_rate_hz=source.sample_rate_hz,
            channels=source.channels,
            client=client,
            emit=sink_ev.emit,
            lockstep=not source.realtime,
        )
        sink = _open_sink(args, source.sample_rate_hz, source.channels)
        eng.start()
        last_xruns = 0
        # A file or a pipe can be read at once; a device is listening only once its first block
        # has arrived (the first connection to a sound server takes ~2 s).
        listening = not source.realtime
        if listening:
            _ready(sink_ev, args.input, t0)
        try:
            for block in source.blocks():
                if not listening:
                    listening = True
                    _ready(sink_ev, args.input, t0)
                sink.write(eng.process(block))
                xr = getattr(source, "xruns", 0) + getattr(sink, "xruns", 0)
                if xr != last_xruns:
                    last_xruns = xr
                    sink_ev.emit(ev.Xruns(count=xr))
        except KeyboardInterrupt:
            # stopping (Ctrl-C, SIGTERM): what the device had already recorded still goes out
            for block in source.drain():
                sink.write(eng.process(block))
            raise
        eng.finish()
        for tail in eng.flush_output():
            sink.write(tail)
    finally:
        # also on Ctrl-C or a device failure: stop the threads, keep unsent captions spooled
        if eng is not None and eng.started:
            summary = eng.close()
        if sink is not None:
            sink.close()
        if client is not None:
            client.close()  # its sockets, not left to the garbage collector (ResourceWarning)
        source.close()
    if summary["spooled"] == 0 and summary["rejected"] == 0:
        return 0
    # one plain line where stderr is free of status JSON (the live view shows it itself)
    if sink_ev.mode != "live" and args.output != "-":
        print(
            f"jimaku broadcast: {summary['spooled']} caption(s) not stored and "
            f"{summary['rejected']} refused by the archive (last error: "
            f"{summary.get('last_error') or 'none'}); unsent ones stay spooled in "
            f"{s.state_dir} and go out on the next run",
            file=sys.stderr,
        )
    return 3


def run_correct(args: argparse.Namespace) -> int:
    """Send a corrected caption text as a new revision (spooled if the archive is down)."""
    from archive_client import ArchiveClient, ArchiveError, ArchiveUnavailable, CaptionIn
    from broadcaster.spool import Spool

    if args.seq is None or args.text is None:
        print("jimaku broadcast correct: give --seq S and --text TEXT", file=sys.stderr)
        return 2
    try:
        s = settings_from_args(args)
    except BroadcasterError as exc:
        print(f"jimaku broadcast correct: {exc}", file=sys.stderr)
        return 2
    text = args.text.strip()
    if not text or len(text) > 2000:
        print(
            f"jimaku broadcast correct: the text must be 1-2000 characters (got {len(text)})",
            file=sys.stderr,
        )
        return 2
    client = ArchiveClient(s.archive_url, token=s.token, timeout_s=args.archive_timeout)
    body: dict[str, Any] = {"text": text, "final": True, "language": s.language}
    try:
        old = client.get_caption(s.channel, args.seq)
        if old is None:
            print(
                f"jimaku broadcast correct: channel {s.channel} has no caption {args.seq} on "
                "the archive; check the seq in the operator view",
                file=sys.stderr,
            )
            return 2
        body["language"] = old.language
        body["start_at"] = old.start_at.isoformat() if old.start_at else None
        body["end_at"] = old.end_at.isoformat() if old.end_at else None
        new = client.put_caption(s.channel, args.seq, CaptionIn(**body))
    except ArchiveUnavailable as exc:
        spool = Spool(s.state_dir / "spool.sqlite")
        spool.put(s.channel, args.seq, body)
        spool.close()
        print(
            f"archive unreachable ({exc}); correction spooled, the broadcaster will send it",
            file=sys.stderr,
        )
        return 3
    except ArchiveError as exc:
        print(
            f"jimaku broadcast correct: the archive refused the correction: {exc}", file=sys.stderr
        )
        return 2
    print(f"channel {s.channel} seq {args.seq}: revision {new.revision}: {new.text}")
    return 0
