"""The demo's archive: ``jimaku archive serve`` on loopback with a fresh SQLite file.

The demo and the latency bench run the real server the way an operator would
(``jimaku archive serve``) and create their channel with ``jimaku archive add-channel --json``, so
they exercise the same commands the README tells people to type. Starting, waiting and stopping
are :class:`archive_server.launch.ArchiveLauncher`'s (the tests and benchmarks use it too); this
module adds the demo's folder layout and turns a failed start into the demo's errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archive_server.launch import ArchiveLauncher, LaunchError, free_loopback_port
from jimaku.demo.errors import ComponentMissing, StageFailed

__all__ = ["ArchiveProcess", "free_loopback_port", "jimaku_command"]

#: Seconds a stopping server gets to finish before it is killed.
STOP_GRACE_S = 5.0


def jimaku_command(*args: str) -> list[str]:
    """Return the argv that runs ``jimaku ARGS...`` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "jimaku", *args]


def _archive_command(*args: str) -> list[str]:
    # looked up at each call, so a test can replace jimaku_command
    return jimaku_command("archive", *args)


class ArchiveProcess(ArchiveLauncher):
    """``jimaku archive serve`` on 127.0.0.1 with a SQLite file in ``workdir``.

    Every start begins with an empty database. Use as a context manager: the server is started on
    entry (and waited for until it serves ``/healthz``) and stopped on exit (SIGTERM, then SIGKILL
    after 5 s).

    Parameters
    ----------
    workdir : Path
        Where the database file and the server's log go.
    startup_timeout_s : float
        How long to wait for the server to serve before giving up.
    """

    def __init__(self, workdir: Path, startup_timeout_s: float = 30.0) -> None:
        self.workdir = workdir
        self.db_path = workdir / "archive.sqlite3"
        self.startup_timeout_s = startup_timeout_s
        super().__init__(
            f"sqlite+aiosqlite:///{self.db_path}",
            workdir / "archive-server.log",
            command=_archive_command,
        )

    def add_channel(self, name: str, channel_id: int | None = None) -> tuple[int, str]:  # type: ignore[override]
        """Create a channel with ``jimaku archive add-channel --json``.

        Returns
        -------
        (int, str)
            The channel id and its write token.

        Raises
        ------
        StageFailed
            The command failed or printed something unexpected.
        """
        try:
            return super().add_channel(name, channel_id)
        except LaunchError as exc:
            raise StageFailed(f"the demo's archive channel: {exc}") from exc

    def start(self, timeout_s: float | None = None) -> None:
        """Start the server with an empty database; wait until it serves.

        Raises
        ------
        ComponentMissing
            This installation has no ``jimaku archive`` (the server extra is missing).
        StageFailed
            The server exited at start-up (its log's tail is quoted) or did not serve in time.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A fresh archive for every run: a database left by an earlier run in the same folder
        # would already hold its channels and captions.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        try:
            super().start(self.startup_timeout_s if timeout_s is None else timeout_s)
        except LaunchError as exc:
            if "invalid choice: 'archive'" in self.log_since_start():
                raise ComponentMissing(
                    "the archive server's command `jimaku archive serve` is not available; "
                    "install the server extra: pip install 'jimaku[server]'"
                ) from exc
            raise StageFailed(str(exc)) from exc

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the server (graceful first); a no-op when it is not running."""
        super().stop(grace_s)
