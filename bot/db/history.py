"""Queries the coaching reads: a user's check-ins, activity, quotes, plan, goal and diagnoses."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Diagnosis,
    Goal,
    OutboxMessage,
    OutboxStatus,
    PlanBlock,
    Quote,
    QuoteStatus,
    UsualPace,
)


async def quotes_since(session: AsyncSession, user_id: int, since: date) -> list[Quote]:
    """Open quotes, and quotes sent or closed since a date."""
    query = (
        select(Quote)
        .where(
            Quote.user_id == user_id,
            or_(
                Quote.status == QuoteStatus.OPEN,
                Quote.sent_on >= since,
                Quote.closed_on >= since,
            ),
        )
        .order_by(Quote.sent_on, Quote.id)
    )
    return list((await session.execute(query)).scalars())


async def plan_block_count(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).select_from(PlanBlock).where(PlanBlock.user_id == user_id)
    return int((await session.execute(query)).scalar_one())


async def active_goal(session: AsyncSession, user_id: int) -> Goal | None:
    query = (
        select(Goal)
        .where(Goal.user_id == user_id, Goal.active.is_(True))
        .order_by(Goal.started_on.desc(), Goal.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def latest_diagnosis(session: AsyncSession, user_id: int, source: str) -> Diagnosis | None:
    query = (
        select(Diagnosis)
        .where(Diagnosis.user_id == user_id, Diagnosis.source == source)
        .order_by(Diagnosis.on_date.desc(), Diagnosis.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def has_pending(session: AsyncSession, user_id: int, kind: str) -> bool:
    """Whether the user has a scheduled message of this kind still to send."""
    query = select(OutboxMessage.id).where(
        OutboxMessage.user_id == user_id,
        OutboxMessage.kind == kind,
        OutboxMessage.status == OutboxStatus.PENDING,
    )
    return (await session.execute(query.limit(1))).first() is not None


async def plan_started(session: AsyncSession, user_id: int) -> datetime | None:
    """When the oldest block still in the plan was set (the day the plan began)."""
    query = select(func.min(PlanBlock.created_at)).where(PlanBlock.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def usual_pace(session: AsyncSession, user_id: int) -> UsualPace | None:
    return await session.get(UsualPace, user_id)


async def set_usual_pace(
    session: AsyncSession, user_id: int, weekly_contacts: int, now: datetime
) -> UsualPace:
    row = await session.get(UsualPace, user_id)
    if row is None:
        row = UsualPace(user_id=user_id, weekly_contacts=weekly_contacts, recorded_at=now)
        session.add(row)
    else:
        row.weekly_contacts, row.recorded_at = weekly_contacts, now
    await session.flush()
    return row


async def diagnoses_since(
    session: AsyncSession, user_id: int, source: str, since: date
) -> list[Diagnosis]:
    """One source's verdicts from a day on, oldest first (the verdict history in /stats)."""
    query = (
        select(Diagnosis)
        .where(Diagnosis.user_id == user_id, Diagnosis.source == source, Diagnosis.on_date >= since)
        .order_by(Diagnosis.on_date, Diagnosis.id)
    )
    return list((await session.execute(query)).scalars())
