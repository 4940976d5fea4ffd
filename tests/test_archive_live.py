"""archive_server via a real uvicorn server on loopback: HTTP, long-poll, WebSocket, errors.

The round trip and live tests run on both backends (``backend_archive``: the server on a fresh
SQLite file, then on a fresh database of the real PostgreSQL cluster). The SIGKILL test runs on
SQLite, whose WAL + synchronous=FULL settings are ours to get right; on PostgreSQL an acknowledged
write is a committed transaction of a server the test does not kill (the store tests check that
committed data reads back through a new engine on both backends).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from archive_client import (
    ArchiveAuthError,
    ArchiveClient,
    ArchiveRejected,
    ArchiveUnavailable,
    AsyncArchiveClient,
    CaptionIn,
)
from tests.plugins.archive import ArchiveHandle, wait_for_metric
from tests.plugins.waiting import until

_open: list[ArchiveClient] = []


def _mk(url: str, token: str | None = None, timeout_s: float = 5.0) -> ArchiveClient:
    c = ArchiveClient(url, token=token, timeout_s=timeout_s)
    _open.append(c)
    return c


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


@pytest.fixture
def backend_archive(archive_factory: Callable[..., ArchiveHandle], db_url: str) -> ArchiveHandle:
    """A running archive with channel 7 on each backend (``db_url`` is parametrised)."""
    h = archive_factory(db_url=db_url, start=False)
    h.channel, h.token = h.add_channel("test", id=7)
    h.start()
    return h


def test_put_get_roundtrip_and_revision(backend_archive: ArchiveHandle) -> None:
    archive_server = backend_archive
    c = _mk(archive_server.url, token=archive_server.token)
    t0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
    body = CaptionIn(
        text="안녕하세요",
        final=True,
        language="ko",
        start_at=t0,
        end_at=t0 + dt.timedelta(seconds=1.5),
        words=None,
    )
    a = c.put_caption(7, 1, body)
    assert (a.text, a.revision, a.final) == ("안녕하세요", 1, True)
    assert c.put_caption(7, 1, body).revision == 1  # idempotent
    b = c.put_caption(7, 1, body.model_copy(update={"text": "안녕하십니까"}))
    assert b.revision == 2
    got = _mk(archive_server.url).get_caption(7, 1)
    assert got is not None and got.text == "안녕하십니까" and got.start_at == t0
    assert _mk(archive_server.url).get_caption(7, 2) is None


def test_auth_errors_mapped(archive_server: ArchiveHandle) -> None:
    _other, other_tok = archive_server.add_channel("other", id=9)
    with pytest.raises(ArchiveAuthError) as e:
        _mk(archive_server.url).put_caption(7, 1, CaptionIn(text="x"))
    assert e.value.status == 401
    with pytest.raises(ArchiveAuthError) as e:
        _mk(archive_server.url, token="wrong").put_caption(7, 1, CaptionIn(text="x"))
    assert e.value.status == 401
    with pytest.raises(ArchiveAuthError) as e:
        _mk(archive_server.url, token=other_tok).put_caption(7, 1, CaptionIn(text="x"))
    assert e.value.status == 403 and "channel 9" in str(e.value)


def test_rejections_carry_server_detail(archive_server: ArchiveHandle) -> None:
    # the client's model refuses these too (tests/test_contracts.py); built unvalidated here so
    # that the server's own answer is what is tested
    c = _mk(archive_server.url, token=archive_server.token)
    with pytest.raises(ArchiveRejected) as e:
        c.put_caption(7, 1, CaptionIn.model_construct(text="x" * 2001))
    assert e.value.status == 422 and "2000" in e.value.detail
    with pytest.raises(ArchiveRejected) as e:
        c.put_caption(7, 1, CaptionIn.model_construct(text="bell\x07"))
    assert e.value.status == 422 and "U+0007" in e.value.detail


def test_unreachable_is_unavailable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ArchiveUnavailable):
        _mk(f"http://127.0.0.1:{port}", timeout_s=1.0).get_caption(7, 1)


def test_long_poll_returns_when_final_arrives(archive_server: ArchiveHandle) -> None:
    writer = _mk(archive_server.url, token=archive_server.token)

    def later() -> None:
        held = "archive_long_polls_waiting"
        wait_for_metric(archive_server.url, held, 1)  # the GET below is held open
        writer.put_caption(7, 5, CaptionIn(text="partial", final=False))
        wait_for_metric(archive_server.url, held, 1)  # a partial does not end the wait
        writer.put_caption(7, 5, CaptionIn(text="done", final=True))

    th = threading.Thread(target=later)
    t0 = time.monotonic()
    th.start()
    got = _mk(archive_server.url).get_caption(7, 5, wait_s=10.0)
    took = time.monotonic() - t0
    th.join()
    assert got is not None and got.text == "done" and got.final
    assert took < 5.0  # woke on the final write, not at the 10 s deadline


def test_long_poll_times_out_with_404(archive_server: ArchiveHandle) -> None:
    t0 = time.monotonic()
    assert _mk(archive_server.url).get_caption(7, 6, wait_s=0.5) is None
    assert time.monotonic() - t0 >= 0.45


def _crowd_one_address(url: str, paths: list[str], writer: Callable[[], None]) -> list[int]:
    """GET every path at once from 127.0.0.1 (one address: a crowd behind carrier-grade NAT);
    ``writer`` runs once every request is open. Returns the statuses."""
    port = int(url.rsplit(":", 1)[1])
    sent = [0]

    async def one(path: str) -> int:
        reader, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
        await w.drain()
        sent[0] += 1
        raw = await reader.read()
        w.close()
        return int(raw.split(b" ", 2)[1])

    async def write_when_all_sent() -> None:
        await until("every request sent", lambda: sent[0] >= len(paths), 30, poll_s=0.01)
        await asyncio.to_thread(writer)

    async def go() -> list[int]:
        got = await asyncio.gather(*(one(p) for p in paths), write_when_all_sent())
        return list(got[: len(paths)])

    return asyncio.run(go())


def test_crowd_behind_one_address_is_not_refused(archive_server: ArchiveHandle) -> None:
    """200 long-polls for one caption from one address: all answered (the limit is 20/s, burst
    60, per address: it counts the waits an address opens, not the ones it joins)."""
    w = _mk(archive_server.url, token=archive_server.token)
    statuses = _crowd_one_address(
        archive_server.url,
        ["/v1/channels/7/captions/40?wait=10"] * 200,
        lambda: w.put_caption(7, 40, CaptionIn(text="대피하세요")),
    )
    assert statuses == [200] * 200


def test_one_address_opening_many_waits_is_limited(archive_server: ArchiveHandle) -> None:
    """The origin is still protected: 200 long-polls for 200 different captions from one
    address get 429 past the bucket (burst 60), without waiting."""
    statuses = _crowd_one_address(
        archive_server.url,
        [f"/v1/channels/7/captions/{500 + i}?wait=2" for i in range(200)],
        lambda: None,
    )
    assert statuses.count(429) >= 100 and set(statuses) == {404, 429}


def test_live_and_resume(backend_archive: ArchiveHandle) -> None:
    archive_server = backend_archive
    writer = _mk(archive_server.url, token=archive_server.token)

    async def go() -> None:
        async with AsyncArchiveClient(archive_server.url) as ac:
            it = ac.live(7).__aiter__()
            first = asyncio.ensure_future(it.__anext__())
            await asyncio.to_thread(
                wait_for_metric, archive_server.url, "archive_live_subscribers", 1
            )
            await asyncio.to_thread(writer.put_caption, 7, 10, CaptionIn(text="ten"))
            ev = await asyncio.wait_for(first, 5)
            assert (ev.event, ev.caption.seq, ev.caption.text) == ("created", 10, "ten")
            await it.aclose()  # type: ignore[attr-defined]
            # while disconnected: one new caption and one correction
            await asyncio.to_thread(writer.put_caption, 7, 11, CaptionIn(text="eleven"))
            await asyncio.to_thread(writer.put_caption, 7, 10, CaptionIn(text="TEN"))
            got = []
            async for e in ac.live(7, after_cursor=ev.cursor):
                got.append(e)
                if len(got) == 2:
                    break
            assert [(e.caption.seq, e.caption.text, e.event) for e in got] == [
                (11, "eleven", "created"),
                (10, "TEN", "updated"),
            ]
            assert got[0].cursor > ev.cursor and got[1].cursor > got[0].cursor
            with pytest.raises(ArchiveRejected):
                async for _ in ac.live(99):
                    pass

    asyncio.run(go())


def test_durability_sigkill(archive_server: ArchiveHandle) -> None:
    """1,000 PUTs, SIGKILL mid-stream; every acknowledged caption is intact after restart."""
    acked: dict[int, str] = {}
    c = _mk(archive_server.url, token=archive_server.token, timeout_s=5.0)
    killer = threading.Timer(2.0, archive_server.kill)
    killer.start()
    for seq in range(1000):
        text = f"caption {seq} 자막"
        try:
            c.put_caption(7, seq, CaptionIn(text=text))
        except ArchiveUnavailable:
            break
        acked[seq] = text
    killer.join()
    assert 0 < len(acked) < 1000, f"kill did not land mid-stream ({len(acked)} acked)"
    archive_server.start()
    r = _mk(archive_server.url)
    stored = {x.seq: x.text for x in r.list_captions(7, after=-1, limit=1000)}
    for seq, text in acked.items():
        assert stored.get(seq) == text, f"acknowledged caption {seq} lost"


def test_live_declines_per_message_deflate(archive_server: ArchiveHandle) -> None:
    """Fan-out sends the same bytes to every subscriber: no per-connection compression."""
    import socket

    with socket.create_connection(("127.0.0.1", archive_server.port), timeout=5) as s:
        s.sendall(
            b"GET /v1/channels/7/live HTTP/1.1\r\nHost: archive\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            assert chunk, head
            head += chunk
    status, _, rest = head.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 101"), head
    assert b"permessage-deflate" not in rest.lower(), head


def test_live_from_seq_starts_with_that_caption_as_it_stands(
    backend_archive: ArchiveHandle,
) -> None:
    """Joining at a heard trigger: its partial comes at once, then live; nothing before it."""
    archive_server = backend_archive
    writer = _mk(archive_server.url, token=archive_server.token)
    writer.put_caption(7, 19, CaptionIn(text="before", final=True))
    writer.put_caption(7, 20, CaptionIn(text="first", final=False))
    writer.put_caption(7, 20, CaptionIn(text="first words", final=False))

    async def go() -> None:
        async with AsyncArchiveClient(archive_server.url) as ac:
            it = ac.live(7, from_seq=20).__aiter__()
            # no write happens until this event came: it can only be the replay
            ev = await asyncio.wait_for(it.__anext__(), 5)
            assert (ev.event, ev.caption.seq, ev.caption.text, ev.caption.revision) == (
                "updated",
                20,
                "first words",
                2,
            )
            assert not ev.caption.final
            await asyncio.to_thread(writer.put_caption, 7, 20, CaptionIn(text="first words."))
            nxt = await asyncio.wait_for(it.__anext__(), 5)
            assert (nxt.caption.seq, nxt.caption.text, nxt.caption.final) == (
                20,
                "first words.",
                True,
            )
            assert nxt.cursor > ev.cursor
            await it.aclose()  # type: ignore[attr-defined]

            # a trigger heard before its caption is stored: nothing to replay, then live
            it = ac.live(7, from_seq=21).__aiter__()
            first = asyncio.ensure_future(it.__anext__())
            await asyncio.to_thread(
                wait_for_metric, archive_server.url, "archive_live_subscribers", 1
            )
            await asyncio.to_thread(writer.put_caption, 7, 21, CaptionIn(text="next", final=False))
            ev = await asyncio.wait_for(first, 5)
            assert (ev.event, ev.caption.seq, ev.caption.text) == ("created", 21, "next")
            await it.aclose()  # type: ignore[attr-defined]

            # follow() joins with from_seq, then resumes by cursor: no caption twice
            got = []
            async for e in ac.follow(7, from_seq=21):
                got.append(e)
                if len(got) == 1:
                    await asyncio.to_thread(writer.put_caption, 7, 21, CaptionIn(text="next one"))
                if len(got) == 2:
                    break
            assert [(e.caption.seq, e.caption.text, e.caption.revision) for e in got] == [
                (21, "next", 1),
                (21, "next one", 2),
            ]

    asyncio.run(go())


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("from_seq=-1", "query.from_seq"),
        ("from_seq=1048576", "query.from_seq"),
        ("from_seq=abc", "query.from_seq"),
        ("after_cursor=-5", "query.after_cursor"),
        ("after_cursor=3&from_seq=4", "not both"),
    ],
)
def test_live_bad_query_is_refused_with_a_reason(
    archive_server: ArchiveHandle, query: str, names: str
) -> None:
    """A bad live argument: one ``invalid`` error message with the detail, then close 4422."""
    import websockets
    from websockets.exceptions import ConnectionClosed

    async def go() -> tuple[dict[str, str], int | None]:
        url = f"ws://127.0.0.1:{archive_server.port}/v1/channels/7/live?{query}"
        async with websockets.connect(url, open_timeout=5) as ws:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return msg, ws.close_code

    msg, close_code = asyncio.run(go())
    assert close_code == 4422
    assert (msg["type"], msg["code"]) == ("error", "invalid")
    assert names in msg["detail"], msg

    async def through_client() -> None:
        async with AsyncArchiveClient(archive_server.url) as ac:
            with pytest.raises(ArchiveRejected) as e:
                async for _ in ac.live(7, from_seq=1 << 20):
                    pass
            assert e.value.status == 422 and "from_seq" in e.value.detail

    asyncio.run(through_client())
