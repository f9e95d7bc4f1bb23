"""edits correct their entry or answer; one private-chat notice a day per group

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_message_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_message_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "group_notice",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_group_notice")),
    )
    op.create_table(
        "typed_answer",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin.id"],
            name=op.f("fk_typed_answer_checkin_id_checkin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_typed_answer_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "message_id", name=op.f("pk_typed_answer")),
    )


def downgrade() -> None:
    op.drop_table("typed_answer")
    op.drop_table("group_notice")
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_column("source_message_id")
    with op.batch_alter_table("activity_entry", schema=None) as batch_op:
        batch_op.drop_column("source_message_id")
