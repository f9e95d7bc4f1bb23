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
    _fill_senders()


def _sender(payload: object) -> int | None:
    """The sender's Telegram id, as bot.db.inbox.sender_of reads it (copied: a migration is
    frozen in time, the application code is not)."""
    if not isinstance(payload, dict):
        return None
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for field in ("from", "user"):
            who = value.get(field)
            if isinstance(who, dict) and type(who.get("id")) is int:
                return int(who["id"])
        chat = value.get("chat")
        if isinstance(chat, dict) and chat.get("type") == "private" and type(chat.get("id")) is int:
            return int(chat["id"])
    return None


def _fill_senders() -> None:
    """Updates stored before this revision get their sender too, so /forget finds them."""
    table = sa.table(
        "inbound_update",
        sa.column("update_id", sa.BigInteger()),
        sa.column("payload", sa.JSON()),
        sa.column("telegram_user_id", sa.BigInteger()),
    )
    connection = op.get_bind()
    stored = connection.execute(sa.select(table.c.update_id, table.c.payload)).all()
    senders = [
        {"key": update_id, "sender": sender}
        for update_id, payload in stored
        if (sender := _sender(payload)) is not None
    ]
    if senders:
        connection.execute(
            table.update()
            .where(table.c.update_id == sa.bindparam("key"))
            .values(telegram_user_id=sa.bindparam("sender")),
            senders,
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
