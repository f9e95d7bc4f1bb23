"""the usual week of prospecting given at onboarding

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usual_pace",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("weekly_contacts", sa.Integer(), nullable=False),
        sa.Column("recorded_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_usual_pace_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_usual_pace")),
    )


def downgrade() -> None:
    op.drop_table("usual_pace")
