"""deploy/nginx/jimaku-archive.conf in front of a real uvicorn archive: real nginx, real HTTP/WS.

How many requests reached the origin is read from the origin's own ``/metrics``
(``archive_requests_total`` for the caption-by-id route), scraped directly, not through nginx.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from archive_client import AsyncArchiveClient, CaptionIn
from tests.plugins.archive import (
    ArchiveHandle,
    NginxFront,
    metric,
    nginx_in_progress,
    wait_for_metric,
)
from tests.plugins.waiting import wait_until

ROUTE = "/v1/channels/{channel}/captions/{seq}"
MAX_AGE_S = 2  # the origin's final_max_age_s default, which the test does not change


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ArchiveHandle, NginxFront]]:
    """One origin (channel 7) and nginx in front of it for the module; tests use distinct seqs."""
    d = tmp_path_factory.mktemp("nginx-stack")
    (d / "origin").mkdir()
    (d / "nginx").mkdir()
    origin = ArchiveHandle(d / "origin")
    origin.channel, origin.token = origin.add_channel("test", id=7)
    origin.start()
    # CROWD connections at once need a listen backlog to hold them (capped at somaxconn)
    ng = NginxFront(origin.port, d / "nginx", listen_opts=" backlog=4096")
    try:
        ng.start()
        yield origin, ng
    finally:
        ng.stop()
        origin.stop()


@pytest.fixture
def archive_server(stack: tuple[ArchiveHandle, NginxFront]) -> ArchiveHandle:
    return stack[0]


@pytest.fixture
def front(stack: tuple[ArchiveHandle, NginxFront]) -> NginxFront:
    return stack[1]


def _origin_gets(origin: str, status: str | None = None) -> float:
    """GETs of one caption by id the origin has served (with that status, or any)."""
    labels = {"method": "GET", "route": ROUTE} | ({"status": status} if status else {})
    return metric(origin, "archive_requests_total", **labels)


def _put(h: ArchiveHandle, seq: int, text: str, final: bool = True) -> None:
    r = httpx.put(
        f"{h.url}/v1/channels/7/captions/{seq}",
        json={"text": text, "final": final},
        headers={"Authorization": f"Bearer {h.token}"},
    )
    assert r.status_code in (200, 201), r.text


def test_get_through_nginx_etag_304_and_not_public_metrics(
    archive_server: ArchiveHandle, front: NginxFront
) -> None:
    _put(archive_server, 1, "첫 자막")
    r = httpx.get(front.url + "/v1/channels/7/captions/1")
    assert r.status_code == 200 and r.json()["text"] == "첫 자막"
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == f"public, max-age={MAX_AGE_S}"
    r2 = httpx.get(front.url + "/v1/channels/7/captions/1", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers.get("x-cache-status") == "HIT"  # answered by nginx from its cache
    assert httpx.get(front.url + "/metrics").status_code == 403
    assert httpx.get(archive_server.url + "/metrics").status_code == 200
    # other routes pass through
    assert [c["id"] for c in httpx.get(front.url + "/v1/channels").json()["channels"]] == [7]


def test_correction_visible_within_max_age(
    archive_server: ArchiveHandle, front: NginxFront
) -> None:
    _put(archive_server, 2, "오타 있는 자막")
    t_fill = time.monotonic()  # nginx caches the first version now
    assert httpx.get(front.url + "/v1/channels/7/captions/2").json()["text"] == "오타 있는 자막"
    _put(archive_server, 2, "고친 자막")

    asked = [0.0]

    def corrected() -> bool:
        asked[0] = time.monotonic()
        text = httpx.get(front.url + "/v1/channels/7/captions/2").json()["text"]
        return bool(text == "고친 자막")

    wait_until("the correction to show through nginx", corrected, MAX_AGE_S + 5, poll_s=0.1)
    seen = asked[0] - t_fill  # when the request that saw it was sent (not its own latency)
    # Bound: max-age, plus up to 1 s because nginx keeps cache validity in whole seconds, plus the
    # one request that gets the stale copy while the background refresh runs (poll step 0.1 s).
    assert seen <= MAX_AGE_S + 1.3, f"correction visible {seen:.2f} s after the first fill"


def test_partials_and_404_are_not_held(archive_server: ArchiveHandle, front: NginxFront) -> None:
    assert httpx.get(front.url + "/v1/channels/7/captions/3").status_code == 404
    _put(archive_server, 3, "부분", final=False)
    r = httpx.get(front.url + "/v1/channels/7/captions/3")
    assert r.status_code == 200 and r.json()["text"] == "부분"  # the 404 was not cached
    _put(archive_server, 3, "부분 자막 완성", final=False)
    r = httpx.get(front.url + "/v1/channels/7/captions/3")
    assert r.json()["text"] == "부분 자막 완성"  # partials (no-cache) are not cached


def test_long_poll_through_the_cache(archive_server: ArchiveHandle, front: NginxFront) -> None:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(timeout=20) as c:
            poll = asyncio.ensure_future(c.get(front.url + "/v1/channels/7/captions/4?wait=10"))
            await asyncio.to_thread(
                wait_for_metric, archive_server.url, "archive_long_polls_waiting", 1
            )
            await asyncio.to_thread(_put, archive_server, 4, "기다린 자막")
            return await poll

    t0 = time.monotonic()
    r = asyncio.run(go())
    assert r.status_code == 200 and r.json()["text"] == "기다린 자막"
    assert time.monotonic() - t0 < 5  # answered when stored, not at the end of the hold
    assert r.headers.get("x-cache-status") == "MISS"  # it went to the origin and filled the cache
    # the same poll now is a cache hit, whatever its wait value (one key for every wait)
    again = httpx.get(front.url + "/v1/channels/7/captions/4?wait=3")
    assert again.json()["text"] == "기다린 자막" and again.headers["x-cache-status"] == "HIT"


def _crowd(
    port: int, path: str, n: int, sent: list[int] | None = None
) -> list[tuple[int, bytes, float]]:
    """``n`` bare HTTP/1.1 GETs of ``path`` at once: (status, body, monotonic time answered) each.

    ``sent[0]`` counts the requests written so far (read by another thread).
    """

    async def get() -> tuple[int, bytes, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: archive\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        if sent is not None:
            sent[0] += 1
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body, time.monotonic()

    async def all_() -> list[tuple[int, bytes, float]]:
        return await asyncio.gather(*(get() for _ in range(n)))

    return asyncio.run(all_())


#: Larger than two turns of nginx's 10-bit per-entry request counter: with the default
#: proxy_cache_min_uses 1, requests 1,024 and 2,048 of a crowd waiting for an entry skip the cache
#: lock and reach the origin (3 origin requests for this crowd; deploy/nginx/jimaku-archive.conf).
CROWD = 2 * 1024 + 100


def test_long_poll_crowd_before_and_after_the_caption_is_stored(
    archive_server: ArchiveHandle, front: NginxFront
) -> None:
    """2,148 receivers poll before the caption exists, as many after: one origin fill.

    The bound, from the design: the crowd that asked before is answered by the one poll nginx
    holds at the origin (one 200); the crowd that asks after gets the cached copy, refreshed by
    ETag at most once per max-age while it keeps asking (304s), never a second fill.
    """
    n = CROWD
    url = archive_server.url
    fills0, revalidations0, all0 = (
        _origin_gets(url, "200"), _origin_gets(url, "304"), _origin_gets(url)
    )  # fmt: skip
    path = "/v1/channels/7/captions/8?wait=10"
    sent = [0]
    stored: list[float] = []
    failed: list[BaseException] = []

    def put_when_all_wait() -> None:
        # the caption arrives once nginx is answering the whole crowd (waiting on the cache lock,
        # one of them held at the origin): every one of them asked before it was stored
        try:
            wait_until(
                f"nginx answering all {n} polls and the origin holding one",
                lambda: (
                    nginx_in_progress(front.url) >= n + 1
                    and metric(url, "archive_long_polls_waiting") >= 1
                ),
                8,
                poll_s=0.05,
            )
        except BaseException as exc:  # reported after the crowd is answered
            failed.append(exc)
        _put(archive_server, 8, "홍수 경보")
        stored.append(time.monotonic())

    t = threading.Thread(target=put_when_all_wait)
    t.start()
    early = _crowd(front.port, path, n, sent)
    t.join()
    if failed:
        raise failed[0]
    late = _crowd(front.port, path, n)
    for rs in (early, late):
        assert [st for st, _, _ in rs] == [200] * n
        assert {json.loads(b)["text"] for _, b, _ in rs} == {"홍수 경보"}
    # woken by the write: nginx's lock waiters look again every 0.5 s
    assert max(at for _, _, at in early) - stored[0] < 3
    fills = _origin_gets(url, "200") - fills0
    revalidations = _origin_gets(url, "304") - revalidations0
    assert fills == 1, f"{fills} origin fills for {n} polls that waited for one caption"
    # nginx keeps validity in whole seconds: one refresh per max-age, plus one at a boundary
    span = max(at for _, _, at in late) - stored[0]
    assert revalidations <= span / MAX_AGE_S + 1, f"{revalidations} refreshes in {span:.1f} s"
    assert _origin_gets(url) - all0 == fills + revalidations  # nothing else reached the origin


def test_long_poll_that_times_out_collapses_too(
    archive_server: ArchiveHandle, front: NginxFront
) -> None:
    """Nothing stored within the hold: the crowd gets one cached 404, not one origin trip each."""
    n = 100
    before = _origin_gets(archive_server.url)
    t0 = time.monotonic()
    rs = _crowd(front.port, "/v1/channels/7/captions/9?wait=1", n)
    assert [st for st, _, _ in rs] == [404] * n
    # nginx sends wait=10 upstream whatever the client asked: the hold is the proxy's
    assert min(at for _, _, at in rs) - t0 >= 9
    assert _origin_gets(archive_server.url) - before <= 2


def test_live_websocket_through_nginx(archive_server: ArchiveHandle, front: NginxFront) -> None:
    async def go() -> None:
        async with AsyncArchiveClient(front.url, token=archive_server.token) as ac:
            it = ac.live(7).__aiter__()
            first = asyncio.ensure_future(it.__anext__())
            await asyncio.to_thread(
                wait_for_metric, archive_server.url, "archive_live_subscribers", 1
            )
            await ac.put_caption(7, 5, CaptionIn(text="생방송"))  # the write goes through nginx
            ev = await asyncio.wait_for(first, 5)
            assert (ev.event, ev.caption.seq, ev.caption.text) == ("created", 5, "생방송")
            await it.aclose()  # type: ignore[attr-defined]

    asyncio.run(go())


def test_burst_for_new_caption_reaches_origin_once(
    archive_server: ArchiveHandle, front: NginxFront
) -> None:
    n = 500
    _put(archive_server, 6, "재난 방송 자막")  # brand new: nginx has never seen it
    before = _origin_gets(archive_server.url)

    async def get(path: str) -> tuple[int, bytes]:
        # A bare HTTP/1.1 request (httpx would spend seconds of CPU on 500 connections here).
        reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: archive\r\nConnection: close\r\n\r\n".encode())
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body

    async def burst() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(get("/v1/channels/7/captions/6") for _ in range(n)))

    t0 = time.monotonic()
    rs = asyncio.run(burst())
    took = time.monotonic() - t0
    assert [st for st, _ in rs] == [200] * n
    assert {json.loads(body)["text"] for _, body in rs} == {"재난 방송 자막"}
    assert _origin_gets(archive_server.url) - before == 1, f"burst of {n} took {took:.2f} s"
