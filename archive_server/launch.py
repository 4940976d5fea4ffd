"""Start a real archive server in a subprocess on loopback, wait until it serves, stop it.

One launcher for everything that needs a running archive it owns: the demo (``jimaku demo``),
the benchmarks and the tests' fixtures. It runs the archive's own command line (``python -m
archive_server serve`` by default, or ``jimaku archive serve``), so a launch exercises what an
operator types, with nothing but the standard library and httpx (no FastAPI in this process).

Ready means this process logged that it listens on our port *and* ``/healthz`` answers: a health
answer alone could come from another server that took the port between :func:`free_loopback_port`
and the bind. The wait has a deadline; a server that dies first is reported with the tail of its
log (its stdout and stderr go to one file).

Errors (under :class:`~archive_server.errors.ArchiveServerError`)::

    LaunchError           the server did not come up: exited at start, or no answer in time
    └── PortTaken         it exited because its port was in use (the launcher tries another)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from archive_server.errors import ArchiveServerError

__all__ = [
    "ArchiveLauncher",
    "LaunchError",
    "PortTaken",
    "free_loopback_port",
    "log_tail",
]

#: The archive's command line with this interpreter (no PATH lookup).
MODULE_COMMAND: tuple[str, ...] = (sys.executable, "-m", "archive_server")
#: Between two looks at the log and /healthz while waiting for the start (s).
_POLL_S = 0.05


class LaunchError(ArchiveServerError):
    """The archive server did not start (it exited, or did not answer in time).

    Attributes
    ----------
    returncode : int or None
        The exit status when it exited; None when it was still running at the deadline.
    tail : str
        The last lines of its log, joined with `` | ``.
    """

    code = "launch_failed"

    def __init__(self, message: str, *, returncode: int | None, tail: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.tail = tail


class PortTaken(LaunchError):
    """The server exited because its port was already in use."""


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(text: str, lines: int = 6) -> str:
    """Return the last ``lines`` non-empty lines of ``text`` joined with `` | ``."""
    return " | ".join(line for line in text.strip().splitlines()[-lines:]) or "(no output)"


class ArchiveLauncher:
    """One archive server subprocess on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    db_url : str
        The database (``sqlite+aiosqlite:///FILE``, ``postgresql://...``), passed as ``--db``.
    log_path : Path
        Where the server's stdout and stderr are appended.
    port : int, optional
        TCP port; default a free one (another free one is tried if it is taken at the first
        start). A restart keeps the port: clients know it.
    env : mapping, optional
        Extra environment for the server and the admin commands (``JIMAKU_ARCHIVE_*``).
    command : callable, optional
        ``command(*args)`` returns the argv that runs the archive CLI with ``args`` (``serve
        --db ...``, ``add-channel ...``); default ``python -m archive_server ARGS``. The demo
        passes one that runs ``jimaku archive ARGS``.
    """

    def __init__(
        self,
        db_url: str,
        log_path: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        command: Callable[..., list[str]] | None = None,
    ) -> None:
        self.db_url = db_url
        self.log_path = log_path
        self._fixed_port = port is not None
        self.port = port if port is not None else free_loopback_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._command = command or (lambda *args: [*MODULE_COMMAND, *args])
        self.proc: subprocess.Popen[bytes] | None = None
        self._started = False
        self._log_at = 0

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def add_channel(
        self, name: str, channel_id: int | None = None, timeout_s: float = 60.0
    ) -> tuple[int, str]:
        """Create a channel with ``add-channel --json`` on the same database (running or not).

        Returns
        -------
        (int, str)
            The channel id and its write token.

        Raises
        ------
        LaunchError
            The command failed or printed something else than ``{"channel": N, "token": ...}``.
        """
        args = ["add-channel", name, "--db", self.db_url, "--json"]
        if channel_id is not None:
            args += ["--id", str(channel_id)]
        out = subprocess.run(
            self._command(*args),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=self.env,
            check=False,
        )
        if out.returncode != 0:
            raise LaunchError(
                f"`add-channel {name}` exited with {out.returncode}: {log_tail(out.stderr)}",
                returncode=out.returncode,
                tail=log_tail(out.stderr),
            )
        try:
            doc = json.loads(out.stdout.strip().splitlines()[-1])
            return int(doc["channel"]), str(doc["token"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LaunchError(
                f"`add-channel {name} --json` printed {out.stdout!r}, expected "
                '{"channel": N, "token": "..."}',
                returncode=0,
                tail=log_tail(out.stdout),
            ) from exc

    def start(self, timeout_s: float = 30.0) -> None:
        """Start (or restart on the same port and database); return once it serves.

        A no-op when it is running.

        Raises
        ------
        LaunchError
            It exited at start-up (the message quotes its log's tail) or did not serve within
            ``timeout_s`` (it is then killed).
        """
        if self.running:
            return
        for attempt in range(3):
            try:
                self._start_once(timeout_s)
            except PortTaken:
                # a port chosen by us was taken by someone else before the server bound it
                if self._started or self._fixed_port or attempt == 2:
                    raise
                self.port = free_loopback_port()
                continue
            self._started = True
            return

    def log_since_start(self) -> str:
        """Return what the server logged since its last start."""
        try:
            return self.log_path.read_bytes()[self._log_at :].decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _start_once(self, timeout_s: float) -> None:
        import httpx

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_at = self.log_path.stat().st_size if self.log_path.exists() else 0
        argv = self._command(
            "serve", "--db", self.db_url, "--host", "127.0.0.1", "--port", str(self.port)
        )
        with self.log_path.open("ab") as log:
            self.proc = proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env
            )
        # uvicorn's own start line, "Uvicorn running on http://127.0.0.1:PORT (Press CTRL+C ...)"
        listening = f"running on {self.url} "
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                self.proc = None
                text = self.log_since_start()
                tail = log_tail(text)
                cls = PortTaken if "address already in use" in text.lower() else LaunchError
                raise cls(
                    f"the archive server exited with {proc.returncode} at start-up: {tail} "
                    f"(full log: {self.log_path})",
                    returncode=proc.returncode,
                    tail=tail,
                )
            if listening in self.log_since_start():
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            if time.monotonic() >= deadline:
                self.kill()
                raise LaunchError(
                    f"the archive server did not answer {self.url}/healthz within "
                    f"{timeout_s:.0f} s: {log_tail(self.log_since_start())} "
                    f"(full log: {self.log_path})",
                    returncode=None,
                    tail=log_tail(self.log_since_start()),
                )
            time.sleep(_POLL_S)

    def stop(self, grace_s: float = 15.0) -> None:
        """Stop gracefully (SIGTERM: open requests finish, the database closes).

        SIGKILL if it has not exited after ``grace_s``; a no-op when it is not running.
        """
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything (a crash, for the tests)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> ArchiveLauncher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
