"""Storage: async SQLAlchemy Core over aiosqlite (default) or asyncpg, one code path.

SQLite runs in WAL mode with ``synchronous=FULL`` so a write acknowledged to the client has reached
the disk and survives SIGKILL or power loss. Sequence numbers wrap at 2**20: the archive keeps one
row per (channel, seq), so a seq reused after a wrap replaces the old caption (the window is the
last 1,048,576 captions of a channel, about 24 days at one caption every 2 s). Live cursors are
allocated per channel inside the write's transaction, so they are gap-free and strictly increasing.

Writers of one channel are serialised: on PostgreSQL by a row lock on the channel (``SELECT ...
FOR UPDATE``) taken before the read-compare-write of the caption; on SQLite (one writer per file
anyway) by an in-process lock, so concurrent PUTs never meet ``SQLITE_BUSY``.

Reads of one caption are served from an in-process LRU of *rendered* captions (the model, its JSON
bytes and its ETag), filled on read and replaced on every write (write-through). With several
processes on one PostgreSQL database, every write also sends ``NOTIFY jimaku_captions,
'<channel>:<cursor>'`` in its transaction; each process's :class:`~archive_server.relay.Relay`
reads the changed captions back and replaces them in its cache (:meth:`Store.remember`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any, NamedTuple

import sqlalchemy as sa
from cachetools import LRUCache
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from archive_server.bus import NOTIFY_CHANNEL
from archive_server.errors import (
    AuthError,
    ChannelExists,
    ChannelNotFound,
    ForbiddenChannel,
    StorageError,
)
from archive_server.models import Caption, CaptionIn, ChannelInfo
from archive_server.schema import captions, channels, tokens
from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ

#: What a database that is down or restarting raises: SQLAlchemy's errors, and the OSError
#: (connection refused or reset) that asyncpg raises at connect, which SQLAlchemy passes through.
_DB_ERRORS = (SQLAlchemyError, OSError)

__all__ = [
    "PutResult",
    "Rendered",
    "Store",
    "caption_etag",
    "hash_token",
    "make_engine",
    "new_token",
]

CHANNEL_MAX = MAX_CHANNEL
SEQ_MAX = MAX_SEQ


def new_token() -> str:
    """Return a new write token: 43 URL-safe characters (256 bits), never starting with ``-``.

    One token_urlsafe in 64 starts with ``-``, and ``jimaku broadcast --token -x...`` then fails
    (argparse reads the token as an option: "expected one argument") and the daemon exits at
    start. Redrawing keeps 256 bits of randomness less a negligible 0.02 bit.
    """
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def hash_token(token: str) -> str:
    """sha256 hex of a token (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_engine(url: str) -> AsyncEngine:
    """Create the engine; SQLite connections get WAL + synchronous=FULL + a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def caption_etag(c: Caption) -> str:
    """Strong ETag of a caption: changes with every revision (and text/final/update time)."""
    h = hashlib.sha256(f"{c.text}\x00{c.final}\x00{c.updated_at.isoformat()}".encode()).hexdigest()
    return f'"{c.channel}-{c.seq}-{c.revision}-{h[:12]}"'


class Rendered(NamedTuple):
    """A caption with its response body pre-serialised (and its ETag when final)."""

    caption: Caption
    body: bytes
    etag: str | None


def _render(c: Caption) -> Rendered:
    return Rendered(c, c.model_dump_json().encode(), caption_etag(c) if c.final else None)


def _utc(v: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if v is None:
        return None
    return v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v.astimezone(dt.UTC)


def _row_to_caption(r: Any) -> Caption:
    created = _utc(r.created_at)
    updated = _utc(r.updated_at)
    assert created is not None and updated is not None
    return Caption(
        channel=r.channel,
        seq=r.seq,
        text=r.text,
        final=r.final,
        revision=r.revision,
        language=r.language,
        start_at=_utc(r.start_at),
        end_at=_utc(r.end_at),
        words=r.words,
        created_at=created,
        updated_at=updated,
    )


class PutResult:
    """Outcome of a write: the caption, whether it was created, changed, and its live cursor."""

    __slots__ = ("caption", "changed", "created", "cursor")

    def __init__(self, caption: Caption, created: bool, changed: bool, cursor: int) -> None:
        self.caption = caption
        self.created = created
        self.changed = changed
        self.cursor = cursor


class Store:
    """The archive's database. Every SQLAlchemy/driver error leaves as :class:`StorageError`.

    Parameters
    ----------
    url : str
        SQLAlchemy async URL.
    cache_size : int
        Rendered captions kept in memory for reads (replaced by every write; one process owns
        the DB).
    """

    def __init__(self, url: str, cache_size: int = 10000) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._cache: LRUCache[tuple[int, int], Rendered] = LRUCache(maxsize=cache_size)
        self._sqlite_write = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        self._known_channels: set[int] = set()

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``alembic upgrade head``)."""
        from archive_server import migrate

        try:
            await migrate.upgrade(self.engine, self.url)
        except _DB_ERRORS as exc:
            raise StorageError(f"cannot prepare database {self.url}: {exc}") from exc

    async def schema_revision(self) -> str | None:
        """Return the Alembic revision the database is at (None: never migrated)."""
        from archive_server import migrate

        try:
            return await migrate.current_revision(self.engine)
        except _DB_ERRORS as exc:
            raise StorageError(f"cannot read the schema revision of {self.url}: {exc}") from exc

    async def close(self) -> None:
        """Release connections."""
        await self.engine.dispose()

    # --- channels -------------------------------------------------------------------------
    async def add_channel(
        self, name: str, channel_id: int | None = None, language: str | None = "ko"
    ) -> tuple[int, str]:
        """Create a channel and its first write token; returns (id, token) (token shown once)."""
        if channel_id is not None and not 0 <= channel_id <= CHANNEL_MAX:
            raise ValueError(f"channel id {channel_id} out of range 0-{CHANNEL_MAX}")
        token = new_token()
        try:
            async with self.engine.begin() as conn:
                if channel_id is None:
                    used = set((await conn.execute(sa.select(channels.c.id))).scalars())
                    free = [i for i in range(CHANNEL_MAX + 1) if i not in used]
                    if not free:
                        raise ChannelExists("all 4096 channel ids are taken")
                    channel_id = free[0]
                await conn.execute(
                    channels.insert().values(
                        id=channel_id, name=name, language=language, last_cursor=0
                    )
                )
                await conn.execute(
                    tokens.insert().values(
                        channel_id=channel_id,
                        token_hash=hash_token(token),
                        revoked=False,
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
        except IntegrityError as exc:
            raise ChannelExists(
                f"channel id {channel_id} or name {name!r} already exists; pick another "
                "(see `jimaku archive list-channels`)"
            ) from exc
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        return channel_id, token

    async def list_channels(self) -> list[ChannelInfo]:
        """All channels, by id."""
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(sa.select(channels).order_by(channels.c.id))).all()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        return [ChannelInfo(id=r.id, name=r.name, language=r.language) for r in rows]

    async def channel_exists(self, channel: int) -> bool:
        """Whether ``channel`` exists (channels are never deleted: a yes is remembered)."""
        if channel in self._known_channels:
            return True
        try:
            async with self.engine.connect() as conn:
                r = (
                    await conn.execute(sa.select(channels.c.id).where(channels.c.id == channel))
                ).first()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        if r is not None:
            self._known_channels.add(channel)
        return r is not None

    async def rotate_token(self, channel: int, keep_old: bool = False) -> str:
        """Issue a new token for ``channel``; revokes the old ones unless ``keep_old``."""
        token = new_token()
        try:
            async with self.engine.begin() as conn:
                if (
                    await conn.execute(sa.select(channels.c.id).where(channels.c.id == channel))
                ).first() is None:
                    raise ChannelNotFound(
                        f"no channel {channel}; create it with `jimaku archive add-channel`"
                    )
                if not keep_old:
                    await conn.execute(
                        tokens.update().where(tokens.c.channel_id == channel).values(revoked=True)
                    )
                await conn.execute(
                    tokens.insert().values(
                        channel_id=channel,
                        token_hash=hash_token(token),
                        revoked=False,
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        return token

    async def check_token(self, channel: int, token: str | None) -> None:
        """Raise :class:`AuthError` (missing/unknown) or :class:`ForbiddenChannel` (wrong one)."""
        if not token:
            raise AuthError("missing write token: send 'Authorization: Bearer <token>'")
        h = hash_token(token)
        try:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(tokens.c.channel_id, tokens.c.token_hash).where(
                            tokens.c.token_hash == h, tokens.c.revoked == sa.false()
                        )
                    )
                ).first()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        if row is None or not hmac.compare_digest(row.token_hash, h):
            raise AuthError(
                "unknown or revoked write token; get one with `jimaku archive rotate-token`"
            )
        if row.channel_id != channel:
            raise ForbiddenChannel(
                f"this token writes channel {row.channel_id}, not channel {channel}"
            )

    # --- captions -------------------------------------------------------------------------
    async def put_caption(self, channel: int, seq: int, body: CaptionIn) -> PutResult:
        """Create or update; the same body twice is one revision (no new cursor)."""
        if self._sqlite_write is None:
            return await self._put(channel, seq, body)
        async with self._sqlite_write:
            return await self._put(channel, seq, body)

    async def _put(self, channel: int, seq: int, body: CaptionIn) -> PutResult:
        now = dt.datetime.now(dt.UTC)
        words = [w.model_dump() for w in body.words] if body.words is not None else None
        values = dict(
            text=body.text,
            final=body.final,
            language=body.language,
            start_at=body.start_at,
            end_at=body.end_at,
            words=words,
        )
        where = (captions.c.channel == channel, captions.c.seq == seq)
        try:
            async with self.engine.begin() as conn:
                # The channel row lock serialises this channel's writers (PostgreSQL).
                ch = (
                    await conn.execute(
                        sa.select(channels.c.last_cursor)
                        .where(channels.c.id == channel)
                        .with_for_update()
                    )
                ).first()
                if ch is None:
                    raise ChannelNotFound(
                        f"no channel {channel}; create it with `jimaku archive add-channel`"
                    )
                old = (await conn.execute(sa.select(captions).where(*where))).first()
                if old is not None:
                    same = (
                        old.text == body.text
                        and old.final == body.final
                        and old.language == body.language
                        and _utc(old.start_at) == body.start_at
                        and _utc(old.end_at) == body.end_at
                        and old.words == words
                    )
                    if same:
                        return PutResult(_row_to_caption(old), False, False, int(old.cursor))
                cursor = int(ch.last_cursor) + 1
                await conn.execute(
                    channels.update().where(channels.c.id == channel).values(last_cursor=cursor)
                )
                if old is None:
                    await conn.execute(
                        captions.insert().values(
                            channel=channel,
                            seq=seq,
                            revision=1,
                            created_at=now,
                            updated_at=now,
                            cursor=cursor,
                            **values,
                        )
                    )
                else:
                    await conn.execute(
                        captions.update()
                        .where(*where)
                        .values(revision=old.revision + 1, updated_at=now, cursor=cursor, **values)
                    )
                row = (await conn.execute(sa.select(captions).where(*where))).one()
                if self.engine.dialect.name == "postgresql":
                    # Delivered at commit, never for a rollback; the payload is a hint only.
                    await conn.execute(
                        sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, f"{channel}:{cursor}"))
                    )
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        cap = _row_to_caption(row)
        self._remember((channel, seq), _render(cap))
        return PutResult(cap, old is None, True, cursor)

    def _remember(self, key: tuple[int, int], r: Rendered) -> None:
        old = self._cache.get(key)
        if old is not None and old.caption.revision > r.caption.revision:
            # concurrent writers (PostgreSQL) commit in order but may get here out of order:
            # never let an older revision replace a newer one (captions are never deleted)
            r = old
        self._cache[key] = r

    def remember(self, caption: Caption) -> Rendered:
        """Put a caption read back from the database (another process's write) in the cache."""
        r = _render(caption)
        self._remember((caption.channel, caption.seq), r)
        return r

    def cached(self, channel: int, seq: int) -> Rendered | None:
        """Return the rendered caption if it is in memory (no I/O; None: use get_rendered)."""
        return self._cache.get((channel, seq))

    async def get_rendered(self, channel: int, seq: int) -> Rendered | None:
        """Return the caption at (channel, seq) with its JSON bytes and ETag, or None.

        Served from memory after the first read (no database round trip for hot captions).
        """
        key = (channel, seq)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        row = await self._caption_row(channel, seq)
        if row is None:
            return None
        r = self._cache.get(key)  # a write may have landed while we read
        if r is None:
            r = _render(_row_to_caption(row))
            self._remember(key, r)
        return r

    async def get_caption(self, channel: int, seq: int) -> Caption | None:
        """Return the caption at (channel, seq) or None."""
        r = await self.get_rendered(channel, seq)
        return r.caption if r is not None else None

    async def list_captions(
        self,
        channel: int,
        *,
        after: int | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[Caption]:
        """History: by seq after ``after``, or by on-air time in [since, until)."""
        q = sa.select(captions).where(captions.c.channel == channel)
        if after is not None:
            q = q.where(captions.c.seq > after).order_by(captions.c.seq)
        else:
            if since is not None:
                q = q.where(sa.func.coalesce(captions.c.start_at, captions.c.created_at) >= since)
            if until is not None:
                q = q.where(sa.func.coalesce(captions.c.start_at, captions.c.created_at) < until)
            q = q.order_by(
                sa.func.coalesce(captions.c.start_at, captions.c.created_at), captions.c.seq
            )
        q = q.limit(limit)
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(q)).all()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        return [_row_to_caption(r) for r in rows]

    async def events_after(
        self, channel: int, cursor: int, limit: int = 1000
    ) -> list[tuple[int, Caption]]:
        """Captions whose latest change has a cursor above ``cursor`` (resume of the live feed)."""
        try:
            async with self.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        sa.select(captions)
                        .where(captions.c.channel == channel, captions.c.cursor > cursor)
                        .order_by(captions.c.cursor)
                        .limit(limit)
                    )
                ).all()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        return [(int(r.cursor), _row_to_caption(r)) for r in rows]

    async def caption_event(self, channel: int, seq: int) -> tuple[int, Caption] | None:
        """Return ``(cursor of its latest change, caption)`` at (channel, seq), or None."""
        r = await self._caption_row(channel, seq)
        return None if r is None else (int(r.cursor), _row_to_caption(r))

    async def _caption_row(self, channel: int, seq: int) -> Any:
        """Read the caption row at (channel, seq) from the database (None: not stored)."""
        try:
            async with self.engine.connect() as conn:
                return (
                    await conn.execute(
                        sa.select(captions).where(
                            captions.c.channel == channel, captions.c.seq == seq
                        )
                    )
                ).first()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc

    async def last_cursor(self, channel: int) -> int:
        """Return the channel's newest cursor (0 if none)."""
        try:
            async with self.engine.connect() as conn:
                r = (
                    await conn.execute(
                        sa.select(channels.c.last_cursor).where(channels.c.id == channel)
                    )
                ).first()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        if r is None:
            raise ChannelNotFound(f"no channel {channel}")
        return int(r[0])

    async def channel_cursors(self) -> dict[int, int]:
        """Return every channel's newest cursor, by channel id (one small query)."""
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(sa.select(channels.c.id, channels.c.last_cursor))).all()
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
        return {int(r[0]): int(r[1]) for r in rows}

    async def count_captions(self) -> int:
        """Captions stored (for /metrics)."""
        try:
            async with self.engine.connect() as conn:
                return int(
                    (
                        await conn.execute(sa.select(sa.func.count()).select_from(captions))
                    ).scalar_one()
                )
        except _DB_ERRORS as exc:
            raise StorageError(f"database error: {exc}") from exc
