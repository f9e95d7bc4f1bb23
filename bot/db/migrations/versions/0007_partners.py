"""accountability partners: invites, links and what was shared

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-01 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["user_account.id"],
        name=op.f(f"fk_{table}_{column}_user_account"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    moment = bot.db.types.UTCDateTime(timezone=True)
    op.create_table(
        "partner_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("show_clients", sa.Boolean(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("expires_at", moment, nullable=False),
        sa.Column("used_at", moment, nullable=True),
        _user_fk("partner_invite", "owner_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_invite")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_partner_invite_token_hash")),
    )
    with op.batch_alter_table("partner_invite", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_invite_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "partner_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("show_clients", sa.Boolean(), nullable=False),
        sa.Column("notify_reached", sa.Boolean(), nullable=False),
        sa.Column("notify_missed", sa.Boolean(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        _user_fk("partner_link", "owner_id"),
        _user_fk("partner_link", "partner_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_link")),
        sa.UniqueConstraint(
            "owner_id", "partner_id", name=op.f("uq_partner_link_owner_id_partner_id")
        ),
    )
    with op.batch_alter_table("partner_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_link_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("show_clients", sa.Boolean(), nullable=False),
        sa.Column("shared_at", moment, nullable=False),
        _user_fk("partner_share", "owner_id"),
        _user_fk("partner_share", "partner_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_share")),
    )
    with op.batch_alter_table("partner_share", schema=None) as batch_op:
        batch_op.create_index("ix_partner_share_owner_id_week", ["owner_id", "week"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_partner_share_partner_id"), ["partner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("partner_share", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_share_partner_id"))
        batch_op.drop_index("ix_partner_share_owner_id_week")
    op.drop_table("partner_share")
    with op.batch_alter_table("partner_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_link_partner_id"))
    op.drop_table("partner_link")
    with op.batch_alter_table("partner_invite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_invite_owner_id"))
    op.drop_table("partner_invite")
