"""Typed SQLAlchemy models: every piece of state the bot keeps, one table each."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONDAY_TO_FRIDAY = 0b0011111  # bit 0 is Monday, as in date.weekday()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class DialogName(StrEnum):
    ONBOARDING = "onboarding"
    SETTINGS = "settings"
    QUOTE = "quote"
    PLAN = "plan"
    GOAL = "goal"
    DIAGNOSE = "diagnose"
    IMPORT = "import"  # /import: waiting for the file, then for Confirm
    FORGET = "forget"  # /forget: waiting for the explicit confirmation
    PAUSE = "pause"  # a bare /pause: waiting for how long


class OutboxStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FOLDED = "folded"  # went out inside another message (a reminder in the check-in)
    CANCELLED = "cancelled"
    FAILED = "failed"


class QuoteStatus(StrEnum):
    OPEN = "open"
    SIGNED = "signed"
    LOST = "lost"


class User(Base):
    """A business owner talking to the bot in a private chat."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    checkin_time: Mapped[time] = mapped_column(Time, default=time(9, 0))
    checkin_days: Mapped[int] = mapped_column(Integer, default=MONDAY_TO_FRIDAY)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    onboarded_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    paused_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Dialog(Base):
    """The question a user is answering right now (onboarding, settings, guided /quote)."""

    __tablename__ = "dialog"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A scheduled message: sent once by whichever dispatcher claims it first."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status_due_at", "status", "due_at"),
        # An owner's pending rows (the schedule sweep, /forget), without scanning everyone's.
        Index("ix_outbox_message_user_id_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class CheckIn(Base):
    """One day's check-in: asked, answered question by question, for the day it asked about."""

    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("user_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(16))
    contacts: Mapped[int | None]
    meetings: Mapped[int | None]
    proposals: Mapped[int | None]
    block_done: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    asked_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class ActivityEntry(Base):
    """Activity logged outside check-ins with /log (or imported)."""

    __tablename__ = "activity_entry"
    __table_args__ = (Index("ix_activity_entry_user_id_local_date", "user_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="log")
    created_at: Mapped[datetime]
    # The /log message it came from: an edit of that message corrects it, never adds.
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)


class Quote(Base):
    """A proposal sent to a client, open until signed, lost or expired."""

    __tablename__ = "quote"
    __table_args__ = (
        Index("ix_quote_user_id_status_expires_on", "user_id", "status", "expires_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    client: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Numeric(15, 2))
    currency: Mapped[str] = mapped_column(String(3))
    sent_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=QuoteStatus.OPEN)
    closed_on: Mapped[date | None] = mapped_column(Date)
    followed_up_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The /quote message it came from: an edit of that message corrects it, never adds.
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)


class PlanBlock(Base):
    """A weekly prospecting block on the owner's calendar: a sacred appointment with themselves."""

    __tablename__ = "plan_block"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)  # Monday is 0
    start_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class BlockSession(Base):
    """One occurrence of a plan block and whether it happened (done / moved / skipped)."""

    __tablename__ = "block_session"
    __table_args__ = (UniqueConstraint("user_id", "local_date", "start_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("plan_block.id", ondelete="SET NULL"))
    local_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class Goal(Base):
    """A weekly prospecting target and the reward the owner picked for reaching it."""

    __tablename__ = "goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    weekly_contacts: Mapped[int] = mapped_column(Integer)
    reward: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    celebrated_week: Mapped[date | None] = mapped_column(Date)  # Monday of the last week reached
    created_at: Mapped[datetime]


class Diagnosis(Base):
    """A verdict on the owner's slowdown type, with its evidence, as of a date."""

    __tablename__ = "diagnosis"
    __table_args__ = (Index("ix_diagnosis_user_id_on_date", "user_id", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    on_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # "data" (history) or "quiz" (/diagnose)
    verdict: Mapped[str] = mapped_column(String(24))
    confidence: Mapped[float]
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class InboundUpdate(Base):
    """A webhook update stored before Telegram is answered, so a crash cannot lose it."""

    __tablename__ = "inbound_update"
    __table_args__ = (
        Index("ix_inbound_update_handled_at_received_at", "handled_at", "received_at"),
        Index("ix_inbound_update_telegram_user_id", "telegram_user_id"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None]
    # Who sent it (Telegram id, read when stored): /forget finds an owner's updates by index.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    # Claims so far; an update that still cannot be handled after a few is quarantined: kept
    # for inspection, never claimed again, so it cannot block the updates behind it.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quarantined_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class UsualPace(Base):
    """The owner's usual week of prospecting before things got busy, as they gave it: the
    coaching's baseline until their own check-ins make one."""

    __tablename__ = "usual_pace"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    weekly_contacts: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime]


class GroupNotice(Base):
    """When a group last got the "I coach in private" line: at most one a day per group.

    The only thing kept about a group or channel: its id and a date, never who wrote there.
    """

    __tablename__ = "group_notice"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    notified_on: Mapped[date] = mapped_column(Date)


class TypedAnswer(Base):
    """Which message typed which check-in answer, so an edit of it corrects that answer."""

    __tablename__ = "typed_answer"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkin.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))


class PartnerLevel(StrEnum):
    """What an owner shares with an accountability partner; each level includes the one before."""

    NUMBERS = "numbers"
    TYPE = "type"
    PIPELINE = "pipeline"


class PartnerInvite(Base):
    """A one-time link an owner forwards to the person they want as accountability partner.

    Only the SHA-256 of the token is kept: the database alone cannot be used to accept it.
    """

    __tablename__ = "partner_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    level: Mapped[str] = mapped_column(String(16))
    show_clients: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PartnerLink(Base):
    """An accepted partnership: what the owner shares with this partner, and their choices."""

    __tablename__ = "partner_link"
    __table_args__ = (UniqueConstraint("owner_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(16))
    show_clients: Mapped[bool] = mapped_column(default=False)
    notify_reached: Mapped[bool] = mapped_column(default=False)  # owner: "when I reach my goal"
    notify_missed: Mapped[bool] = mapped_column(default=False)  # owner: "when I miss two weeks"
    muted: Mapped[bool] = mapped_column(default=False)  # partner: no weekly digest of this owner
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PartnerShare(Base):
    """What was sent to a partner about an owner (kind, week, level): shown in both exports."""

    __tablename__ = "partner_share"
    __table_args__ = (Index("ix_partner_share_owner_id_week", "owner_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # digest, goal_reached, goal_missed
    week: Mapped[date] = mapped_column(Date)  # Monday of the week it was about
    level: Mapped[str] = mapped_column(String(16))
    show_clients: Mapped[bool] = mapped_column(default=False)
    shared_at: Mapped[datetime]
