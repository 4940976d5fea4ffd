"""Fixtures for a REAL archive server (uvicorn subprocess on 127.0.0.1, temp SQLite file).

``archive_factory`` (function-scoped)
    Call it (optionally ``archive_factory(db_url=...)``) to get an :class:`ArchiveHandle`: a server
    started with ``python -m archive_server serve`` on a free loopback port, ready (/healthz
    answered). Handle: ``.url``, ``.db_url``, ``.port``, ``.add_channel(name, id=None) ->
    (channel, token)`` (runs ``add-channel`` against the same DB, works while running),
    ``.stop()`` (SIGTERM, graceful), ``.kill()`` (SIGKILL), ``.start()`` (restart on the same port
    and DB), ``.log`` (path of its JSON log). Everything is stopped at teardown.
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

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

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


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ArchiveHandle:
    """One archive server subprocess (see module docstring)."""

    def __init__(
        self, tmp: Path, db_url: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.tmp = tmp
        self.db_url = db_url or f"sqlite+aiosqlite:///{tmp / 'archive.db'}"
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"archive-{self.port}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel = -1
        self.token = ""
        self._started = False
        self._log_at = 0

    def _admin(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "archive_server", *args, "--db", self.db_url],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
        )
        if out.returncode != 0:
            raise RuntimeError(f"archive {args[0]} failed: {out.stderr.strip()}")
        return out.stdout

    def add_channel(self, name: str, id: int | None = None) -> tuple[int, str]:
        """Create a channel; returns (channel id, write token)."""
        args = ["add-channel", name, "--json"] + (["--id", str(id)] if id is not None else [])
        info = json.loads(self._admin(*args).strip().splitlines()[-1])
        return int(info["channel"]), str(info["token"])

    def start(self, timeout_s: float = 30.0) -> None:
        """Start (or restart) on the same port and DB; returns when it is serving.

        Serving means: this process logged that it listens on our port and /healthz answers
        (a health answer alone could come from another test run's server that took the port
        between :func:`_port` and the bind). If the port was taken at the first start, another
        free port is tried; a restart keeps its port (clients know it).
        """
        if self.proc is not None and self.proc.poll() is None:
            return
        for attempt in range(3):
            if self._start_once(timeout_s):
                self._started = True
                return
            if self._started or attempt == 2:
                break
            self.port = _port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"archive server did not start: {self._log_since()[-2000:]}")

    def _log_since(self) -> str:
        return self.log.read_bytes()[self._log_at :].decode(errors="replace")

    def _start_once(self, timeout_s: float) -> bool:
        """One start; False if the port was taken (the server exited saying so)."""
        self._log_at = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "archive_server",
                    "serve",
                    "--db",
                    self.db_url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        listening = f"running on http://127.0.0.1:{self.port} "
        proc = self.proc

        def up() -> str:
            if proc.poll() is not None:
                out = self._log_since()
                if "address already in use" in out.lower():
                    return "port taken"
                raise RuntimeError(f"archive server exited ({proc.returncode}): {out[-2000:]}")
            if listening in self._log_since():
                try:
                    if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                        return "ready"
                except httpx.HTTPError:
                    pass
            return ""

        try:
            got = wait_until(f"the archive on port {self.port} to answer /healthz", up, timeout_s)
        except TimeoutError:
            self.kill()
            raise
        if got == "port taken":
            self.proc = None
            return False
        return True

    def stop(self) -> None:
        """Graceful stop (SIGTERM)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


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
        self.port = _port()
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
