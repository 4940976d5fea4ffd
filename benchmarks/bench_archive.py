"""Archive load benchmark: GET by id at N concurrent clients, and live fan-out to M subscribers.

Starts a real ``python -m archive_server serve`` (SQLite, loopback). The load generator (asyncio +
httpx / websockets, one process) shares the machine's 2 cores with the server, so req/s here is a
lower bound for the server alone. Prints a table and writes bench-out/archive.json.

Not yet here: the 10,000-GET burst through nginx (deploy/ config has not landed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


async def _get_load(url: str, clients: int, total: int) -> dict[str, float]:
    import httpx

    lat: list[float] = []
    errors = 0
    left = [total]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as c:

        async def worker() -> None:
            nonlocal errors
            while left[0] > 0:
                left[0] -= 1
                t = time.perf_counter()
                r = await c.get("/v1/channels/7/captions/1")
                lat.append(time.perf_counter() - t)
                errors += r.status_code != 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"requests": len(lat), "errors": errors, "req_per_s": len(lat) / wall,
            "p50_ms": statistics.median(lat) * 1000, "p99_ms": _pct(lat, 99) * 1000}


async def _fanout(url: str, token: str, subs: int, captions: int) -> dict[str, float]:
    import httpx
    import websockets

    ws_url = "ws" + url[4:] + "/v1/channels/7/live"
    sent: dict[int, float] = {}
    delays: list[float] = []
    got = [0]

    async def sub(ready: asyncio.Event, n_ready: list[int]) -> None:
        async with websockets.connect(ws_url, max_size=1 << 20, open_timeout=60) as ws:
            n_ready[0] += 1
            if n_ready[0] == subs:
                ready.set()
            for _ in range(captions):
                msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
                delays.append(time.perf_counter() - sent[msg["caption"]["seq"]])
                got[0] += 1

    ready = asyncio.Event()
    n_ready = [0]
    tasks = [asyncio.create_task(sub(ready, n_ready)) for _ in range(subs)]
    await asyncio.wait_for(ready.wait(), 120)
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for i in range(captions):
            seq = 1000 + i
            sent[seq] = time.perf_counter()
            r = await c.put(f"/v1/channels/7/captions/{seq}", json={"text": f"live {i}"},
                            headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
            await asyncio.sleep(1.0)
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 120)
    return {"subscribers": subs, "captions": captions, "delivered": got[0],
            "expected": subs * captions, "p50_ms": statistics.median(delays) * 1000,
            "p99_ms": _pct(delays, 99) * 1000}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--subscribers", type=int, default=2000)
    ap.add_argument("--captions", type=int, default=5)
    a = ap.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.plugins.archive import ArchiveHandle

    with tempfile.TemporaryDirectory() as d:
        h = ArchiveHandle(Path(d), env={"JIMAKU_ARCHIVE_WRITE_BURST": "100000"})
        _, token = h.add_channel("bench", id=7)
        h.start()
        try:
            import httpx

            httpx.put(h.url + "/v1/channels/7/captions/1", json={"text": "벤치마크 자막"},
                      headers={"Authorization": f"Bearer {token}"}).raise_for_status()
            get = asyncio.run(_get_load(h.url, a.clients, a.requests))
            fan = asyncio.run(_fanout(h.url, token, a.subscribers, a.captions))
        finally:
            h.stop()
    res = {"get_by_id": {**get, "clients": a.clients, "target_req_per_s": 2000,
                         "target_p99_ms": 50},
           "live_fanout": {**fan, "target_p99_ms": 200},
           "nginx_burst": "not run: deploy/ nginx config not landed yet",
           "note": "load generator shares the 2 cores with the server"}
    print(f"{'test':<14}{'figure':>40}")
    print(f"{'GET by id':<14}{get['req_per_s']:>10.0f} req/s  p50 {get['p50_ms']:.1f} ms  "
          f"p99 {get['p99_ms']:.1f} ms  errors {get['errors']:.0f}  ({a.clients} clients)")
    print(f"{'live fan-out':<14}{fan['delivered']:>10.0f}/{fan['expected']:.0f} delivered  "
          f"p50 {fan['p50_ms']:.1f} ms  p99 {fan['p99_ms']:.1f} ms  ({a.subscribers} subs)")
    out = Path("bench-out")
    out.mkdir(exist_ok=True)
    (out / "archive.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
