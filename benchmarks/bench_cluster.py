"""Cluster benchmark: N origins on one PostgreSQL (LISTEN/NOTIFY bus) behind nginx, on loopback.

For each origin count (``--origins``, default 1,2,3) a fresh ``deploy/cluster.sh`` cluster is
started; for each subscriber count (``--subscribers``, default 2000,5000,10000):

(a) fan-out: that many WebSocket subscribers (spread over the origins directly, from several
    127.0.0.x source addresses, in ``--gen-procs`` load-generator processes) follow channel 7;
    ``--captions`` PUTs one second apart through nginx; every subscriber must get every caption.
    Reported: lost deliveries, PUT -> delivery p50/p99/max (the writer's clock and the
    receivers' are the same clock), RSS per socket of the origins, CPU seconds per process.
(b) ``--kill`` (largest origin count only): subscribers through nginx with resume by cursor;
    ``kill -9`` of origin 0 after the 3rd caption; reported: lost (must be 0) and the time from
    each dropped socket's close to its resumed connection (p50/p99/max).
(c) ``--crowd``: that many receivers long-polling one new caption through nginx (``?wait=10``,
    the receivers' request), the caption stored once nginx is answering all of them
    (``/nginx_status``); reported per caption: origin requests (fills and 304 refreshes, from the
    origins' own /metrics), PUT -> answer p50/p99/max over the crowd, CPU of nginx and of the
    load generators.

The load generators, nginx, PostgreSQL and the origins share the machine's cores: the figures are
relative (how the cluster behaves, where the CPU goes), not a capacity. Run it under the lock:

    flock /tmp/jimaku-bench.lock .venv/bin/python benchmarks/bench_cluster.py

Prints a table and writes bench-out/cluster.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "deploy" / "cluster.sh"
ROUTE = "/v1/channels/{channel}/captions/{seq}"
TICK = os.sysconf("SC_CLK_TCK")


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


# --- load generator (a child process) -------------------------------------------------------
async def _gen_ws(urls: list[str], n: int, srcs: list[str], resume: bool) -> None:
    import websockets

    got: list[dict[int, float]] = [{} for _ in range(n)]
    raws: list[list[tuple[float, str | bytes]]] = [[] for _ in range(n)]
    resumes: list[float] = []
    ready = [0]
    stop = asyncio.Event()

    async def one(i: int) -> None:
        url = urls[i % len(urls)]
        src = srcs[i % len(srcs)]
        last: int | None = None
        first = True
        dropped_at: float | None = None
        failures = 0
        while not stop.is_set():
            u = url + (f"?after_cursor={last}" if last is not None else "")
            try:
                async with websockets.connect(
                    u,
                    compression=None,
                    open_timeout=60,
                    close_timeout=1,
                    local_addr=(src, 0),
                    max_size=1 << 20,
                ) as ws:
                    failures = 0
                    if dropped_at is not None:
                        resumes.append(time.time() - dropped_at)
                        dropped_at = None
                    if first:
                        first = False
                        ready[0] += 1
                    if not resume:
                        # parse after the run: the generator shares the cores with the origins
                        async for raw in ws:
                            raws[i].append((time.time(), raw))
                    else:
                        async for raw in ws:
                            t = time.time()
                            m = json.loads(raw)
                            cur = int(m["cursor"])
                            if last is not None and cur <= last:
                                continue
                            last = cur
                            got[i][int(m["caption"]["seq"])] = t
            except Exception:
                if first and not resume:
                    ready[0] += 1
                    first = False
            if stop.is_set() or not resume:
                return
            if dropped_at is None:
                dropped_at = time.time()
            failures += 1
            await asyncio.sleep(random.uniform(0, min(1.0, 0.1 * 2**failures)))

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    while ready[0] < n:
        await asyncio.sleep(0.1)
    print(f"READY {ready[0]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for g, rs in zip(got, raws, strict=True):
        for t, raw in rs:  # first arrival of each seq (no duplicates without a resume)
            g.setdefault(int(json.loads(raw)["caption"]["seq"]), t)
    print(json.dumps({"got": [{str(k): v for k, v in g.items()} for g in got], "resumes": resumes}))


class _LeanWS(asyncio.Protocol):
    """A receive-only WebSocket client that does as little as it can per message.

    The generator shares the 2 cores with the origins it measures: the websockets client cost
    ~70 us of CPU per message received (3.4 s per 50,000), more than the origins spent sending.
    This one writes the upgrade request itself, stamps each text frame's arrival and keeps its
    bytes (parsed after the run), and answers pings; server frames are never masked (RFC 6455).
    """

    def __init__(self, path: str, host: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.buf = b""
        self.upgraded = False
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.frames: list[tuple[float, bytes]] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_result(False)

    def data_received(self, data: bytes) -> None:
        t = time.time()
        buf = self.buf + data
        if not self.upgraded:
            head, sep, buf = buf.partition(b"\r\n\r\n")
            if not sep:
                self.buf = head
                return
            self.upgraded = True
            self.ready.set_result(head.startswith(b"HTTP/1.1 101"))
        while len(buf) >= 2:
            op, ln, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if ln == 126:
                if len(buf) < 4:
                    break
                ln, at = int.from_bytes(buf[2:4], "big"), 4
            elif ln == 127:
                if len(buf) < 10:
                    break
                ln, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + ln:
                break
            payload, buf = buf[at : at + ln], buf[at + ln :]
            if op == 1:
                self.frames.append((t, payload))
            elif op == 9 and self.transport is not None:  # ping -> pong (client frames masked)
                mask = os.urandom(4)
                body = bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(body)]) + mask + body)
        self.buf = buf


async def _gen_ws_lean(urls: list[str], n: int, srcs: list[str]) -> None:
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(500)  # handshakes in flight at once

    async def one(i: int) -> _LeanWS:
        u = urllib.parse.urlsplit(urls[i % len(urls)])
        async with sem:
            for attempt in range(5):
                _, proto = await loop.create_connection(
                    lambda: _LeanWS(u.path, u.netloc),
                    u.hostname,
                    u.port,
                    local_addr=(srcs[i % len(srcs)], 0),
                )
                if await proto.ready:
                    return proto
                await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"subscriber {i}: no WebSocket upgrade from {urls[i % len(urls)]}")

    protos = await asyncio.gather(*(one(i) for i in range(n)))
    print(f"READY {len(protos)}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    got = []
    for p in protos:
        g: dict[str, float] = {}
        for t, raw in p.frames:
            g.setdefault(str(json.loads(raw)["caption"]["seq"]), t)
        got.append(g)
        if p.transport is not None:
            p.transport.abort()
    print(json.dumps({"got": got, "resumes": []}))


async def _gen_crowd(host: str, port: int, path: str, n: int, srcs: list[str]) -> None:
    sem = asyncio.Semaphore(2000)  # connect at most this many at once (the listen backlog)
    sent = [0]

    async def one(i: int) -> int:
        async with sem:
            reader, writer = await asyncio.open_connection(
                host, port, local_addr=(srcs[i % len(srcs)], 0)
            )
            writer.write(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        sent[0] += 1
        if sent[0] == n:
            print("SENT", flush=True)
        raw = await reader.read()
        answered.append(time.time())
        writer.close()
        return int(raw.split(b" ", 2)[1])

    answered: list[float] = []
    st = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    ok = sum(1 for s in st if s == 200)
    other = [str(s) for s in st if s != 200][:5]
    print(json.dumps({"ok": ok, "other": other, "answered": answered}), flush=True)


# --- the driver -----------------------------------------------------------------------------
def _cluster(*args: str) -> str:
    out = subprocess.run(
        [str(CLUSTER), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "JIMAKU_PYTHON": sys.executable},
    )
    if out.returncode != 0:
        raise SystemExit(f"cluster.sh {args[0]} failed: {out.stderr[-1500:]}")
    return out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK
    except (FileNotFoundError, ProcessLookupError):
        return float("nan")


def _rss_mb(pid: int) -> float:
    try:
        m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        return int(m[1]) / 1024 if m else float("nan")
    except FileNotFoundError:
        return float("nan")


def _children_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its direct children (nginx workers, postgres backends)."""
    total = _cpu_s(pid)
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if ppid == pid:
                total += _cpu_s(int(p.name))
    return total


_DELIVERY = "archive_live_delivery_seconds_bucket"


def _delivery_buckets(ports: list[int]) -> dict[float, float]:
    """Cumulative counts of the origins' publish -> handed-to-socket histogram, by upper bound."""
    import httpx

    out: dict[float, float] = {}
    for p in ports:
        text = httpx.get(f"http://127.0.0.1:{p}/metrics", timeout=10).text
        for le, v in re.findall(rf'^{_DELIVERY}\{{le="([^"]+)"\}} (\S+)$', text, flags=re.M):
            out[float(le)] = out.get(float(le), 0.0) + float(v)
    return out


def _bucket_pct(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """Return the smallest bucket bound (ms) under which a fraction ``q`` of new deliveries fell."""
    d = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    total = d.get(float("inf"), 0.0)
    for le, c in d.items():
        if total and c >= q * total:
            return le * 1000
    return None


def _metric(port: int, name: str, label: str = "") -> float:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        float(v)
        for labels, v in re.findall(rf"^{name}(\{{.*\}})? (\S+)$", text, flags=re.M)
        if label in (labels or "")
    )


class _Gen:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--gen", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self) -> str:
        assert self.proc.stdout is not None
        out = self.proc.stdout.readline()
        if not out:
            raise SystemExit(f"load generator exited ({self.proc.wait()})")
        return out.strip()

    def finish(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        res = json.loads(self.line())
        self.proc.wait(timeout=120)
        return dict(res)


def _srcs(k: int, offset: int) -> str:
    return ",".join(f"127.0.0.{2 + offset * k + j}" for j in range(k))


_HTTP: Any = None


def _put(url: str, token: str, seq: int) -> float:
    """PUT one caption; returns the wall time just before the request was sent."""
    global _HTTP
    import httpx

    if _HTTP is None:
        _HTTP = httpx.Client(timeout=10)
    t = time.time()
    r = _HTTP.put(
        f"{url}/v1/channels/7/captions/{seq}",
        json={"text": f"대피 안내 {seq}", "final": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    r.raise_for_status()
    return t


def _fanout(
    info: dict[str, Any], token: str, subs: int, captions: int, procs: int, client: str
) -> dict[str, Any]:
    ports = [o["port"] for o in info["origins"]]
    urls = ",".join(f"ws://127.0.0.1:{p}/v1/channels/7/live" for p in ports)
    rss0 = {p["pid"]: _rss_mb(p["pid"]) for p in info["origins"]}
    share = [subs // procs + (1 if i < subs % procs else 0) for i in range(procs)]
    t0 = time.monotonic()
    kind = "wslean" if client == "lean" else "ws"
    gens = [_Gen([kind, urls, str(n), _srcs(4, i), "0"]) for i, n in enumerate(share)]
    for g in gens:
        assert g.line().startswith("READY")
    connect_s = time.monotonic() - t0
    while sum(_metric(p, "archive_live_subscribers") for p in ports) < subs:
        time.sleep(0.1)
    rss1 = {p["pid"]: _rss_mb(p["pid"]) for p in info["origins"]}
    pids = {f"origin{i}": o["pid"] for i, o in enumerate(info["origins"])}
    cpu0 = {k: _cpu_s(v) for k, v in pids.items()}
    cpu0["nginx"] = _children_cpu(info["nginx_pid"])
    cpu0["postgres"] = _children_cpu(info["postgres_pid"])
    gcpu0 = [_cpu_s(g.proc.pid) for g in gens]
    hist0 = _delivery_buckets(ports)
    put_at: dict[int, float] = {}
    base = 1000 + subs  # fresh seqs for each cell
    for k in range(captions):
        put_at[base + k] = _put(info["url"], token, base + k)
        time.sleep(1.0)
    time.sleep(2.0)  # let the last deliveries land before the generators stop
    cpu = {k: round(_cpu_s(v) - cpu0[k], 2) for k, v in pids.items()}
    cpu["nginx"] = round(_children_cpu(info["nginx_pid"]) - cpu0["nginx"], 2)
    cpu["postgres"] = round(_children_cpu(info["postgres_pid"]) - cpu0["postgres"], 2)
    cpu["generators"] = round(sum(_cpu_s(g.proc.pid) for g in gens) - sum(gcpu0), 2)
    hist1 = _delivery_buckets(ports)
    results = [g.finish() for g in gens]
    lat: list[float] = []
    lost = 0
    for res in results:
        for got in res["got"]:
            for seq, t in put_at.items():
                rt = got.get(str(seq))
                if rt is None:
                    lost += 1
                else:
                    lat.append((rt - t) * 1000)
    per_sock = [
        (rss1[o["pid"]] - rss0[o["pid"]]) * 1024 / max(1, subs / len(ports))
        for o in info["origins"]
    ]
    return {
        "subscribers": subs,
        "client": client,
        "captions": captions,
        "deliveries": len(lat),
        "lost": lost,
        "connect_s": round(connect_s, 1),
        "p50_ms": round(_pct(lat, 50), 1),
        "p99_ms": round(_pct(lat, 99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        # the origins' own share: publication -> frame handed to the socket (histogram bucket)
        "origin_side_p50_ms_at_most": _bucket_pct(hist0, hist1, 0.5),
        "origin_side_p99_ms_at_most": _bucket_pct(hist0, hist1, 0.99),
        "rss_kib_per_socket": round(sum(per_sock) / len(per_sock), 1),
        "cpu_s_during_captions": cpu,
    }


def _kill(d: Path, info: dict[str, Any], token: str, subs: int, procs: int) -> dict[str, Any]:
    url = info["url"].replace("http", "ws") + "/v1/channels/7/live"
    share = [subs // procs + (1 if i < subs % procs else 0) for i in range(procs)]
    gens = [_Gen(["ws", url, str(n), _srcs(4, i), "1"]) for i, n in enumerate(share)]
    for g in gens:
        assert g.line().startswith("READY")
    ports = [o["port"] for o in info["origins"]]
    while sum(_metric(p, "archive_live_subscribers") for p in ports) < subs:
        time.sleep(0.1)
    on_victim = _metric(ports[0], "archive_live_subscribers")
    seqs = list(range(50_000, 50_010))
    for k, seq in enumerate(seqs):
        _put(f"http://127.0.0.1:{ports[1]}", token, seq)
        if k == 2:
            os.kill(info["origins"][0]["pid"], signal.SIGKILL)
        time.sleep(0.5)
    # wait for the resumed sockets to catch up, at most 30 s
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = sum(_metric(p, "archive_live_subscribers") for p in ports[1:])
        if live >= subs:
            break
        time.sleep(0.2)
    time.sleep(2.0)
    results = [g.finish() for g in gens]
    lost = sum(1 for r in results for got in r["got"] for s in seqs if str(s) not in got)
    resumes = [x * 1000 for r in results for x in r["resumes"]]
    _cluster("origin-start", str(d), "0")
    return {
        "subscribers": subs,
        "on_killed_origin": int(on_victim),
        "lost": lost,
        "resumed": len(resumes),
        "resume_p50_ms": round(_pct(resumes, 50), 1),
        "resume_p99_ms": round(_pct(resumes, 99), 1),
        "resume_max_ms": round(max(resumes), 1) if resumes else None,
    }


def _gets(ports: list[int], status: str = "") -> float:
    """Return the GETs of a caption by id the origins served (with that status, or any)."""
    lab = f'method="GET",route="{ROUTE}"' + (f',status="{status}"' if status else "")
    return sum(_metric(p, "archive_requests_total", lab) for p in ports)


def _nginx_writing(url: str) -> int:
    """Return nginx's stub_status ``Writing``: requests it answers now (lock waiters included)."""
    import httpx

    m = re.search(r"Writing: (\d+)", httpx.get(f"{url}/nginx_status", timeout=10).text)
    return int(m[1]) if m else -1


def _crowd(info: dict[str, Any], token: str, n: int, procs: int, captions: int) -> dict[str, Any]:
    """``n`` receivers long-poll each new caption through nginx, all asking before it is stored.

    The caption is PUT once nginx is answering the whole crowd (stub_status) and an origin holds
    one poll, or after 10 s at most (then ``crowd_in_before_put`` is false for that caption).
    """
    port = int(info["url"].rsplit(":", 1)[1])
    oports = [o["port"] for o in info["origins"]]
    rounds: list[dict[str, Any]] = []
    for k in range(captions):
        seq = 60_000 + k
        before = {st: _gets(oports, st) for st in ("", "200", "304")}
        ncpu0 = _children_cpu(info["nginx_pid"])
        path = f"/v1/channels/7/captions/{seq}?wait=10"
        share = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        gens = [_Gen(["crowd", str(port), path, str(m), _srcs(4, i)]) for i, m in enumerate(share)]
        gcpu0 = [_cpu_s(g.proc.pid) for g in gens]
        for g in gens:
            assert g.line() == "SENT"
        deadline = time.monotonic() + 10
        all_in = False
        while time.monotonic() < deadline:
            held = sum(_metric(p, "archive_long_polls_waiting") for p in oports)
            if held >= 1 and _nginx_writing(info["url"]) >= n + 1:
                all_in = True
                break
            time.sleep(0.05)
        put_at = _put(info["url"], token, seq)
        ok = 0
        lat: list[float] = []
        for g in gens:
            res = json.loads(g.line())
            ok += res["ok"]
            lat += [(t - put_at) * 1000 for t in res["answered"]]
        gcpu = sum(_cpu_s(g.proc.pid) for g in gens) - sum(gcpu0)
        for g in gens:
            g.proc.wait(timeout=60)
        after = {st: _gets(oports, st) for st in ("", "200", "304")}
        rounds.append(
            {
                "seq": seq,
                "crowd_in_before_put": all_in,
                "answered_200": ok,
                "origin_requests": after[""] - before[""],
                "origin_fills_200": after["200"] - before["200"],
                "origin_refreshes_304": after["304"] - before["304"],
                "put_to_answer_p50_ms": round(_pct(lat, 50), 1),
                "put_to_answer_p99_ms": round(_pct(lat, 99), 1),
                "put_to_answer_max_ms": round(max(lat), 1) if lat else None,
                "cpu_s": {
                    "nginx": round(_children_cpu(info["nginx_pid"]) - ncpu0, 2),
                    "generators": round(gcpu, 2),
                },
            }
        )
    return {
        "receivers": n,
        "captions": captions,
        "origin_requests_per_caption": [r["origin_requests"] for r in rounds],
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the cells asked for; print a table and write bench-out/cluster.json."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--origins", default="1,2,3")
    ap.add_argument("--subscribers", default="2000,5000,10000")
    ap.add_argument("--captions", type=int, default=10)
    ap.add_argument("--gen-procs", type=int, default=2)
    ap.add_argument(
        "--gen-client",
        choices=("lean", "websockets"),
        default="lean",
        help="fan-out subscribers: a minimal receive-only client, or the websockets library's",
    )
    ap.add_argument("--kill", type=int, default=2000, help="subscribers in the kill test (0: off)")
    ap.add_argument("--crowd", type=int, default=10000, help="long-polling receivers (0: off)")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out" / "cluster.json")
    a = ap.parse_args(argv)
    # SIGTERM (a timeout, Ctrl-C's cousin): unwind, so the `finally` below stops the cluster
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    origins = [int(x) for x in a.origins.split(",")]
    counts = [int(x) for x in a.subscribers.split(",") if x]
    report: dict[str, Any] = {"cells": [], "kill": None, "crowd": None, "loaded_machine": True}
    for n in origins:
        d = Path(tempfile.mkdtemp(prefix=f"jimaku-bench-cluster{n}-", dir="/tmp"))
        _cluster("up", str(d), "--origins", str(n), "--port", str(_free_port()))
        try:
            info = json.loads((d / "cluster.json").read_text())
            out = subprocess.run(
                [
                    *(sys.executable, "-m", "archive_server", "add-channel", "bench"),
                    *("--id", "7", "--json", "--db", info["db_url"]),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            token = json.loads(out.stdout.strip().splitlines()[-1])["token"]
            for m in counts:
                cell = {
                    "origins": n,
                    **_fanout(info, token, m, a.captions, a.gen_procs, a.gen_client),
                }
                print(json.dumps(cell), flush=True)
                report["cells"].append(cell)
            if n == max(origins) and a.kill:
                report["kill"] = {"origins": n, **_kill(d, info, token, a.kill, a.gen_procs)}
                print(json.dumps(report["kill"]), flush=True)
                info = json.loads((d / "cluster.json").read_text())
            if n == max(origins) and a.crowd:
                report["crowd"] = {"origins": n, **_crowd(info, token, a.crowd, a.gen_procs, 3)}
                print(json.dumps(report["crowd"]), flush=True)
        finally:
            _cluster("down", str(d))
            shutil.rmtree(d, ignore_errors=True)
    print(f"\n{'origins':>7} {'subs':>6} {'lost':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'origin p99<=':>12} {'KiB/sock':>8} cpu s (during {a.captions} captions)")  # fmt: skip
    for c in report["cells"]:
        print(
            f"{c['origins']:>7} {c['subscribers']:>6} {c['lost']:>5} {c['p50_ms']:>7} "
            f"{c['p99_ms']:>7} {c['max_ms']:>7} {c['origin_side_p99_ms_at_most']!s:>12} "
            f"{c['rss_kib_per_socket']:>8}  {c['cpu_s_during_captions']}"
        )
    if report["kill"]:
        print(f"kill -9: {report['kill']}")
    if report["crowd"]:
        cr = report["crowd"]
        print(f"long-poll crowd of {cr['receivers']} through nginx ({cr['origins']} origins):")
        for r in cr["rounds"]:
            print(f"  {r}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _gen_main(argv: list[str]) -> None:
    if argv[0] == "ws":
        urls, n, srcs, resume = argv[1].split(","), int(argv[2]), argv[3].split(","), argv[4]
        asyncio.run(_gen_ws(urls, n, srcs, resume == "1"))
    elif argv[0] == "wslean":
        urls, n, srcs = argv[1].split(","), int(argv[2]), argv[3].split(",")
        asyncio.run(_gen_ws_lean(urls, n, srcs))
    else:
        port, path, n, srcs = int(argv[1]), argv[2], int(argv[3]), argv[4].split(",")
        asyncio.run(_gen_crowd("127.0.0.1", port, path, n, srcs))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--gen":
        _gen_main(sys.argv[2:])
    else:
        sys.exit(main())
