"""Initial schema: channels, tokens, captions.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("last_cursor", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.Integer, sa.ForeignKey("channels.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "captions",
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
    )
    op.create_index("ix_captions_channel_cursor", "captions", ["channel", "cursor"])
    op.create_index("ix_captions_channel_start", "captions", ["channel", "start_at"])


def downgrade() -> None:
    op.drop_index("ix_captions_channel_start", table_name="captions")
    op.drop_index("ix_captions_channel_cursor", table_name="captions")
    op.drop_table("captions")
    op.drop_table("tokens")
    op.drop_table("channels")
