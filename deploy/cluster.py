"""A throwaway local archive cluster on loopback (run through ``deploy/cluster.sh``).

``up DIR --origins N --port P`` starts, all under DIR: a fresh PostgreSQL cluster (the database and
the bus: every write NOTIFYs, each origin LISTENs), N ``archive_server`` origins on free ports and
nginx on 127.0.0.1:P with ``deploy/nginx/jimaku-archive.conf`` templated for those origins, then
writes ``DIR/cluster.json``::

    {"url": "http://127.0.0.1:P", "db_url": "postgresql+asyncpg://...",
     "origins": [{"pid": ..., "port": ...}], "nginx_pid": ..., "bus_pid": ..., "postgres_pid": ...}

``bus_pid`` is PostgreSQL's, since PostgreSQL is the bus. ``down DIR`` stops everything it started.
``pg-stop DIR`` / ``pg-start DIR`` stop and start the database on the same port (for failure
drills), ``origin-start DIR I`` restarts origin I on its port (after a kill).

Only the standard library is used here; the origins run with the same Python interpreter.
When run as root, PostgreSQL runs as the ``postgres`` user (it refuses root) and nginx's workers
as root (they write the cache under DIR).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NGINX_SITE = REPO / "deploy" / "nginx" / "jimaku-archive.conf"
NGINX_BIN = "/usr/sbin/nginx"
#: the origins' long-poll hold: under the nginx cache lock timeout (15 s) and Fastly's default
#: first-byte timeout (15 s)
ORIGIN_ENV = {"JIMAKU_ARCHIVE_MAX_WAIT_S": "10"}


class ClusterError(Exception):
    """Something the cluster needs is missing or did not start (one line for the user)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(
    what: str, ok: Any, timeout_s: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ClusterError(f"{what} exited ({proc.returncode}) at start")
        if ok():
            return
        time.sleep(0.05)
    raise ClusterError(f"{what} not ready after {timeout_s:g} s")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


class Postgres:
    """The cluster's PostgreSQL (data directory ``root``)."""

    def __init__(self, root: Path, port: int) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise ClusterError(
                "PostgreSQL server binaries not found; install them with "
                "`bash tools/ensure-system-deps.sh` (Debian package postgresql)"
            )
        self.bindir = Path(found[-1]).parent
        self.root = root
        self.data = root / "data"
        self.port = port
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *cmd: str) -> str:
        out = subprocess.run(
            [*self.run_as, *cmd], capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if out.returncode != 0:
            raise ClusterError(f"{Path(cmd[0]).name} failed: {out.stderr.strip()[-500:]}")
        return out.stdout

    def init(self) -> None:
        """Run initdb (as the postgres user when root)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.root, "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )

    def start(self) -> None:
        """Start the server; returns when it accepts connections."""
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c max_connections=300"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        """Fast shutdown (no-op when it is not running)."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def pid(self) -> int:
        """Return the postmaster's pid."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def psql(self, sql: str) -> str:
        """Run one SQL statement on the ``postgres`` database; returns its output."""
        return self._run(
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )


def _pg_root(d: Path) -> Path:
    """Where PostgreSQL's files go: DIR/pg, unless the postgres user cannot reach DIR."""
    if os.geteuid() != 0:
        return d / "pg"
    reach = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(d)], check=False)
    if reach.returncode == 0:
        return d / "pg"
    # e.g. under a 0700 home or pytest's tmp: a private directory in /tmp, removed by `down`
    return Path(tempfile.mkdtemp(prefix="jimaku-cluster-pg-"))


def _start_origin(d: Path, i: int, port: int, db_url: str) -> int:
    log = open(d / f"origin-{i}.log", "ab")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archive_server",
            "serve",
            "--db",
            db_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **ORIGIN_ENV},
        cwd=REPO,
        start_new_session=True,
    )
    log.close()
    _wait(
        f"origin {i} (port {port}, log {d / f'origin-{i}.log'})", lambda: _healthy(port), 60, proc
    )
    return proc.pid


def render_nginx(d: Path, origin_ports: list[int], port: int) -> Path:
    """Write DIR/nginx/nginx.conf for the origins and return its path."""
    nd = d / "nginx"
    nd.mkdir(parents=True, exist_ok=True)
    site = NGINX_SITE.read_text()
    servers = "\n    ".join(
        f"server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in origin_ports
    )
    for old, new in (
        ("server 127.0.0.1:8000;", servers),
        ("listen 80;", f"listen 127.0.0.1:{port} backlog=4096;"),
        ("proxy_cache_path /var/cache/nginx/jimaku ", f"proxy_cache_path {nd / 'cache'} "),
    ):
        if site.count(old) != 1:
            raise ClusterError(f"{NGINX_SITE} no longer has exactly one {old!r} to template")
        site = site.replace(old, new)
    (nd / "jimaku-archive.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"    {k}_temp_path {nd / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = nd / "nginx.conf"
    conf.write_text(
        f"{user}daemon off;\nworker_processes 2;\npid {nd / 'nginx.pid'};\n"
        f"error_log {nd / 'error.log'} warn;\nworker_rlimit_nofile 65536;\n"
        "events { worker_connections 16384; }\n"
        f"http {{\n    access_log off;\n{temps}\n    include {nd / 'jimaku-archive.conf'};\n}}\n"
    )
    return conf


def up(d: Path, origins: int, port: int) -> dict[str, Any]:
    """Start the cluster under ``d``; returns what was written to cluster.json."""
    if not Path(NGINX_BIN).exists():
        raise ClusterError(f"{NGINX_BIN} not found; install nginx (tools/ensure-system-deps.sh)")
    if origins < 1:
        raise ClusterError(f"--origins must be at least 1, not {origins}")
    if _port_open(port):
        raise ClusterError(f"port {port} on 127.0.0.1 is in use; pick another --port")
    d.mkdir(parents=True, exist_ok=True)
    if (d / "cluster.json").exists():
        raise ClusterError(f"{d / 'cluster.json'} exists: run `deploy/cluster.sh down {d}` first")
    pg_root = _pg_root(d)
    pg = Postgres(pg_root, _free_port())
    pg.init()
    pg.start()
    info: dict[str, Any] = {
        "url": f"http://127.0.0.1:{port}",
        "db_url": f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/jimaku",
        "origins": [],
        "nginx_pid": None,
        "bus": "postgresql-listen-notify",
        "bus_pid": pg.pid(),
        "postgres_pid": pg.pid(),
        "postgres_port": pg.port,
        "postgres_dir": str(pg_root),
    }
    try:
        pg.psql("CREATE DATABASE jimaku")
        mig = subprocess.run(
            [sys.executable, "-m", "archive_server", "migrate", "--db", info["db_url"]],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        if mig.returncode != 0:
            raise ClusterError(f"migrate failed: {mig.stderr.strip()[-500:]}")
        ports = [_free_port() for _ in range(origins)]
        for i, p in enumerate(ports):
            info["origins"].append({"pid": _start_origin(d, i, p, info["db_url"]), "port": p})
        conf = render_nginx(d, ports, port)
        ng = subprocess.Popen(
            [
                NGINX_BIN,
                "-p",
                str(d / "nginx"),
                "-c",
                str(conf),
                "-e",
                str(d / "nginx" / "error.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        info["nginx_pid"] = ng.pid
        _wait(
            f"nginx on port {port} (see {d / 'nginx' / 'error.log'})",
            lambda: _port_open(port),
            20,
            ng,
        )
    except BaseException:
        _write(d, info)
        down(d)
        raise
    _write(d, info)
    return info


def _write(d: Path, info: dict[str, Any]) -> None:
    tmp = d / "cluster.json.tmp"
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(d / "cluster.json")


def _read(d: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((d / "cluster.json").read_text()))
    except FileNotFoundError:
        raise ClusterError(f"no cluster in {d} (no cluster.json)") from None


def _stop_pid(pid: int | None, sig: int, timeout_s: float = 15) -> None:
    if not pid:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            # reap it if it is our child (origin-start), else just probe it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def down(d: Path) -> None:
    """Stop everything ``up`` started under ``d`` and remove cluster.json."""
    info = _read(d)
    _stop_pid(info.get("nginx_pid"), signal.SIGQUIT)
    for o in info.get("origins", []):
        _stop_pid(o.get("pid"), signal.SIGTERM)
    pg_root = Path(info["postgres_dir"])
    if (pg_root / "data").exists():
        Postgres(pg_root, int(info["postgres_port"])).stop()
    if not pg_root.is_relative_to(d):
        shutil.rmtree(pg_root, ignore_errors=True)
    (d / "cluster.json").unlink()


def main(argv: list[str] | None = None) -> int:
    """``cluster.sh up DIR --origins N --port P`` | ``down DIR`` | ``pg-stop``/``pg-start DIR``."""
    ap = argparse.ArgumentParser(prog="deploy/cluster.sh")
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up", help="start PostgreSQL (the bus), N origins and nginx under DIR")
    u.add_argument("dir", type=Path)
    u.add_argument("--origins", type=int, default=3)
    u.add_argument("--port", type=int, default=8080)
    for name in ("down", "pg-stop", "pg-start"):
        sub.add_parser(name).add_argument("dir", type=Path)
    o = sub.add_parser("origin-start", help="start origin I again on its port (after a kill)")
    o.add_argument("dir", type=Path)
    o.add_argument("index", type=int)
    a = ap.parse_args(argv)
    d = a.dir.resolve()
    try:
        if a.cmd == "up":
            info = up(d, a.origins, a.port)
            print(json.dumps(info))
        elif a.cmd == "down":
            down(d)
        elif a.cmd in ("pg-stop", "pg-start"):
            info = _read(d)
            pg = Postgres(Path(info["postgres_dir"]), int(info["postgres_port"]))
            if a.cmd == "pg-stop":
                pg.stop()
            else:
                pg.start()
                info["postgres_pid"] = info["bus_pid"] = pg.pid()
                _write(d, info)
        else:
            info = _read(d)
            if not 0 <= a.index < len(info["origins"]):
                raise ClusterError(f"no origin {a.index}; the cluster has {len(info['origins'])}")
            o = info["origins"][a.index]
            o["pid"] = _start_origin(d, a.index, int(o["port"]), info["db_url"])
            _write(d, info)
    except ClusterError as exc:
        print(f"cluster: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
