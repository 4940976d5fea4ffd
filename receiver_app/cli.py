"""``jimaku receive``: hear triggers, fetch captions, show them."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def _device(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``jimaku receive``."""
    p = subparsers.add_parser(
        "receive",
        help="the viewer's app: hear triggers, show captions",
        description=(
            "Listen through the microphone (or a recording), decode jimaku triggers of every "
            "profile, fetch each caption from the archive and show it in large text: a terminal "
            "UI, a local web page (--web) or JSON lines (--json). Captions that were on air "
            "longer ago than --stale-after are not shown as live (--timeshift shows them marked "
            "as recorded)."
        ),
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input", metavar="FILE|-", help="a recording to decode ('-': WAV on stdin)")
    src.add_argument(
        "--input-device",
        metavar="DEVICE",
        type=_device,
        help="microphone: PortAudio index or name substring (default: the system's default)",
    )
    src.add_argument("--list-devices", action="store_true", help="list sound devices and exit")
    p.add_argument(
        "--archive",
        default="http://127.0.0.1:8000",
        metavar="URL",
        help="archive server base URL (default %(default)s)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="decode a file as fast as possible instead of in real time",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="write one JSON line per caption shown (schema: docs/receiver.md)",
    )
    p.add_argument("--web", action="store_true", help="serve a caption page on 127.0.0.1")
    p.add_argument("--web-port", type=int, default=8765, help="port of --web (default %(default)s)")
    p.add_argument(
        "--tui",
        choices=("auto", "on", "off"),
        default="auto",
        help="terminal UI (auto: when stdout is a terminal and not --json)",
    )
    p.add_argument("--channel", type=int, metavar="N", help="only this channel (0-4095)")
    p.add_argument(
        "--timeshift",
        action="store_true",
        help="show captions of recorded programmes, marked as recorded",
    )
    p.add_argument(
        "--stale-after",
        type=float,
        default=60.0,
        metavar="S",
        help="captions on air longer ago than this are not live (default %(default)s)",
    )
    p.add_argument("--max-lines", type=int, default=2, metavar="N", help="lines on screen, 1-5")
    p.add_argument("--sample-rate", type=int, default=48000, help="microphone rate, 44100|48000")
    p.add_argument(
        "--fetch-wait",
        type=float,
        default=5.0,
        metavar="S",
        help="how long one request waits for a caption to exist (default %(default)s)",
    )
    p.add_argument(
        "--give-up",
        type=float,
        default=30.0,
        metavar="S",
        help="stop fetching a caption this long after its trigger (default %(default)s)",
    )
    p.add_argument(
        "--no-live",
        action="store_true",
        help="do not follow the archive's live stream for partials and corrections",
    )
    p.set_defaults(func=run, extra="receiver")


def run(args: argparse.Namespace) -> int:
    """Run ``jimaku receive``; returns the exit code (2: bad input or device, 1: failed)."""
    import sys

    from receiver_app.errors import ReceiverError
    from receiver_app.settings import DisplayRules, ReceiverSettings

    if args.list_devices:
        from audio_io.devices import AudioDeviceError, list_devices

        try:
            devices = list_devices()
        except AudioDeviceError as exc:
            print(f"jimaku receive: {exc}", file=sys.stderr)
            return 2
        for d in devices:
            mark = "*" if d.is_default_input else " "
            if d.max_input_channels > 0:
                print(
                    f"{mark}{d.index:3d}  {d.name}  ({d.hostapi}, {d.max_input_channels} in, "
                    f"{d.default_samplerate_hz:.0f} Hz)"
                )
        return 0
    try:
        settings = ReceiverSettings(
            archive_url=args.archive.rstrip("/"),
            channel=args.channel,
            stale_after_s=args.stale_after,
            timeshift=args.timeshift,
            fetch_wait_s=args.fetch_wait,
            fetch_give_up_s=args.give_up,
            live=not args.no_live,
            sample_rate_hz=args.sample_rate,
            # --fast analyses a file: nobody reads along, so captions are not held on screen.
            display=DisplayRules(max_lines=args.max_lines)
            if not args.fast
            else DisplayRules(
                max_lines=args.max_lines, min_display_s=0, display_s_per_char=0, max_hold_s=0
            ),
        )
        _refuse_a_non_archive(settings.archive_url)
        source = _make_source(args, settings)
    except ReceiverError as exc:
        print(f"jimaku receive: {exc}", file=sys.stderr)
        return 2
    from trigger_codec import Decoder, ParameterError

    try:
        Decoder(source.sample_rate)  # type: ignore[attr-defined]
    except ParameterError as exc:  # a recording at 8 or 22.05 kHz cannot hold a trigger
        source.close()  # type: ignore[attr-defined]
        print(f"jimaku receive: input {args.input or 'device'}: {exc}", file=sys.stderr)
        return 2
    return _run_app(args, settings, source)


def _refuse_a_non_archive(url: str, timeout_s: float = 3.0) -> None:
    """Raise :class:`SettingsError` when ``url`` answers, but not as a jimaku archive.

    An archive that is down or restarting is not an error at start: the receiver keeps
    listening and retries, as it does later. A wrong ``--archive`` is said at once, since
    retrying for ever would hide it from the viewer.
    """
    from archive_client import ArchiveClient, ArchiveUnavailable, NotAnArchive
    from receiver_app.errors import SettingsError

    client = ArchiveClient(url, timeout_s=timeout_s)
    try:
        client.check_is_archive()
    except ArchiveUnavailable:
        return
    except NotAnArchive as exc:
        raise SettingsError(f"--archive {exc}; check the URL") from exc
    finally:
        client.close()


def _make_source(args: argparse.Namespace, settings: object) -> object:
    from receiver_app.settings import ReceiverSettings
    from receiver_app.source import DeviceSource, FileSource

    assert isinstance(settings, ReceiverSettings)
    if args.input is not None:
        return FileSource(args.input, settings.block_frames, realtime=not args.fast)
    return DeviceSource(args.input_device, settings.sample_rate_hz, settings.block_frames)


def _run_app(args: argparse.Namespace, settings: object, source: object) -> int:
    import sys

    from receiver_app.app import Output, ReceiverApp
    from receiver_app.outputs import JsonOutput, TextOutput
    from receiver_app.settings import ReceiverSettings
    from receiver_app.source import AudioSource

    assert isinstance(settings, ReceiverSettings)
    src: AudioSource = source  # type: ignore[assignment]
    outputs: list[Output] = []
    use_tui = args.tui == "on" or (args.tui == "auto" and sys.stdout.isatty() and not args.json)
    if args.json:
        outputs.append(JsonOutput())
    elif not use_tui:
        outputs.append(TextOutput())
    web = None
    if args.web:
        from receiver_app.web import WebView

        web = WebView(port=args.web_port, max_lines=settings.display.max_lines)
        try:
            web.start()
        except OSError as exc:
            src.close()
            print(
                f"jimaku receive: cannot serve the caption page on 127.0.0.1:{args.web_port} "
                f"({exc.strerror or exc}); pick another port with --web-port",
                file=sys.stderr,
            )
            return 2
        print(f"jimaku receive: captions on {web.url}", file=sys.stderr)
        outputs.append(web)
    app = ReceiverApp(settings, src, outputs, order_hold_s=None if args.fast else 3.0)
    try:
        if use_tui:
            from receiver_app.tui import run_tui

            code = run_tui(app)
        else:
            code = app.run()
    finally:
        if web is not None:
            web.stop()
    if app.error is not None and use_tui:  # the other outputs already printed it
        print(f"jimaku receive: {app.error}", file=sys.stderr)
    if app.unconfirmed_triggers:
        # for the test engineer, at exit: triggers heard once that the archive did not confirm
        print(f"jimaku receive: unconfirmed_triggers={app.unconfirmed_triggers}", file=sys.stderr)
    return code
