"""The ``jimaku`` command: one entry point, one subcommand per job.

Each component contributes its subcommands through a ``register(subparsers)`` function in its own
``cli`` module. Those modules import nothing heavy at import time (only :mod:`argparse`), so
``jimaku --help`` works on a phone-class receiver that has not installed vosk or FastAPI; a
subcommand whose optional dependencies are missing says which extra to install.

Contract for a component's ``cli`` module::

    def register(subparsers: argparse._SubParsersAction) -> None:
        p = subparsers.add_parser("name", help="one line", description="a paragraph")
        p.set_defaults(func=run, extra="server")   # extra: the pip extra the command needs
    def run(args: argparse.Namespace) -> int: ...  # the exit code
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import re
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from jimaku import __version__

__all__ = [
    "COMPONENT_CLIS",
    "Terminated",
    "build_parser",
    "install_hint",
    "main",
    "run_as_module",
]

#: Modules that register subcommands, in the order ``jimaku --help`` lists them.
COMPONENT_CLIS: tuple[str, ...] = (
    "jimaku.demo.cli",
    "jimaku.offline.cli",
    "broadcaster.cli",
    "archive_server.cli",
    "receiver_app.cli",
    "models.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``jimaku`` argument parser with every component's subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each subcommand sets ``func`` (the handler) in its namespace.
    """
    parser = argparse.ArgumentParser(
        prog="jimaku",
        description=(
            "Live captions for any broadcast, shown on the viewer's phone. The broadcaster "
            "recognises speech, stores each caption on the archive and embeds its ID as an "
            "inaudible trigger in the programme audio; the receiver hears the trigger and shows "
            "the caption."
        ),
    )
    parser.add_argument("--version", action="version", version=f"jimaku {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMPONENT_CLIS:
        module = importlib.import_module(module_name)
        module.register(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (``systemctl stop``, ``kill``, a container stopping).

    A :class:`KeyboardInterrupt`, so every command shuts down the way it does on Ctrl-C (the
    broadcaster flushes its last utterance, waits for uploads and prints its summary).
    """


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _extras_of(distribution: str) -> set[str]:
    """Return the extras of jimaku that install ``distribution`` (a normalised name)."""
    try:
        requirements = importlib.metadata.requires("jimaku") or []
    except importlib.metadata.PackageNotFoundError:
        return set()
    found: set[str] = set()
    composite: dict[str, set[str]] = {}
    for req in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", req)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", req)
        if not (name and extra):
            continue
        own = re.match(r"jimaku\[([^\]]+)\]", req)
        if own:
            composite[extra.group(1)] = {x.strip() for x in own.group(1).split(",")}
        elif re.sub(r"[-_.]+", "-", name.group(0)).lower() == distribution:
            found.add(extra.group(1))
    # an extra such as "broadcaster" = jimaku[audio,asr,...] installs what its parts install
    for name_, parts in composite.items():
        if parts & found:
            found.add(name_)
    return found


def install_hint(module: str, extra: str | None) -> str:
    """Return the command that installs the missing top-level ``module``.

    The command's own extra when that extra installs the module; another extra of jimaku that
    does; otherwise the package itself (jimaku does not depend on it, e.g. an optional driver).

    Parameters
    ----------
    module : str
        ``ModuleNotFoundError.name`` (``"sqlalchemy"``, ``"psycopg.pq"``...).
    extra : str or None
        The extra the subcommand declares (``"server"``).

    Returns
    -------
    str
        A shell command, e.g. ``pip install 'jimaku[server]'``.
    """
    top = module.split(".")[0]
    dist = re.sub(r"[-_.]+", "-", top).lower()
    extras = _extras_of(dist)
    if extra is not None and extra in extras:
        return f"pip install 'jimaku[{extra}]'"
    for preferred in ("audio", "asr", "server", "client", "ui", "bench"):
        if preferred in extras:
            return f"pip install 'jimaku[{preferred}]'"
    return f"pip install {top}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jimaku`` command.

    SIGTERM is handled like Ctrl-C (SIGINT) while the command runs: an orderly shutdown. SIGINT
    keeps the disposition the process was started with (a shell ignores it in background jobs,
    so there only SIGTERM stops a daemon cleanly).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The process exit code: 0 on success, 2 for bad input, 130 when interrupted (SIGINT),
        143 when terminated (SIGTERM).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main else None
    try:
        return int(args.func(args))
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        print(
            f"jimaku {args.command}: the Python package {exc.name!r} is not installed; "
            f"install it with: {install_hint(exc.name or '', getattr(args, 'extra', None))}",
            file=sys.stderr,
        )
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def run_as_module(command: str, argv: Sequence[str] | None = None) -> int:
    """Run one subcommand as ``python -m <package>`` does: ``python -m broadcaster ARGS``.

    Parameters
    ----------
    command : str
        The ``jimaku`` subcommand the package provides (``"broadcast"``, ``"receive"``, ...).
    argv : sequence of str, optional
        Arguments after the module name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The exit code of ``jimaku COMMAND ARGS``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    return main([command, *args])
