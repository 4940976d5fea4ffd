"""archive_server.store and its Alembic migrations on BOTH backends (SQLite file, real PostgreSQL).

``db_url`` (tests/plugins/postgres.py) gives a fresh empty database per test on each backend.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive_server.errors import AuthError, ChannelExists, ChannelNotFound, ForbiddenChannel
from archive_server.migrate import head_revision
from archive_server.models import CaptionIn, Word
from archive_server.schema import metadata
from archive_server.store import SEQ_MAX, Store, _render

T0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)


def run(db_url: str, fn: Callable[[Store], Awaitable[Any]], migrate: bool = True) -> Any:
    """Run ``fn(store)`` on a fresh Store (migrated first unless told not to), then close it."""

    async def go() -> Any:
        st = Store(db_url)
        try:
            if migrate:
                await st.migrate()
            return await fn(st)
        finally:
            await st.close()

    return asyncio.run(go())


def test_put_get_revision_idempotence(db_url: str) -> None:
    words = [
        Word(word="안녕", start=0.0, end=0.4, conf=0.9),
        Word(word="하세요", start=0.4, end=1.0, conf=0.75),
    ]
    body = CaptionIn(
        text="안녕하세요",
        final=False,
        language="ko",
        start_at=T0,
        end_at=T0 + dt.timedelta(seconds=1.5),
        words=words,
    )

    async def fn(st: Store) -> None:
        await st.add_channel("seven", 7)
        a = await st.put_caption(7, 1, body)
        assert (a.created, a.changed, a.caption.revision, a.cursor) == (True, True, 1, 1)
        b = await st.put_caption(7, 1, body)  # the same body again: one revision, no cursor
        assert (b.created, b.changed, b.caption.revision, b.cursor) == (False, False, 1, 1)
        c = await st.put_caption(7, 1, body.model_copy(update={"final": True}))
        assert (c.created, c.changed, c.caption.revision, c.cursor) == (False, True, 2, 2)
        got = await st.get_caption(7, 1)
        assert got is not None
        assert (got.text, got.final, got.revision, got.language) == ("안녕하세요", True, 2, "ko")
        assert got.start_at == T0 and got.end_at == T0 + dt.timedelta(seconds=1.5)
        assert got.words == words
        assert got.created_at <= got.updated_at and got.updated_at.tzinfo is not None
        assert await st.get_caption(7, 2) is None
        assert await st.count_captions() == 1

    run(db_url, fn)


def test_data_survives_reopen(db_url: str) -> None:
    async def write(st: Store) -> str:
        _, tok = await st.add_channel("seven", 7)
        for i in range(20):
            await st.put_caption(7, i, CaptionIn(text=f"line {i}"))
        return tok

    tok = run(db_url, write)

    async def read(st: Store) -> None:  # a new engine: nothing comes from the first one's cache
        await st.check_token(7, tok)
        got = await st.list_captions(7, after=-1, limit=100)
        assert [(c.seq, c.text) for c in got] == [(i, f"line {i}") for i in range(20)]
        assert await st.last_cursor(7) == 20

    run(db_url, read)


def test_seq_wrap_replaces_old_caption(db_url: str) -> None:
    async def fn(st: Store) -> None:
        await st.add_channel("seven", 7)
        await st.put_caption(7, 5, CaptionIn(text="first lap"))
        await st.put_caption(7, SEQ_MAX, CaptionIn(text="last seq"))
        again = await st.put_caption(7, 5, CaptionIn(text="second lap"))
        assert again.caption.revision == 2 and not again.created
        got = await st.get_caption(7, 5)
        assert got is not None and got.text == "second lap"
        assert (await st.get_caption(7, SEQ_MAX)) is not None
        assert await st.count_captions() == 2

    run(db_url, fn)


def test_history_and_events(db_url: str) -> None:
    async def fn(st: Store) -> None:
        await st.add_channel("seven", 7)
        await st.add_channel("nine", 9)
        for i in range(5):
            s = T0 + dt.timedelta(seconds=3 * i)
            await st.put_caption(
                7, i, CaptionIn(text=f"l{i}", start_at=s, end_at=s + dt.timedelta(seconds=2))
            )
        await st.put_caption(9, 0, CaptionIn(text="other channel"))
        await st.put_caption(7, 1, CaptionIn(text="L1", start_at=T0 + dt.timedelta(seconds=3)))
        assert [c.seq for c in await st.list_captions(7, after=2)] == [3, 4]
        assert [c.seq for c in await st.list_captions(7, after=-1, limit=2)] == [0, 1]
        since = await st.list_captions(
            7, since=T0 + dt.timedelta(seconds=6), until=T0 + dt.timedelta(seconds=12)
        )
        assert [c.seq for c in since] == [2, 3]
        ev = await st.events_after(7, 0)
        # the latest state of each caption, ordered by the cursor of its latest change
        assert [(cur, c.seq, c.text) for cur, c in ev] == [
            (1, 0, "l0"),
            (3, 2, "l2"),
            (4, 3, "l3"),
            (5, 4, "l4"),
            (6, 1, "L1"),
        ]
        assert [c.seq for _, c in await st.events_after(7, 5)] == [1]
        assert await st.last_cursor(7) == 6 and await st.last_cursor(9) == 1
        with pytest.raises(ChannelNotFound):
            await st.last_cursor(8)
        with pytest.raises(ChannelNotFound):
            await st.put_caption(8, 0, CaptionIn(text="nobody"))

    run(db_url, fn)


def test_a_late_older_revision_never_replaces_a_newer_one_in_the_cache(db_url: str) -> None:
    # On PostgreSQL concurrent writers commit in order but may reach the cache out of order (the
    # concurrency test below saw revision 29 served after 30 writes, once); the cache keeps the
    # newest revision. Store._remember is the seam where each writer's result lands.
    async def fn(st: Store) -> None:
        await st.add_channel("seven", 7)
        first = (await st.put_caption(7, 5, CaptionIn(text="one"))).caption
        await st.put_caption(7, 5, CaptionIn(text="two"))
        st._remember((7, 5), _render(first))  # the first writer arrives late
        got = await st.get_caption(7, 5)
        assert got is not None and (got.revision, got.text) == (2, "two")

    run(db_url, fn)


def test_concurrent_writers_get_gap_free_cursors(db_url: str) -> None:
    async def fn(st: Store) -> None:
        await st.add_channel("seven", 7)
        # 60 concurrent writers, half of them on the same seq: no error, no lost or doubled cursor
        res = await asyncio.gather(
            *(st.put_caption(7, i if i % 2 else 1000, CaptionIn(text=f"w{i}")) for i in range(60))
        )
        assert sorted(r.cursor for r in res) == list(range(1, 61))
        same = await st.get_caption(7, 1000)
        assert same is not None and same.revision == 30
        assert await st.count_captions() == 31

    run(db_url, fn)


def test_channels_and_tokens(db_url: str) -> None:
    async def fn(st: Store) -> None:
        ch7, t7 = await st.add_channel("seven", 7)
        ch0, t0 = await st.add_channel("auto")  # lowest free id
        assert (ch7, ch0) == (7, 0) and t7 != t0
        with pytest.raises(ChannelExists):
            await st.add_channel("seven again", 7)
        with pytest.raises(ChannelExists):
            await st.add_channel("seven")
        with pytest.raises(ValueError, match="4096"):
            await st.add_channel("big", 4096)
        assert [(c.id, c.name) for c in await st.list_channels()] == [(0, "auto"), (7, "seven")]
        await st.check_token(7, t7)
        with pytest.raises(AuthError, match="missing"):
            await st.check_token(7, None)
        with pytest.raises(AuthError, match="unknown"):
            await st.check_token(7, t7 + "x")
        with pytest.raises(ForbiddenChannel, match="channel 0"):
            await st.check_token(7, t0)
        kept = await st.rotate_token(7, keep_old=True)
        await st.check_token(7, kept)
        await st.check_token(7, t7)
        new = await st.rotate_token(7)
        await st.check_token(7, new)
        for old in (t7, kept):
            with pytest.raises(AuthError, match="revoked"):
                await st.check_token(7, old)
        with pytest.raises(ChannelNotFound):
            await st.rotate_token(8)

    run(db_url, fn)


# --- migrations ----------------------------------------------------------------------------


def _schema_diff(db_url: str) -> tuple[str | None, list[Any], list[str]]:
    async def fn(st: Store) -> tuple[str | None, list[Any], list[str]]:
        def inspect(conn: sa.Connection) -> tuple[str | None, list[Any], list[str]]:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            return (
                mc.get_current_revision(),
                compare_metadata(mc, metadata),
                sorted(sa.inspect(conn).get_table_names()),
            )

        async with st.engine.connect() as conn:
            return await conn.run_sync(inspect)

    out: tuple[str | None, list[Any], list[str]] = run(db_url, fn, migrate=False)
    return out


def test_fresh_db_migrates_to_metadata(db_url: str) -> None:
    rev, _, tables = _schema_diff(db_url)
    assert rev is None and tables == []
    out = subprocess.run(
        [sys.executable, "-m", "archive_server", "migrate", "--db", db_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert f"revision {head_revision()}" in out.stdout
    rev, diff, tables = _schema_diff(db_url)
    assert rev == head_revision()
    assert diff == [], f"migrations and schema.py disagree: {diff}"
    assert tables == ["alembic_version", "captions", "channels", "tokens"]
    # a second migrate is a no-op: same revision, data untouched
    run(db_url, lambda st: st.add_channel("kept", 3))
    run(db_url, lambda st: st.migrate(), migrate=False)
    rev2, diff2, _ = _schema_diff(db_url)
    assert (rev2, diff2) == (rev, [])
    assert [c.name for c in run(db_url, lambda st: st.list_channels())] == ["kept"]


def test_pre_alembic_database_is_adopted(db_url: str) -> None:
    """A database made by the old ``create_all`` (no alembic_version) keeps its data."""

    async def legacy(st: Store) -> None:
        async with st.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await st.add_channel("old", 4)

    run(db_url, legacy, migrate=False)
    assert run(db_url, lambda st: st.schema_revision(), migrate=False) is None
    assert run(db_url, lambda st: st.schema_revision()) == head_revision()
    assert [c.id for c in run(db_url, lambda st: st.list_channels())] == [4]


def test_postgres_fixture_fails_loudly_without_binaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PostgreSQL binaries -> a failure naming the installer, never a silent skip."""
    from tests.plugins import postgres as pg_plugin

    monkeypatch.setattr(pg_plugin.glob, "glob", lambda pattern: [])
    with pytest.raises(pytest.fail.Exception, match=r"tools/ensure-system-deps\.sh"):
        pg_plugin.PostgresServer(Path("/nonexistent"))


def test_rendered_cache_is_bounded_least_recently_used_and_never_older(tmp_path: Path) -> None:
    """cache_size captions stay in memory; a read refreshes one; an older revision never wins."""

    async def go() -> None:
        st = Store(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", cache_size=2)
        try:
            await st.migrate()
            await st.add_channel("seven", 7)
            for seq in (1, 2):
                await st.put_caption(7, seq, CaptionIn(text=f"c{seq}"))
            assert await st.get_rendered(7, 1) is not None  # 1 is now the most recent
            await st.put_caption(7, 3, CaptionIn(text="c3"))  # evicts 2, the least recent
            assert [st.cached(7, s) is not None for s in (1, 2, 3)] == [True, False, True]
            newer = (await st.put_caption(7, 1, CaptionIn(text="c1 second"))).caption
            older = newer.model_copy(update={"revision": newer.revision - 1, "text": "c1"})
            st.remember(older)
            kept = st.cached(7, 1)
            assert kept is not None and kept.caption.text == "c1 second"
            assert (await st.get_rendered(7, 2)) is not None  # read back from the database
        finally:
            await st.close()

    asyncio.run(go())
