"""A REAL throwaway PostgreSQL 15 cluster for the archive's storage tests.

``postgres_server`` (session-scoped)
    Runs ``initdb`` + ``pg_ctl start`` from Debian's ``postgresql`` package in a fresh temp
    directory, listening on a free 127.0.0.1 port only (trust auth on loopback, no Unix socket
    outside the temp dir). When the test process runs as root the cluster runs as the ``postgres``
    user (``runuser``), since PostgreSQL refuses to run as root. Yields a :class:`PostgresServer`;
    ``.url`` is the ``postgresql+asyncpg://`` URL of its ``postgres`` database and
    ``.new_database()`` creates an empty database and returns its URL. Stopped (``pg_ctl stop -m
    fast``) and removed at the end of the session.

    If the binaries are missing this FAILS (it does not skip): the test command installs them with
    ``tools/ensure-system-deps.sh``, and CI runs the same machine image.

``db_url`` (function-scoped, parametrised ``sqlite`` / ``postgres``)
    A fresh, empty database URL on each backend; the ``postgres`` case carries the ``postgres``
    marker (still part of the default run).

fsync is off in this cluster: the durability that matters here is the archive's (a SIGKILLed archive
process loses no acknowledged caption), not PostgreSQL's own crash safety, which the cluster is not
killed to test.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "db_url", "postgres_server"]

_HINT = (
    "PostgreSQL server binaries not found (looked for /usr/lib/postgresql/*/bin/initdb); "
    "install them with `bash tools/ensure-system-deps.sh` (Debian package postgresql), "
    "which `make test` runs first"
)


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail(_HINT, pytrace=False)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One private PostgreSQL cluster (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.bindir = _bindir()
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.log = root / "postgres.log"
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL will not run as root: run the cluster as the package's system user.
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        self.url = self._url("postgres")
        self._n = itertools.count()

    def _url(self, db: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{db}"

    def _run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [*self._as, *cmd], capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if out.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{cmd[0]} failed ({out.returncode}): {out.stderr[-2000:]}\n{log}")
        return out

    def start(self) -> None:
        """Run initdb and start the server; returns when it accepts connections."""
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )

    def psql(self, sql: str) -> str:
        """Run one SQL statement as the superuser on the ``postgres`` database."""
        out = self._run(
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )
        return out.stdout

    def new_database(self) -> str:
        """Create an empty database; returns its ``postgresql+asyncpg://`` URL."""
        name = f"t{os.getpid()}_{next(self._n)}"
        self.psql(f"CREATE DATABASE {name}")
        return self._url(name)

    def stop(self) -> None:
        """Fast shutdown (open connections are closed)."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self._as,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                cwd=self.root,
            )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster on a free loopback port for the whole session."""
    _bindir()  # fail early with the install hint
    root = Path(tempfile.mkdtemp(prefix="jimaku-pg-"))
    srv = PostgresServer(root)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database on each backend (SQLite file / new PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}"
    srv: PostgresServer = request.getfixturevalue("postgres_server")
    return srv.new_database()
