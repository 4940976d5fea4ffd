"""Fixtures for a REAL archive server (uvicorn subprocess on 127.0.0.1, temp SQLite file).

``archive_factory`` (function-scoped)
    Call it (optionally ``archive_factory(db_url=...)``) to get an :class:`ArchiveHandle`: a server
    started by :class:`archive_server.launch.ArchiveLauncher` (``python -m archive_server serve``
    on a free loopback port), ready (it logged that it listens and /healthz answered). Handle:
    ``.url``, ``.db_url``, ``.port``, ``.add_channel(name, id=None) -> (channel, token)`` (runs
    ``add-channel`` against the same DB, works while running), ``.stop()`` (SIGTERM, graceful),
    ``.kill()`` (SIGKILL), ``.start()`` (restart on the same port and DB), ``.log`` (path of its
    JSON log). A server that dies at start raises ``LaunchError`` quoting its log. Everything is
    stopped at teardown.
``archive_server``
    A started server with one channel (id 7, "test"): ``.url``, ``.channel``, ``.token`` plus the
    handle's methods.
``metric(url, name, **labels)``
    The sum of the archive's ``/metrics`` samples called ``name`` whose labels include
    ``labels`` (0 when there is none), parsed by prometheus_client.
``wait_for_metric(url, name, at_least)``
    Return once the archive's ``/metrics`` gauge ``name`` reaches ``at_least`` (a held long-poll,
    a live subscriber): the event a test waits for before it writes, instead of a fixed sleep.
``nginx_in_progress(url)``
    Requests nginx at ``url`` is answering now (stub_status ``Writing``, the asking request
    included; those waiting on the cache lock count): how a test knows a crowd has arrived.
``NginxFront(origin_port, tmp)``
    Debian's ``/usr/sbin/nginx`` running ``deploy/nginx/jimaku-archive.conf`` (templated for a free
    listen port, the origin's port and a cache dir under ``tmp``) in the foreground, prefix and pid
    in ``tmp``: ``.start()``, ``.stop()``, ``.url``, ``.error_log``. Used by the nginx tests and the
    benchmark.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from archive_server.launch import ArchiveLauncher, free_loopback_port
from tests.plugins.waiting import wait_until

__all__ = [
    "ArchiveHandle",
    "NginxFront",
    "archive_factory",
    "archive_server",
    "metric",
    "nginx_in_progress",
    "wait_for_metric",
]

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx" / "jimaku-archive.conf"
NGINX_BIN = Path("/usr/sbin/nginx")


def metric(url: str, name: str, **labels: str) -> float:
    """Sum the samples ``name`` at ``url``/metrics whose labels include ``labels``.

    A counter none of whose label sets has been counted yet has no sample: that is 0.
    """
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def nginx_in_progress(url: str) -> int:
    """Return nginx's stub_status ``Writing`` count at ``url``/nginx_status (this request included).

    ``Writing`` counts the requests whose headers nginx has read and is answering: a crowd waiting
    on the cache lock or held at the origin. (``Reading``, headers not read yet, is not counted.)
    """
    text = httpx.get(f"{url}/nginx_status", timeout=5).text
    found = re.search(r"Writing: (\d+)", text)
    if found is None:
        raise RuntimeError(f"{url}/nginx_status is not nginx's stub_status: {text[:200]!r}")
    return int(found[1])


def wait_for_metric(
    url: str,
    name: str,
    at_least: float,
    timeout_s: float = 30.0,
    alive: Callable[[], None] | None = None,
) -> None:
    """Return once :func:`metric` ``name`` at ``url`` is at least ``at_least``.

    ``alive``, if given, is called between polls and should raise when the thing being waited
    for has died (a subprocess that exited), so the test fails at once with that reason.
    """

    def reached() -> bool:
        if alive is not None:
            alive()
        return metric(url, name) >= at_least

    wait_until(f"{name} >= {at_least:g} at {url}", reached, timeout_s)


class ArchiveHandle(ArchiveLauncher):
    """One archive server subprocess (see module docstring), on :class:`ArchiveLauncher`.

    ``tmp`` holds its SQLite file (unless ``db_url`` names another database) and its log.
    """

    def __init__(
        self, tmp: Path, db_url: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            db_url or f"sqlite+aiosqlite:///{tmp / 'archive.db'}", tmp / "archive.log", env=env
        )
        self.tmp = tmp
        self.channel = -1
        self.token = ""

    @property
    def log(self) -> Path:
        """Path of the server's JSON log (appended to across restarts)."""
        return self.log_path

    def add_channel(self, name: str, id: int | None = None) -> tuple[int, str]:  # type: ignore[override]
        """Create a channel; returns (channel id, write token) (``id=``: the tests' spelling)."""
        return super().add_channel(name, id)


@pytest.fixture
def archive_factory(tmp_path: Path) -> Iterator[Callable[..., ArchiveHandle]]:
    """Factory of started :class:`ArchiveHandle` servers, all stopped at teardown."""
    made: list[ArchiveHandle] = []

    def make(
        db_url: str | None = None, env: dict[str, str] | None = None, start: bool = True
    ) -> ArchiveHandle:
        d = tmp_path / f"archive{len(made)}"
        d.mkdir()
        h = ArchiveHandle(d, db_url, env)
        made.append(h)
        if start:
            h.start()
        return h

    yield make
    for h in made:
        h.stop()


@pytest.fixture
def archive_server(archive_factory: Callable[..., ArchiveHandle]) -> ArchiveHandle:
    """A running archive with channel 7 ("test"): ``.url``, ``.channel``, ``.token``."""
    h = archive_factory(start=False)
    h.channel, h.token = h.add_channel("test", id=7)
    h.start()
    return h


class NginxFront:
    """nginx with the deploy config in front of an origin on 127.0.0.1 (see module docstring)."""

    def __init__(
        self, origin_port: int, tmp: Path, worker_processes: int = 2, listen_opts: str = ""
    ) -> None:
        if not NGINX_BIN.exists():
            pytest.fail(
                f"{NGINX_BIN} not found: install Debian's nginx with "
                "`bash tools/ensure-system-deps.sh`",
                pytrace=False,
            )
        self.tmp = tmp
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.error_log = tmp / "error.log"
        site = NGINX_CONF.read_text()
        for old, new in (
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{origin_port};"),
            ("listen 80;", f"listen 127.0.0.1:{self.port}{listen_opts};"),
            ("proxy_cache_path /var/cache/nginx/jimaku ", f"proxy_cache_path {tmp / 'cache'} "),
        ):
            if site.count(old) != 1:
                raise RuntimeError(f"{NGINX_CONF} no longer has exactly one {old!r} to template")
            site = site.replace(old, new)
        (tmp / "jimaku-archive.conf").write_text(site)
        # nginx started as root drops its workers to `nobody`, who could not write the cache here.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temps = "\n".join(
            f"    {k}_temp_path {tmp / k};"
            for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (tmp / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes {worker_processes};\npid {tmp / 'nginx.pid'};\n"
            f"error_log {self.error_log} warn;\nworker_rlimit_nofile 65536;\n"
            "events { worker_connections 16384; }\n"
            f"http {{\n    access_log off;\n{temps}\n"
            f"    include {tmp / 'jimaku-archive.conf'};\n}}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 15.0) -> None:
        """Start nginx in the foreground; returns when its port accepts connections."""
        self.proc = subprocess.Popen(
            [
                str(NGINX_BIN),
                "-p",
                str(self.tmp),
                "-c",
                str(self.tmp / "nginx.conf"),
                "-e",
                str(self.error_log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        proc = self.proc

        def listening() -> bool:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"nginx exited ({proc.returncode}): {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                return False
            return True

        try:
            wait_until(f"nginx to listen on port {self.port}", listening, timeout_s)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        """Graceful quit (SIGQUIT), then SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None
