"""An archive server in a subprocess on a free loopback port, with a temporary SQLite file.

The demo and the latency bench run the real server the way an operator would
(``jimaku archive serve``) and create their channel with ``jimaku archive add-channel --json``, so
they exercise the same commands the README tells people to type.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from jimaku.demo.errors import ComponentMissing, StageFailed

__all__ = ["ArchiveProcess", "free_loopback_port", "jimaku_command"]


def jimaku_command(*args: str) -> list[str]:
    """Return the argv that runs ``jimaku ARGS...`` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "jimaku", *args]


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ArchiveProcess:
    """``jimaku archive serve`` on 127.0.0.1 with a SQLite file in ``workdir``.

    Every start begins with an empty database. Use as a context manager: the server is started on
    entry (and waited for until ``/healthz``
    answers) and stopped on exit (SIGTERM, then SIGKILL after 5 s).

    Parameters
    ----------
    workdir : Path
        Where the database file and the server's log go.
    startup_timeout_s : float
        How long to wait for ``/healthz`` before giving up.
    """

    def __init__(self, workdir: Path, startup_timeout_s: float = 30.0) -> None:
        self.workdir = workdir
        self.db_path = workdir / "archive.sqlite3"
        self.db_url = f"sqlite+aiosqlite:///{self.db_path}"
        self.log_path = workdir / "archive-server.log"
        self.port = 0
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    def add_channel(self, name: str, channel_id: int | None = None) -> tuple[int, str]:
        """Create a channel with ``jimaku archive add-channel --json``.

        Returns
        -------
        (int, str)
            The channel id and its write token.
        """
        args = ["archive", "add-channel", name, "--db", self.db_url, "--json"]
        if channel_id is not None:
            args += ["--id", str(channel_id)]
        proc = subprocess.run(
            jimaku_command(*args), capture_output=True, text=True, timeout=60, check=False
        )
        if proc.returncode != 0:
            raise StageFailed(
                f"`jimaku archive add-channel` exited with {proc.returncode}: {_tail(proc.stderr)}"
            )
        try:
            doc = json.loads(proc.stdout.strip().splitlines()[-1])
            return int(doc["channel"]), str(doc["token"])
        except (ValueError, KeyError, IndexError) as exc:
            raise StageFailed(
                f"`jimaku archive add-channel --json` printed {proc.stdout!r}, expected "
                '{"channel": N, "token": "..."}'
            ) from exc

    def start(self) -> None:
        """Start the server and wait until it answers ``/healthz``."""
        import httpx

        self.workdir.mkdir(parents=True, exist_ok=True)
        # A fresh archive for every run: a database left by an earlier run in the same folder
        # would already hold its channels and captions.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        self.port = free_loopback_port()
        cmd = jimaku_command(
            "archive",
            "serve",
            "--db",
            self.db_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        )
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                text = self.log_path.read_text(errors="replace")
                if "invalid choice: 'archive'" in text:
                    raise ComponentMissing(
                        "the archive server's command `jimaku archive serve` is not available; "
                        "install the server extra: pip install 'jimaku[server]'"
                    )
                raise StageFailed(
                    f"the archive server exited with {self._proc.returncode} at start-up: "
                    f"{_tail(text)} (full log: {self.log_path})"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise StageFailed(
            f"the archive server did not answer {self.url}/healthz within "
            f"{self.startup_timeout_s:.0f} s (log: {self.log_path})"
        )

    def stop(self) -> None:
        """Stop the server (graceful first); a no-op when it is not running."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)

    def __enter__(self) -> ArchiveProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-lines:]) or "(no output)"
