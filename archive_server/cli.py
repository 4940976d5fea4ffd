"""``jimaku archive serve|migrate|add-channel|list-channels|rotate-token``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``jimaku archive ...``."""
    p = subparsers.add_parser(
        "archive",
        help="the caption archive server and its admin",
        description="Run the caption archive (FastAPI + uvicorn) and manage "
        "its channels and write tokens.",
    )
    sub = p.add_subparsers(dest="archive_command", metavar="ACTION", required=True)

    def db_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--db",
            default=None,
            help="database: a SQLite file path (captions.db), sqlite:///FILE or "
            "postgresql://user@host/db (default $JIMAKU_ARCHIVE_DB or jimaku-archive.db)",
        )

    s = sub.add_parser("serve", help="run the server")
    db_arg(s)
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    tls = s.add_argument_group(
        "HTTPS", "the caption page needs a secure context for the microphone (docs/receiver.md)"
    )
    tls.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a self-signed certificate for this machine's LAN addresses and "
        "localhost, made once and kept in --tls-dir; listens on every interface unless --host "
        "is given; prints the https address(es) and the certificate's SHA-256 fingerprint "
        "(for trying the page from a phone on the same Wi-Fi)",
    )
    tls.add_argument(
        "--tls-dir",
        default=None,
        help="where --tls-self-signed keeps its certificate "
        "(default $XDG_STATE_HOME/jimaku/archive-tls)",
    )
    tls.add_argument("--tls-cert", default=None, help="serve HTTPS with this PEM certificate")
    tls.add_argument("--tls-key", default=None, help="the PEM private key of --tls-cert")
    s.set_defaults(func=run_serve, extra="server")
    m = sub.add_parser("migrate", help="create/upgrade the database schema")
    db_arg(m)
    m.set_defaults(func=run_migrate, extra="server")
    a = sub.add_parser("add-channel", help="create a channel; prints its write token once")
    a.add_argument("name")
    a.add_argument("--id", type=int, default=None, help="channel id 0-4095 (default: lowest free)")
    a.add_argument("--language", default="ko")
    a.add_argument("--json", action="store_true", help='print {"channel": N, "token": "..."}')
    db_arg(a)
    a.set_defaults(func=run_add_channel, extra="server")
    lc = sub.add_parser("list-channels", help="list channels")
    lc.add_argument("--json", action="store_true")
    db_arg(lc)
    lc.set_defaults(func=run_list_channels, extra="server")
    r = sub.add_parser("rotate-token", help="issue a new write token (revokes the old ones)")
    r.add_argument("channel", type=int)
    r.add_argument("--keep-old", action="store_true", help="do not revoke existing tokens")
    r.add_argument("--json", action="store_true")
    db_arg(r)
    r.set_defaults(func=run_rotate_token, extra="server")


def _settings(args: argparse.Namespace) -> object:
    """Return the settings from the environment and flags (:class:`SettingsError` if bad)."""
    from pydantic import ValidationError

    from archive_server.dburl import async_db_url
    from archive_server.errors import SettingsError
    from archive_server.settings import ArchiveSettings

    over = {
        k: v
        for k, v in (
            ("db", getattr(args, "db", None)),
            ("host", getattr(args, "host", None)),
            ("port", getattr(args, "port", None)),
        )
        if v is not None
    }
    try:
        s = ArchiveSettings(**over)
    except ValidationError as exc:
        bad = "; ".join(
            f"JIMAKU_ARCHIVE_{'_'.join(str(x) for x in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise SettingsError(f"invalid setting: {bad}") from None
    return s.model_copy(update={"db": async_db_url(s.db)})


def _one_line(exc: BaseException) -> str:
    # SQLAlchemy appends "(Background on this error at: URL)" on a second line
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _port_problem(host: str, port: int) -> str | None:
    """Say why uvicorn could not listen on ``host:port`` (None: it can), before it starts.

    uvicorn reports a bind failure as log records after the app has started; a user who typed
    a busy port deserves one line instead.
    """
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot listen on host {host!r}: {exc}; use an address such as 127.0.0.1"
    family, kind, proto, _name, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # the same option uvicorn sets, so a port in TIME_WAIT is not reported as busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            why = exc.strerror or str(exc)
            return f"cannot listen on {host}:{port}: {why}; pick another port with --port"
    return None


def _database_problem(url: str) -> str | None:
    """Migrate the database once before serving; a failure becomes one line (None: fine)."""
    import asyncio

    from archive_server.errors import ArchiveServerError
    from archive_server.store import Store

    async def go() -> None:
        store = Store(url)
        try:
            await store.migrate()
        finally:
            await store.close()

    try:
        asyncio.run(go())
    except ArchiveServerError as exc:
        return _one_line(exc)
    return None


def _tls_problem(args: argparse.Namespace) -> str | None:
    """Check the combination of TLS flags (None: fine); files are checked in :func:`_tls`."""
    self_signed = bool(getattr(args, "tls_self_signed", False))
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if self_signed and (cert or key):
        return "--tls-self-signed makes its own certificate; give either it or --tls-cert/--tls-key"
    if getattr(args, "tls_dir", None) and not self_signed:
        return "--tls-dir is where --tls-self-signed keeps its certificate; add --tls-self-signed"
    if bool(cert) != bool(key):
        return "--tls-cert and --tls-key go together: give both (PEM files)"
    return None


def _tls(args: argparse.Namespace, host: str, port: int) -> tuple[str, str] | None:
    """Return (certfile, keyfile) to serve HTTPS with, or None for plain HTTP.

    With ``--tls-self-signed``: the certificate is made or reused and the https addresses and
    its fingerprint are printed. Raises :class:`SettingsError` with a one-line message.
    """
    import ssl
    from pathlib import Path

    from archive_server import tls
    from archive_server.errors import SettingsError

    if getattr(args, "tls_cert", None):
        cert, key = Path(args.tls_cert), Path(args.tls_key)
        for f in (cert, key):
            if not f.is_file():
                raise SettingsError(f"{f} is not a file; --tls-cert and --tls-key take PEM files")
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:
            why = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise SettingsError(
                f"cannot serve HTTPS with {cert} and {key} ({why}): give a PEM certificate "
                "and the PEM private key that belongs to it"
            ) from None
        return str(cert), str(key)
    if not getattr(args, "tls_self_signed", False):
        return None
    directory = Path(args.tls_dir).expanduser() if args.tls_dir else tls.default_tls_dir()
    got = tls.ensure_self_signed(directory, tls.names_for(host))
    made = "made" if got.created else "reused"
    print(f"self-signed certificate ({made}): {got.cert}")
    print(f"  SHA-256 fingerprint: {got.fingerprint}")
    print("  (the phone warns once: check that it shows this fingerprint, then accept it)")
    hosts = [n for n in got.names if n not in ("127.0.0.1", "::1")]
    if host not in ("0.0.0.0", "::"):
        hosts = [host]
    else:
        print("  listening on every interface (your LAN): stop it when you are done")
    for h in hosts:
        shown = f"[{h}]" if ":" in h else h
        print(f"  open https://{shown}:{port}/")
    sys.stdout.flush()
    return str(got.cert), str(got.key)


def run_serve(args: argparse.Namespace) -> int:
    """Run uvicorn until SIGINT/SIGTERM (graceful: open requests finish, then the DB closes)."""
    import uvicorn

    from archive_server.app import create_app
    from archive_server.errors import SettingsError
    from archive_server.logs import setup_logging
    from archive_server.settings import ArchiveSettings

    try:
        s = _settings(args)
    except SettingsError as exc:
        print(f"jimaku archive: error: {exc}", file=sys.stderr)
        return 2
    assert isinstance(s, ArchiveSettings)
    if getattr(args, "tls_self_signed", False) and "host" not in s.model_fields_set:
        # the point of the flag is a phone on the LAN: a loopback-only server cannot be reached
        s = s.model_copy(update={"host": "0.0.0.0"})
    problem = _tls_problem(args) or _port_problem(s.host, s.port) or _database_problem(s.db)
    if problem:
        print(f"jimaku archive: error: {problem}", file=sys.stderr)
        return 2
    try:
        ssl_files = _tls(args, s.host, s.port)
    except SettingsError as exc:
        print(f"jimaku archive: error: {exc}", file=sys.stderr)
        return 2
    setup_logging(s.log_level)
    app = create_app(s)
    uvicorn.run(
        app,
        host=s.host,
        port=s.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=5,
        ws_max_size=65536,
        ws=s.ws_impl,
        # Live messages are ~300-byte JSON: compressing them gains little and would cost one
        # deflate per subscriber per message (the fan-out sends the same bytes to everyone).
        ws_per_message_deflate=False,
        ws_ping_interval=s.ws_ping_interval_s,
        ws_ping_timeout=s.ws_ping_timeout_s,
        backlog=4096,
        loop=s.loop,
        ssl_certfile=ssl_files[0] if ssl_files else None,
        ssl_keyfile=ssl_files[1] if ssl_files else None,
    )
    return 0


def _admin(args: argparse.Namespace, action: str) -> int:
    import asyncio
    import json

    from archive_server.errors import ArchiveServerError, SettingsError
    from archive_server.settings import ArchiveSettings, safe_url
    from archive_server.store import Store

    try:
        s = _settings(args)
    except SettingsError as exc:
        print(f"jimaku archive: error: {exc}", file=sys.stderr)
        return 2
    assert isinstance(s, ArchiveSettings)

    async def go() -> int:
        store = Store(s.db)
        try:
            await store.migrate()
            if action == "migrate":
                rev = await store.schema_revision()
                print(f"schema at revision {rev} (head) in {safe_url(s.db)}")
            elif action == "add":
                ch, tok = await store.add_channel(args.name, args.id, args.language)
                if args.json:
                    print(json.dumps({"channel": ch, "token": tok}))
                else:
                    print(f"channel {ch} ({args.name}) created; write token (shown once):\n{tok}")
            elif action == "list":
                chans = await store.list_channels()
                if args.json:
                    print(json.dumps({"channels": [c.model_dump() for c in chans]}))
                else:
                    for c in chans:
                        print(f"{c.id:5d}  {c.name}  {c.language or '-'}")
            elif action == "rotate":
                tok = await store.rotate_token(args.channel, keep_old=args.keep_old)
                if args.json:
                    print(json.dumps({"channel": args.channel, "token": tok}))
                else:
                    print(f"new write token for channel {args.channel} (shown once):\n{tok}")
            return 0
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except (ArchiveServerError, ValueError) as exc:
        print(f"jimaku archive: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def run_migrate(args: argparse.Namespace) -> int:
    """``jimaku archive migrate``."""
    return _admin(args, "migrate")


def run_add_channel(args: argparse.Namespace) -> int:
    """``jimaku archive add-channel``."""
    return _admin(args, "add")


def run_list_channels(args: argparse.Namespace) -> int:
    """``jimaku archive list-channels``."""
    return _admin(args, "list")


def run_rotate_token(args: argparse.Namespace) -> int:
    """``jimaku archive rotate-token``."""
    return _admin(args, "rotate")


def main(argv: list[str] | None = None) -> int:
    """``python -m archive_server ...`` (same actions as ``jimaku archive``)."""
    parser = argparse.ArgumentParser(prog="python -m archive_server")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)

    args = parser.parse_args(["archive", *(argv if argv is not None else sys.argv[1:])])
    rc: int = args.func(args)
    return rc
