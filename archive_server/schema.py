"""Database tables (SQLAlchemy Core): the same definitions serve SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["captions", "channels", "metadata", "tokens"]

metadata = sa.MetaData()

channels = sa.Table(
    "channels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("language", sa.String(16), nullable=True),
    # Last live-event cursor handed out on this channel; bumped in the write's transaction.
    sa.Column("last_cursor", sa.BigInteger, nullable=False, server_default="0"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.Integer, sa.ForeignKey("channels.id"), nullable=False),
    # sha256 hex of the token; the token itself is never stored.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

captions = sa.Table(
    "captions",
    metadata,
    sa.Column("channel", sa.Integer, sa.ForeignKey("channels.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("words", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cursor", sa.BigInteger, nullable=False),
    sa.Index("ix_captions_channel_cursor", "channel", "cursor"),
    sa.Index("ix_captions_channel_start", "channel", "start_at"),
)
