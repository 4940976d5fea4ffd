"""Several archive origins on one PostgreSQL behind nginx, started by ``deploy/cluster.sh``.

Real PostgreSQL (database and LISTEN/NOTIFY bus), three real uvicorn origins, real nginx, real
WebSockets, loopback only. Every subscriber collects what it is sent with
:meth:`AsyncArchiveClient.follow` (reconnect with jitter, resume by cursor, duplicates dropped);
"0 lost" means every caption a writer got acknowledged reached every subscriber.

Readiness is read from the origins' own ``/metrics`` (subscribers connected, long-polls held) and
from ``pg_stat_activity`` (bus listeners connected), never from a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from archive_client import ArchiveUnavailable, AsyncArchiveClient, CaptionIn
from archive_server.bus import APPLICATION_NAME
from archive_server.hub import Hub
from archive_server.models import Caption
from tests.plugins.archive import metric, nginx_in_progress
from tests.plugins.waiting import until, wait_until

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "deploy" / "cluster.sh"
ROUTE = "/v1/channels/{channel}/captions/{seq}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cluster(*args: str) -> str:
    out = subprocess.run(
        [str(CLUSTER_SH), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "JIMAKU_PYTHON": sys.executable},
    )
    assert out.returncode == 0, f"cluster.sh {args[0]} failed: {out.stderr[-2000:]}"
    return out.stdout


class Cluster:
    """A running ``deploy/cluster.sh`` cluster with channel 7 and its write token."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        _cluster("up", str(d), "--origins", "3", "--port", str(_free_port()))
        self.reload()
        out = subprocess.run(
            [
                *(sys.executable, "-m", "archive_server", "add-channel", "test", "--id", "7"),
                *("--json", "--db", self.info["db_url"]),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        self.token = json.loads(out.stdout.strip().splitlines()[-1])["token"]

    def reload(self) -> None:
        self.info: dict[str, Any] = json.loads((self.dir / "cluster.json").read_text())
        self.url: str = self.info["url"]
        self.origins = [f"http://127.0.0.1:{o['port']}" for o in self.info["origins"]]

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(self.info["postgres_port"])),
                *("-U", "postgres", "-d", "jimaku", "-Atc", sql),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    d = tmp_path_factory.mktemp("cluster")
    c = Cluster(d)
    try:
        yield c
    finally:
        _cluster("down", str(d))


def _origin_caption_gets(c: Cluster, status: str | None = None) -> float:
    """GETs of one caption by id all origins have served (with that status, or any)."""
    labels = {"method": "GET", "route": ROUTE} | ({"status": status} if status else {})
    return sum(metric(o, "archive_requests_total", **labels) for o in c.origins)


class Subscriber:
    """One live follower: seq -> text of everything received, cursors in arrival order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.got: dict[int, str] = {}
        self.cursors: list[int] = []
        self.drops: list[float] = []
        self.resumed: list[float] = []

    async def run(self, channel: int = 7) -> None:
        async with AsyncArchiveClient(self.url, timeout_s=3) as ac:
            async for ev in ac.follow(
                channel,
                backoff_initial_s=0.1,
                backoff_max_s=1.0,
                on_drop=lambda _e: self.drops.append(time.monotonic()),
            ):
                if len(self.drops) > len(self.resumed):
                    self.resumed.append(time.monotonic())
                self.cursors.append(ev.cursor)
                self.got[ev.caption.seq] = ev.caption.text


async def _writer(
    url: str, token: str, seqs: range, pause_s: float, acked: dict[int, str], failed: list[str]
) -> None:
    """PUT each seq until acknowledged (a broadcaster spools and retries the same way)."""
    async with AsyncArchiveClient(url, token=token, timeout_s=3) as ac:
        for seq in seqs:
            text = f"자막 {seq}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    await ac.put_caption(7, seq, CaptionIn(text=text))
                    acked[seq] = text
                    break
                except ArchiveUnavailable as exc:
                    failed.append(str(exc))
                    assert time.monotonic() < deadline, f"seq {seq} never acknowledged: {exc}"
                    await asyncio.sleep(0.1)
            await asyncio.sleep(pause_s)


async def _until_all_have(subs: list[Subscriber], acked: dict[int, str], timeout_s: float) -> None:
    """Wait for every subscriber to have every acknowledged caption; on timeout return, for
    :func:`_check_delivery` to say who lost what."""
    with contextlib.suppress(TimeoutError):
        await until(
            "every subscriber to have every caption",
            lambda: all(set(acked) <= set(s.got) for s in subs),
            timeout_s,
            poll_s=0.05,
        )


def _check_delivery(subs: list[Subscriber], acked: dict[int, str]) -> None:
    for i, s in enumerate(subs):
        missing = sorted(set(acked) - set(s.got))
        assert not missing, f"subscriber {i} ({s.url}) lost {len(missing)}: {missing[:10]}"
        assert all(s.got[q] == t for q, t in acked.items())
        assert s.cursors == sorted(set(s.cursors)), f"subscriber {i}: duplicate or out of order"


async def _subscribed(c: Cluster, subs: list[Subscriber], tasks: list[Any], base: float) -> None:
    def ready() -> bool:
        for t in tasks:
            if t.done():
                t.result()  # a subscriber that failed ends the wait with its error
        return sum(metric(o, "archive_live_subscribers") for o in c.origins) >= base + len(subs)

    await until("the subscribers to connect", lambda: asyncio.to_thread(ready), 20, poll_s=0.05)


def _live_now(c: Cluster) -> float:
    return sum(metric(o, "archive_live_subscribers") for o in c.origins)


def test_cluster_json_contract(cluster: Cluster) -> None:
    info = cluster.info
    assert info["url"].startswith("http://127.0.0.1:")
    assert info["db_url"].startswith("postgresql")
    assert len(info["origins"]) == 3 and all({"pid", "port"} <= set(o) for o in info["origins"])
    for pid in [o["pid"] for o in info["origins"]] + [info["nginx_pid"], info["postgres_pid"]]:
        os.kill(pid, 0)  # alive
    assert info["bus_pid"] == info["postgres_pid"]  # PostgreSQL is the bus
    assert httpx.get(info["url"] + "/v1/channels").json()["channels"][0]["id"] == 7


def test_every_caption_reaches_every_subscriber_on_every_origin(cluster: Cluster) -> None:
    async def go() -> tuple[list[Subscriber], dict[int, str]]:
        subs = [Subscriber(o) for o in cluster.origins for _ in range(4)]
        base = await asyncio.to_thread(_live_now, cluster)
        tasks = [asyncio.create_task(s.run()) for s in subs]
        await _subscribed(cluster, subs, tasks, base)
        acked: dict[int, str] = {}
        failed: list[str] = []
        # through nginx: the writes land on every origin in turn
        await _writer(cluster.url, cluster.token, range(1, 31), 0.01, acked, failed)
        await _until_all_have(subs, acked, 20)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert not failed
        return subs, acked

    subs, acked = asyncio.run(go())
    assert len(acked) == 30
    _check_delivery(subs, acked)
    writes = [metric(o, "archive_caption_writes_total") for o in cluster.origins]
    assert sum(1 for w in writes if w > 0) >= 2, f"writes per origin {writes}: nginx did not spread"


def test_kill_9_of_an_origin_mid_stream_loses_nothing(cluster: Cluster) -> None:
    victim = cluster.info["origins"][0]

    async def go() -> tuple[list[Subscriber], dict[int, str]]:
        # through nginx (round robin): about a third of them sit on the victim
        subs = [Subscriber(cluster.url) for _ in range(30)]
        base = await asyncio.to_thread(_live_now, cluster)
        tasks = [asyncio.create_task(s.run()) for s in subs]
        await _subscribed(cluster, subs, tasks, base)
        on_victim = await asyncio.to_thread(metric, cluster.origins[0], "archive_live_subscribers")
        assert on_victim >= 1
        acked: dict[int, str] = {}
        failed: list[str] = []
        w = asyncio.create_task(
            _writer(cluster.origins[1], cluster.token, range(100, 160), 0.03, acked, failed)
        )
        await until("20 captions acknowledged", lambda: len(acked) >= 20, 30)
        os.kill(victim["pid"], signal.SIGKILL)
        await w
        await _until_all_have(subs, acked, 20)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return subs, acked

    try:
        subs, acked = asyncio.run(go())
    finally:
        _cluster("origin-start", str(cluster.dir), "0")
        cluster.reload()
    assert len(acked) == 60
    _check_delivery(subs, acked)
    dropped = [s for s in subs if s.drops]
    assert dropped, "no subscriber was on the killed origin"
    resume = [r - d for s in dropped for d, r in zip(s.drops, s.resumed, strict=False)]
    assert len(resume) == len(dropped) and max(resume) < 5, f"resume times {resume}"


def _listeners(c: Cluster) -> int:
    return int(
        c.psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APPLICATION_NAME}'"
        )
    )


def test_bus_connections_cut_mid_stream_lose_nothing(cluster: Cluster) -> None:
    wait_until("3 bus listeners", lambda: _listeners(cluster) == 3, 20)

    async def go() -> tuple[list[Subscriber], dict[int, str]]:
        subs = [Subscriber(o) for o in cluster.origins for _ in range(3)]
        base = await asyncio.to_thread(_live_now, cluster)
        tasks = [asyncio.create_task(s.run()) for s in subs]
        await _subscribed(cluster, subs, tasks, base)
        acked: dict[int, str] = {}
        failed: list[str] = []
        # one origin writes: the others see these captions only through the bus (or backfill)
        w = asyncio.create_task(
            _writer(cluster.origins[0], cluster.token, range(200, 240), 0.03, acked, failed)
        )
        await until("10 captions acknowledged", lambda: len(acked) >= 10, 30)
        cut = await asyncio.to_thread(
            cluster.psql,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE application_name = '{APPLICATION_NAME}'",
        )
        assert cut == "3"
        await w
        await _until_all_have(subs, acked, 20)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert not failed  # the writes never depended on the bus
        return subs, acked

    subs, acked = asyncio.run(go())
    _check_delivery(subs, acked)
    wait_until("the listeners to reconnect", lambda: _listeners(cluster) == 3, 20)


def test_postgres_restart_fails_writes_cleanly_and_loses_nothing_acknowledged(
    cluster: Cluster,
) -> None:
    async def go() -> tuple[list[Subscriber], dict[int, str], list[str]]:
        subs = [Subscriber(o) for o in cluster.origins for _ in range(2)]
        base = await asyncio.to_thread(_live_now, cluster)
        tasks = [asyncio.create_task(s.run()) for s in subs]
        await _subscribed(cluster, subs, tasks, base)
        acked: dict[int, str] = {}
        failed: list[str] = []
        w = asyncio.create_task(
            _writer(cluster.url, cluster.token, range(300, 340), 0.03, acked, failed)
        )
        await until("10 captions acknowledged", lambda: len(acked) >= 10, 30)
        await asyncio.to_thread(_cluster, "pg-stop", str(cluster.dir))
        await until("a write refused while PostgreSQL is down", lambda: failed, 30)
        await asyncio.to_thread(_cluster, "pg-start", str(cluster.dir))
        await w
        await _until_all_have(subs, acked, 30)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return subs, acked, failed

    subs, acked, failed = asyncio.run(go())
    cluster.reload()
    assert len(acked) == 40
    # a clean refusal the broadcaster can spool on: 503 from the origin (or 502 from nginx when
    # an origin's connection broke mid-request), never a 500
    assert all(re.search(r"HTTP 50[23]", f) for f in failed), failed[:3]
    _check_delivery(subs, acked)
    for seq, text in acked.items():  # everything acknowledged is in the database
        r = httpx.get(f"{cluster.origins[2]}/v1/channels/7/captions/{seq}")
        assert r.status_code == 200 and r.json()["text"] == text


def test_long_poll_crowd_through_nginx_is_a_few_origin_requests_per_caption(
    cluster: Cluster,
) -> None:
    """1,500 receivers wait on nginx for each new caption: one origin request per caption.

    The bound, from the design: the whole crowd asked before the caption was stored, so nginx
    holds ONE of its polls at one origin and answers the rest from that answer (a 200); a
    refresh (304) can follow only for waiters answered more than max-age after the fill. 1,500
    is more than one turn of nginx's 10-bit per-entry counter, which with the default
    proxy_cache_min_uses 1 sends the 1,024th waiter to an origin past the lock.
    """
    n = 1500
    port = int(cluster.url.rsplit(":", 1)[1])
    max_age_s = 2  # the origins' final_max_age_s default

    async def crowd(seq: int) -> tuple[list[int], float]:
        answered: list[float] = []
        stored: list[float] = []

        async def one() -> int:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET /v1/channels/7/captions/{seq}?wait=10 HTTP/1.1\r\nHost: a\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            raw = await reader.read()
            answered.append(time.monotonic())
            writer.close()
            return int(raw.split(b" ", 2)[1])

        async def put_when_all_wait() -> None:
            def all_wait() -> bool:
                held = sum(metric(o, "archive_long_polls_waiting") for o in cluster.origins)
                return nginx_in_progress(cluster.url) >= n + 1 and held >= 1

            await until(
                f"nginx answering all {n} polls and an origin holding one",
                lambda: asyncio.to_thread(all_wait),
                8,
                poll_s=0.05,
            )
            async with AsyncArchiveClient(cluster.url, token=cluster.token) as ac:
                await ac.put_caption(7, seq, CaptionIn(text=f"대피 안내 {seq}"))
            stored.append(time.monotonic())

        got = await asyncio.gather(*(one() for _ in range(n)), put_when_all_wait())
        return list(got[:n]), max(answered) - stored[0]

    for seq in (400, 401):
        fills0, refreshes0, all0 = (
            _origin_caption_gets(cluster, "200"),
            _origin_caption_gets(cluster, "304"),
            _origin_caption_gets(cluster),
        )
        statuses, span = asyncio.run(crowd(seq))
        assert statuses == [200] * n
        fills = _origin_caption_gets(cluster, "200") - fills0
        refreshes = _origin_caption_gets(cluster, "304") - refreshes0
        assert fills == 1, f"caption {seq}: {fills} origin fills for {n} long-polls"
        # nginx keeps validity in whole seconds: one refresh per max-age, one more at a boundary
        assert refreshes <= span / max_age_s + 1, f"{refreshes} refreshes in {span:.1f} s"
        assert _origin_caption_gets(cluster) - all0 == fills + refreshes


def test_slow_subscriber_is_dropped_not_waited_for() -> None:
    """The hub's bounded queue: a subscriber that does not drain it is kicked, others unaffected."""

    async def go() -> None:
        hub = Hub(queue_size=3)
        kicked: list[int] = []
        slow = hub.subscribe(7, lambda: kicked.append(1))
        fast = hub.subscribe(7, lambda: kicked.append(2))
        now = Caption.model_validate(
            {"channel": 7, "seq": 0, "text": "x", "final": True, "revision": 1}
            | {"language": None, "start_at": None, "end_at": None, "words": None}
            | {"created_at": "2026-12-03T00:00:00Z", "updated_at": "2026-12-03T00:00:00Z"}
        )
        for cur in range(1, 6):
            hub.publish(cur, True, now.model_copy(update={"seq": cur}))
            while not fast.empty():
                fast.get_nowait()
        assert kicked == [1] and hub.overflows == 1
        assert hub.subscribers == 1  # the slow one is gone; the fast one got every message
        assert slow.qsize() == 3

    asyncio.run(go())
