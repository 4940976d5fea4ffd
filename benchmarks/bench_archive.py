"""Archive load benchmark: GET by id (wrk), a burst through nginx, live fan-out to M subscribers.

Starts a real ``python -m archive_server serve`` on loopback (SQLite by default, ``--backend
postgres`` for a private PostgreSQL cluster as the tests start it) and measures:

(a) GET of one caption by id from the ORIGIN with ``--clients`` concurrent connections, by Debian's
    ``wrk`` (closed loop: every connection sends its next request when the last one is answered).
    Targets: >= 2,000 req/s and p99 <= 50 ms at 200 clients. This is the hot path (a caption in
    the server's rendered cache); the same request with ``?wait=0`` goes down the FastAPI route
    instead and is reported as information.
(b) a burst of ``--burst`` simultaneous GETs (one connection each, bare HTTP/1.1 over asyncio)
    for one brand-new caption through nginx running ``deploy/nginx/jimaku-archive.conf``. Target:
    exactly one of them reaches the origin (read from the origin's own /metrics).
(c) ``--subscribers`` WebSocket subscribers on the live feed; ``--captions`` PUTs one second apart;
    the delay from the start of each PUT to each subscriber's receipt. Target p99 <= 200 ms.

Everything (server, nginx, wrk, the Python clients) shares the machine's 2 cores, so the figures
are lower bounds for the server alone: wrk's own CPU and the subscriber process's JSON parsing are
inside the measured latencies. Run it under the shared lock:

    flock /tmp/jimaku-bench.lock .venv/bin/python benchmarks/bench_archive.py

Prints a table and writes bench-out/archive.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

ROUTE = "/v1/channels/{channel}/captions/{seq}"


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert m is not None, text
    return float(m[1]) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m[2]]


def _wrk(url: str, clients: int, duration_s: int, threads: int) -> dict[str, Any]:
    """Run wrk; returns req/s, latency percentiles (ms) and error counts."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{clients}",
            f"-d{duration_s}s",
            "--latency",
            "--timeout",
            "5s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, flags=re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "requests": int(re.search(r"(\d+) requests in", out)[1]),  # type: ignore[index]
        "p50_ms": _ms(lat["50"]),
        "p90_ms": _ms(lat["90"]),
        "p99_ms": _ms(lat["99"]),
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "non_2xx": int(non2xx[1]) if non2xx else 0,
        "clients": clients,
        "threads": threads,
        "duration_s": duration_s,
    }


def _server_side(url: str, pid: int) -> dict[str, Any]:
    """Server-side view of the GET load: its own latency histogram and its preemptions.

    Tells the server's cost apart from time spent waiting for a CPU.
    """
    import httpx

    text = httpx.get(url + "/metrics").text
    b = {
        le: float(v)
        for le, v in re.findall(
            r'^archive_request_seconds_bucket\{le="([^"]+)",method="GET",route="'
            + re.escape(ROUTE)
            + r'"\} (\S+)$',
            text,
            flags=re.M,
        )
    }
    status = Path(f"/proc/{pid}/status").read_text()
    inv = re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status)
    total = b.get("+Inf", 0.0) or 1.0
    return {
        "handled_le_1ms": b.get("0.001", 0.0) / total,
        "handled_le_5ms": b.get("0.005", 0.0) / total,
        "server_preemptions": int(inv[1]) if inv else -1,
    }


def _origin_gets(url: str) -> float:
    import httpx

    text = httpx.get(url + "/metrics").text
    return sum(
        float(v)
        for labels, v in re.findall(r"^archive_requests_total\{(.*)\} (\S+)$", text, flags=re.M)
        if 'method="GET"' in labels and f'route="{ROUTE}"' in labels
    )


async def _burst(port: int, path: str, n: int) -> dict[str, Any]:
    """N simultaneous GETs, one connection each; returns statuses and latency figures."""
    start = asyncio.Event()
    lat: list[float] = []
    statuses: dict[str, int] = {}
    bodies: set[bytes] = set()

    async def one() -> None:
        await start.wait()
        t = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: archive\r\nConnection: close\r\n\r\n".encode()
            )
            raw = await reader.read()
            writer.close()
            head, _, body = raw.partition(b"\r\n\r\n")
            st = head.split(b" ", 2)[1].decode()
            bodies.add(body)
        except OSError as exc:
            st = type(exc).__name__
        lat.append(time.perf_counter() - t)
        statuses[st] = statuses.get(st, 0) + 1

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    return {
        "requests": n,
        "statuses": statuses,
        "distinct_bodies": len(bodies),
        "wall_s": wall,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": _pct(lat, 99) * 1000,
        "max_ms": max(lat) * 1000,
    }


class _LiveSub(asyncio.Protocol):
    """A minimal WebSocket subscriber (RFC 6455 handshake + unmasked server frames).

    The load generator must cost far less than the server, or the delays it measures are its own:
    with the ``websockets`` library, 2,000 subscribers in one process spent ~100 ms parsing each
    round. This one timestamps each text frame in ``data_received`` with no task switch. It offers
    ``permessage-deflate`` as browsers do and fails the handshake if the server accepts it (the
    server declines: compressing per subscriber would multiply the fan-out cost).
    """

    def __init__(self, on_msg: Any, opened: asyncio.Future[None]) -> None:
        self.buf = b""
        self.open = False
        self.on_msg = on_msg
        self.opened = opened
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        if not self.open:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101") or b"permessage-deflate" in head.lower():
                self.opened.set_exception(RuntimeError(head.decode(errors="replace")))
                return
            self.open = True
            self.buf = rest
            self.opened.set_result(None)
        while len(self.buf) >= 2:
            b1 = self.buf[1] & 0x7F
            off = 2
            if b1 == 126:
                if len(self.buf) < 4:
                    return
                b1, off = int.from_bytes(self.buf[2:4], "big"), 4
            elif b1 == 127:
                if len(self.buf) < 10:
                    return
                b1, off = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < off + b1:
                return
            opcode = self.buf[0] & 0x0F
            payload = self.buf[off : off + b1]
            self.buf = self.buf[off + b1 :]
            if opcode == 1:
                self.on_msg(now, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during handshake"))


async def _fanout(url: str, token: str, subs: int, captions: int) -> dict[str, Any]:
    import base64

    import httpx

    port = int(url.rsplit(":", 1)[1])
    sent: dict[int, float] = {}
    delays: list[float] = []
    acks: list[float] = []
    seq_re = re.compile(rb'"seq":(\d+)')

    def on_msg(now: float, payload: bytes) -> None:
        m = seq_re.search(payload)
        if m is not None and int(m[1]) in sent:
            delays.append(now - sent[int(m[1])])

    loop = asyncio.get_running_loop()
    conns: list[_LiveSub] = []

    async def connect() -> None:
        opened: asyncio.Future[None] = loop.create_future()
        tr, proto = await loop.create_connection(
            lambda: _LiveSub(on_msg, opened), "127.0.0.1", port
        )
        key = base64.b64encode(os.urandom(16)).decode()
        tr.write(
            (
                f"GET /v1/channels/7/live HTTP/1.1\r\nHost: archive\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                # offered as browsers do; the server must decline it (see _LiveSub)
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        await asyncio.wait_for(opened, 120)
        conns.append(proto)

    t0 = time.perf_counter()
    results = await asyncio.gather(*(connect() for _ in range(subs)), return_exceptions=True)
    failed = sum(isinstance(x, BaseException) for x in results)
    connect_s = time.perf_counter() - t0
    print(f"  {subs - failed} subscribers connected in {connect_s:.1f} s", file=sys.stderr)
    await asyncio.sleep(1.0)
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for i in range(captions):
            seq = 100000 + i
            sent[seq] = t_put = time.perf_counter()
            r = await c.put(
                f"/v1/channels/7/captions/{seq}",
                json={"text": f"생방송 자막 {i}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            r.raise_for_status()
            acks.append(time.perf_counter() - t_put)
            await asyncio.sleep(1.0)
    text = httpx.get(url + "/metrics").text
    hist = [
        (float(le), float(v))
        for le, v in re.findall(
            r'^archive_live_delivery_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, flags=re.M
        )
    ]
    total = max((v for _, v in hist), default=0.0) or 1.0
    server = {f"le_{le * 1000:g}ms": v / total for le, v in hist if le in (0.05, 0.1, 0.2)}
    server["p99_at_most_ms"] = next((le * 1000 for le, v in hist if v / total >= 0.99), None)
    for p in conns:
        assert p.transport is not None
        p.transport.close()
    return {
        "subscribers": subs,
        "captions": captions,
        "delivered": len(delays),
        "expected": subs * captions,
        "failed_subscribers": failed,
        "connect_s": connect_s,
        "p50_ms": statistics.median(delays) * 1000 if delays else float("nan"),
        "p99_ms": _pct(delays, 99) * 1000,
        "max_ms": max(delays, default=float("nan")) * 1000,
        "put_ack_p50_ms": statistics.median(acks) * 1000,
        "server_publish_to_socket": server,
    }


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--duration", type=int, default=15, help="wrk seconds")
    ap.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        help="wrk threads (1 leaves the other core to the server)",
    )
    ap.add_argument("--burst", type=int, default=10000)
    ap.add_argument("--subscribers", type=int, default=2000)
    ap.add_argument("--captions", type=int, default=10)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--ws-impl", default="auto", help="uvicorn WebSocket implementation")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: get,burst,fanout")
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import httpx

    from tests.plugins.archive import ArchiveHandle, NginxFront

    if shutil.which("wrk") is None:
        print("wrk not found: run `bash tools/ensure-system-deps.sh`", file=sys.stderr)
        return 2
    res: dict[str, Any] = {
        "backend": a.backend,
        "cpus": os.cpu_count(),
        "ws_impl": a.ws_impl,
        "note": "server, nginx, wrk and the Python clients share the cores",
    }
    pg = None
    with tempfile.TemporaryDirectory() as d:
        db_url = None
        if a.backend == "postgres":
            from tests.plugins.postgres import PostgresServer

            os.chmod(d, 0o755)  # the cluster runs as `postgres` when we are root
            (Path(d) / "pg").mkdir()
            pg = PostgresServer(Path(d) / "pg")
            pg.start()
            db_url = pg.new_database()
        (Path(d) / "origin").mkdir()
        h = ArchiveHandle(
            Path(d) / "origin",
            db_url=db_url,
            env={"JIMAKU_ARCHIVE_WRITE_BURST": "100000", "JIMAKU_ARCHIVE_WS_IMPL": a.ws_impl},
        )
        _, token = h.add_channel("bench", id=7)
        h.start()
        auth = {"Authorization": f"Bearer {token}"}
        try:
            if "get" not in skip:
                httpx.put(
                    h.url + "/v1/channels/7/captions/1",
                    json={"text": "벤치마크 자막"},
                    headers=auth,
                ).raise_for_status()
                res["get_by_id"] = {
                    **_wrk(
                        h.url + "/v1/channels/7/captions/1", a.clients, a.duration, a.wrk_threads
                    ),
                    "target_req_per_s": 2000,
                    "target_p99_ms": 50,
                }
                assert h.proc is not None
                res["get_by_id"]["server_side"] = _server_side(h.url, h.proc.pid)
                # the same request down the FastAPI route (query string: not the hot path)
                res["get_by_id_route"] = _wrk(
                    h.url + "/v1/channels/7/captions/1?wait=0",
                    a.clients,
                    max(5, a.duration // 2),
                    a.wrk_threads,
                )
            if "burst" not in skip:
                (Path(d) / "nginx").mkdir()
                ng = NginxFront(h.port, Path(d) / "nginx", listen_opts=" backlog=4096")
                ng.start()
                try:
                    httpx.put(
                        h.url + "/v1/channels/7/captions/2",
                        json={"text": "재난 방송"},
                        headers=auth,
                    ).raise_for_status()
                    before = _origin_gets(h.url)
                    b = _run(_burst(ng.port, "/v1/channels/7/captions/2", a.burst))
                    b["origin_requests"] = _origin_gets(h.url) - before
                    b["target_origin_requests"] = 1
                    res["nginx_burst"] = b
                finally:
                    ng.stop()
            if "fanout" not in skip:
                res["live_fanout"] = {
                    **_run(_fanout(h.url, token, a.subscribers, a.captions)),
                    "target_p99_ms": 200,
                }
        finally:
            h.stop()
            if pg is not None:
                pg.stop()

    rows: list[tuple[str, str, str]] = []
    for key, label in (("get_by_id", "GET by id"), ("get_by_id_route", "GET ?wait=0")):
        if key in res:
            g = res[key]
            rows.append(
                (
                    label,
                    f"{g['req_per_s']:.0f} req/s  p50 {g['p50_ms']:.1f} ms  "
                    f"p99 {g['p99_ms']:.1f} ms  errors {g['socket_errors'] + g['non_2xx']}  "
                    f"({g['clients']} conns)",
                    ">= 2000 req/s, p99 <= 50 ms" if key == "get_by_id" else "(info)",
                )
            )
    if "get_by_id" in res:
        ss = res["get_by_id"]["server_side"]
        rows.append(
            (
                "  server side",
                f"{ss['handled_le_1ms']:.2%} of GETs handled in <= 1 ms, "
                f"{ss['handled_le_5ms']:.2%} in <= 5 ms; server preempted "
                f"{ss['server_preemptions']} times",
                "(info)",
            )
        )
    if "nginx_burst" in res:
        b = res["nginx_burst"]
        rows.append(
            (
                "nginx burst",
                f"{b['origin_requests']:.0f} origin request(s) for "
                f"{b['requests']} GETs  {b['statuses']}  p50 {b['p50_ms']:.0f} ms  "
                f"p99 {b['p99_ms']:.0f} ms",
                "exactly 1 origin request",
            )
        )
    if "live_fanout" in res:
        f = res["live_fanout"]
        rows.append(
            (
                "live fan-out",
                f"{f['delivered']}/{f['expected']} delivered  p50 "
                f"{f['p50_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms  ({f['subscribers']} subs; "
                f"PUT ack p50 {f['put_ack_p50_ms']:.0f} ms)",
                "all delivered, p99 <= 200 ms",
            )
        )
        sv = f["server_publish_to_socket"]
        rows.append(
            (
                "  server side",
                f"publish -> socket: {sv.get('le_100ms', 0):.1%} <= 100 ms, "
                f"{sv.get('le_200ms', 0):.1%} <= 200 ms, p99 <= {sv['p99_at_most_ms']} ms",
                "(info)",
            )
        )
    print(
        f"archive benchmark ({a.backend}; {os.cpu_count()} cores shared with nginx, wrk and "
        "the Python clients)"
    )
    width = max(len(r[1]) for r in rows) + 2 if rows else 10
    print(f"{'part':<14}{'result':<{width}}target")
    for part, result, target in rows:
        print(f"{part:<14}{result:<{width}}{target}")
    out = Path("bench-out")
    out.mkdir(exist_ok=True)
    (out / f"archive{'-pg' if a.backend == 'postgres' else ''}.json").write_text(
        json.dumps(res, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
