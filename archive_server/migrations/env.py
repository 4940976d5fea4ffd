"""Alembic environment: the archive's own metadata and engine, sync or async.

``archive_server.migrate.upgrade`` hands a live connection in ``config.attributes["connection"]``
(the async engine's connection run through ``run_sync``); the ``alembic`` command line instead
gives ``sqlalchemy.url`` and this file opens the engine itself with
:func:`archive_server.store.make_engine` (so SQLite gets the same WAL/synchronous pragmas).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from archive_server.schema import metadata
from archive_server.store import make_engine

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: future migrations use batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_configure)
            await conn.commit()
    finally:
        await engine.dispose()


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _configure(conn)
        return
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (e.g. alembic -x or alembic.ini) to the archive DB")
    asyncio.run(_run_async(url))


run()
