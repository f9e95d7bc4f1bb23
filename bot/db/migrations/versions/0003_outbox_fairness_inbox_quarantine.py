"""outbox per-user index; inbox sender, attempts and quarantine

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 03:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_message_user_id_status", ["user_id", "status"], unique=False
        )
    with op.batch_alter_table("inbound_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("quarantined_at", bot.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_inbound_update_telegram_user_id", ["telegram_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_update", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_update_telegram_user_id")
        batch_op.drop_column("last_error")
        batch_op.drop_column("quarantined_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("telegram_user_id")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_user_id_status")
