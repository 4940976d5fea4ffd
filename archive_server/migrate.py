"""Schema migrations (Alembic) run programmatically: ``jimaku archive migrate`` and ``serve``.

The revision scripts live in ``archive_server/migrations/versions``; their ``env.py`` uses the same
:data:`archive_server.schema.metadata` as the code. :func:`upgrade` runs ``alembic upgrade head`` on
a connection of the archive's own async engine, inside one transaction. On PostgreSQL it first takes
a transaction-scoped advisory lock so several starting processes cannot run the same migration at
once. A database made by the pre-Alembic ``create_all`` (tables present, no ``alembic_version``) is
stamped at the initial revision, whose schema it has, and then upgraded.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL = "0001"
# Arbitrary 64-bit key of the advisory lock that serialises migrations on PostgreSQL.
_LOCK_KEY = 0x6A696D616B75


def alembic_config(url: str) -> Config:
    """Alembic :class:`~alembic.config.Config` for the database at ``url`` (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """Return the newest revision id shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def _upgrade_sync(conn: Connection, url: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    tables = set(sa.inspect(conn).get_table_names())
    if "alembic_version" not in tables and {"channels", "tokens", "captions"} <= tables:
        command.stamp(cfg, INITIAL)
    command.upgrade(cfg, "head")


async def upgrade(engine: AsyncEngine, url: str) -> None:
    """Run ``alembic upgrade head`` on ``engine`` (a no-op when already at head)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_sync, url)


async def current_revision(engine: AsyncEngine) -> str | None:
    """Return the revision the database is at (None: never migrated)."""

    def get(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(get)
