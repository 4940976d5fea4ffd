"""archive_server through FastAPI's TestClient: error cases, caching, CORS, metrics, subtitles.

Every test using ``app_client`` runs on both backends (``db_url``: SQLite file, real PostgreSQL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette deprecates its httpx transport in favour of httpx2, which is not installed here.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from archive_server.app import create_app
from archive_server.hotpath import HotCaptionPath
from archive_server.settings import ArchiveSettings
from archive_server.store import Store


@pytest.fixture
def app_client(db_url: str) -> Iterator[tuple[TestClient, str, str]]:
    db = db_url

    async def setup() -> tuple[str, str]:
        st = Store(db)
        await st.migrate()
        _, t7 = await st.add_channel("seven", 7)
        _, t9 = await st.add_channel("nine", 9)
        await st.close()
        return t7, t9

    t7, t9 = asyncio.run(setup())
    s = ArchiveSettings(
        db=db, write_rate_per_s=1.0, write_burst=20, wait_rate_per_s=0.1, wait_burst=2
    )
    with TestClient(create_app(s)) as tc:
        yield tc, t7, t9


def _auth(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def test_created_then_updated_status(app_client: tuple[TestClient, str, str]) -> None:
    tc, t7, _ = app_client
    assert (
        tc.put("/v1/channels/7/captions/1", json={"text": "a"}, headers=_auth(t7)).status_code
        == 201
    )
    assert (
        tc.put("/v1/channels/7/captions/1", json={"text": "a"}, headers=_auth(t7)).status_code
        == 200
    )
    r = tc.put("/v1/channels/7/captions/1", json={"text": "b"}, headers=_auth(t7))
    assert r.status_code == 200 and r.json()["revision"] == 2


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, 401, "unauthorized"),
    ],
)
def test_auth_errors(
    app_client: tuple[TestClient, str, str], headers: dict[str, str], status: int, code: str
) -> None:
    tc, _, _ = app_client
    r = tc.put("/v1/channels/7/captions/1", json={"text": "a"}, headers=headers)
    assert r.status_code == status and r.json()["code"] == code and r.json()["detail"]


def test_other_channels_token_is_403(app_client: tuple[TestClient, str, str]) -> None:
    tc, _, t9 = app_client
    r = tc.put("/v1/channels/7/captions/1", json={"text": "a"}, headers=_auth(t9))
    assert r.status_code == 403 and "channel 9" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"text": "' + b"x" * 2001 + b'"}', "2000"),
        (b'{"text": "a\\u0001b"}', "U+0001"),
        (b'{"text": "a\xff"}', "UTF-8"),
        (b'{"text": 5}', "text"),
        (b"not json", "json"),
        (b'{"text": "a", "extra": 1}', "extra"),
        (b'{"text": "a", "start_at": "2026-11-28T06:00:00"}', "offset"),
    ],
)
def test_bad_bodies_422(app_client: tuple[TestClient, str, str], body: bytes, needle: str) -> None:
    tc, t7, _ = app_client
    r = tc.put(
        "/v1/channels/7/captions/1",
        content=body,
        headers={**_auth(t7), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert needle.lower() in r.json()["detail"].lower()
    assert tc.get("/v1/channels/7/captions/1").status_code == 404  # nothing stored


def test_body_too_large_413(app_client: tuple[TestClient, str, str]) -> None:
    tc, t7, _ = app_client
    body = (
        b'{"text": "a", "words": ['
        + b",".join([b'{"word": "w", "start": 0, "end": 1, "conf": 0.5}'] * 1500)
        + b"]}"
    )
    assert len(body) > 64 * 1024
    r = tc.put(
        "/v1/channels/7/captions/1",
        content=body,
        headers={**_auth(t7), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


def test_out_of_range_ids_422_and_unknown_404(app_client: tuple[TestClient, str, str]) -> None:
    tc, _t7, _ = app_client
    assert tc.get("/v1/channels/4096/captions/1").status_code == 422
    assert tc.get("/v1/channels/7/captions/1048576").status_code == 422
    r = tc.get("/v1/channels/8/captions/1")
    assert r.status_code == 404 and r.json()["code"] == "channel_not_found"
    r = tc.get("/v1/channels/7/captions/1")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    t0 = time.monotonic()
    r = tc.get("/v1/channels/8/captions/1?wait=10")  # not held: the channel does not exist
    assert r.status_code == 404 and r.json()["code"] == "channel_not_found"
    assert time.monotonic() - t0 < 5, "a long-poll on a channel that does not exist was held"


def test_etag_304_and_cache_headers(app_client: tuple[TestClient, str, str]) -> None:
    tc, t7, _ = app_client
    tc.put("/v1/channels/7/captions/2", json={"text": "partial", "final": False}, headers=_auth(t7))
    r = tc.get("/v1/channels/7/captions/2")
    assert r.headers["cache-control"] == "no-cache" and "etag" not in r.headers
    tc.put("/v1/channels/7/captions/2", json={"text": "done"}, headers=_auth(t7))
    r = tc.get("/v1/channels/7/captions/2")
    etag = r.headers["etag"]
    assert r.headers["cache-control"].startswith("public, max-age=")
    r2 = tc.get("/v1/channels/7/captions/2", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    tc.put("/v1/channels/7/captions/2", json={"text": "corrected"}, headers=_auth(t7))
    r3 = tc.get("/v1/channels/7/captions/2", headers={"If-None-Match": etag})
    assert r3.status_code == 200 and r3.json()["text"] == "corrected" and r3.headers["etag"] != etag


def test_cors_on_reads(app_client: tuple[TestClient, str, str]) -> None:
    tc, _, _ = app_client
    r = tc.get("/v1/channels", headers={"Origin": "https://viewer.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert [c["id"] for c in r.json()["channels"]] == [7, 9]


def test_rate_limits(app_client: tuple[TestClient, str, str]) -> None:
    tc, t7, _ = app_client
    codes = [
        tc.put(f"/v1/channels/7/captions/{i}", json={"text": str(i)}, headers=_auth(t7)).status_code
        for i in range(25)
    ]
    assert codes[:20] == [201] * 20 and 429 in codes[20:]
    waits = [tc.get("/v1/channels/7/captions/999?wait=0.01").status_code for _ in range(4)]
    assert waits[:2] == [404, 404] and waits[2:] == [429, 429]


def test_history_vtt_srt_metrics(app_client: tuple[TestClient, str, str]) -> None:
    tc, t7, _ = app_client
    t0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
    for i in range(3):
        s = t0 + dt.timedelta(seconds=3 * i)
        tc.put(
            f"/v1/channels/7/captions/{i}",
            headers=_auth(t7),
            json={
                "text": f"line {i}",
                "start_at": s.isoformat(),
                "end_at": (s + dt.timedelta(seconds=2)).isoformat(),
            },
        )
    assert [c["seq"] for c in tc.get("/v1/channels/7/captions?after=0").json()["captions"]] == [
        1,
        2,
    ]
    since = (t0 + dt.timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    assert [
        c["seq"]
        for c in tc.get("/v1/channels/7/captions", params={"since": since}).json()["captions"]
    ] == [1, 2]
    vtt = tc.get("/v1/channels/7/captions.vtt").text
    assert vtt.startswith("WEBVTT") and "00:00:03.000 --> 00:00:05.000\nline 1" in vtt
    srt = tc.get("/v1/channels/7/captions.srt").text
    assert "2\n00:00:03,000 --> 00:00:05,000\nline 1" in srt
    m = tc.get("/metrics").text
    assert "archive_captions_stored 3.0" in m and "archive_requests_total" in m


def test_storage_error_mapped_to_503(tmp_path: Path) -> None:
    bad = tmp_path / "nodir" / "x.db"
    s = ArchiveSettings(db=f"sqlite+aiosqlite:///{bad}")
    from archive_server.errors import StorageError

    with pytest.raises(StorageError, match="cannot prepare database"), TestClient(create_app(s)):
        pass


@pytest.mark.parametrize("origin", [None, "https://viewer.example"])
def test_hot_path_answers_like_the_normal_path(
    app_client: tuple[TestClient, str, str], origin: str | None
) -> None:
    """Cached GETs (no query: archive_server.hotpath) == the FastAPI route (``?wait=0``).

    The hot path must also be the one that answered: every request that reaches the FastAPI
    app behind it is counted, and the plain GETs must leave that count unchanged.
    """
    tc, t7, _ = app_client
    tc.put("/v1/channels/7/captions/1", json={"text": "final 자막"}, headers=_auth(t7))
    tc.put("/v1/channels/7/captions/2", json={"text": "partial", "final": False}, headers=_auth(t7))
    store = tc.app.state.store  # type: ignore[attr-defined]
    assert store.cached(7, 1) is not None and store.cached(7, 2) is not None
    hot_mw = tc.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(hot_mw, HotCaptionPath):
        hot_mw = hot_mw.app
    behind = hot_mw.app
    passed_on: list[str] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        passed_on.append(scope.get("path", ""))
        await behind(scope, receive, send)

    hot_mw.app = counting
    base = {"Origin": origin} if origin else {}
    etag = tc.get("/v1/channels/7/captions/1?wait=0").headers["etag"]
    for seq, extra in [
        (1, {}),
        (2, {}),
        (1, {"If-None-Match": etag}),
        (1, {"If-None-Match": f'"x", {etag}'}),
        (1, {"If-None-Match": '"x"'}),
    ]:
        before = len(passed_on)
        hot = tc.get(f"/v1/channels/7/captions/{seq}", headers={**base, **extra})
        assert len(passed_on) == before, "the hot path passed a cached GET on to FastAPI"
        slow = tc.get(f"/v1/channels/7/captions/{seq}?wait=0", headers={**base, **extra})
        assert len(passed_on) == before + 1  # the query string takes the normal path
        assert (hot.status_code, hot.content) == (slow.status_code, slow.content)
        drop = {"date", "server"}
        assert {k: v for k, v in hot.headers.items() if k not in drop} == {
            k: v for k, v in slow.headers.items() if k not in drop
        }
    m = tc.get("/metrics").text
    assert 'route="/v1/channels/{channel}/captions/{seq}",status="304"' in m


def test_live_subscribed_when_handshake_completes(app_client: tuple[TestClient, str, str]) -> None:
    """Once a client has the 101, it is subscribed: every later write reaches it.

    The server subscribes before it answers the handshake (answering first left a window in
    which a write was lost to a subscriber still being set up: 3.5 % of the deliveries to
    2,000 subscribers connecting at once in ``benchmarks/bench_archive.py``).
    """
    tc, t7, _ = app_client
    hub = tc.app.state.hub  # type: ignore[attr-defined]
    with tc.websocket_connect("/v1/channels/7/live") as ws:
        assert hub.subscribers == 1
        tc.put("/v1/channels/7/captions/3", json={"text": "now"}, headers=_auth(t7))
        msg = ws.receive_json()
        assert (msg["caption"]["seq"], msg["caption"]["text"]) == (3, "now")
    with tc.websocket_connect("/v1/channels/8/live") as ws:  # unknown channel: not subscribed
        assert ws.receive_json()["code"] == "channel_not_found"
        assert hub.subscribers == 0
