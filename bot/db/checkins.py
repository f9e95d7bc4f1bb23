"""Queries on check-ins and logged activity, always scoped to one user."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ActivityEntry, CheckIn, User


async def get(session: AsyncSession, user_id: int, local_date: date) -> CheckIn | None:
    query = select(CheckIn).where(CheckIn.user_id == user_id, CheckIn.local_date == local_date)
    return (await session.execute(query)).scalar_one_or_none()


async def latest_open(session: AsyncSession, user_id: int, asked_since: datetime) -> CheckIn | None:
    """The most recent unanswered check-in asked since a moment (typed answers go to it)."""
    query = (
        select(CheckIn)
        .where(
            CheckIn.user_id == user_id,
            CheckIn.completed_at.is_(None),
            CheckIn.asked_at >= asked_since,
        )
        .order_by(CheckIn.local_date.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def between(session: AsyncSession, user_id: int, first: date, last: date) -> list[CheckIn]:
    query = (
        select(CheckIn)
        .where(CheckIn.user_id == user_id, CheckIn.local_date >= first, CheckIn.local_date <= last)
        .order_by(CheckIn.local_date)
    )
    return list((await session.execute(query)).scalars())


async def activity_totals(
    session: AsyncSession, user_id: int, first: date, last: date
) -> dict[tuple[date, str], int]:
    """Logged activity per (day, kind) between two dates, inclusive."""
    query = (
        select(ActivityEntry.local_date, ActivityEntry.kind, func.sum(ActivityEntry.count))
        .where(
            ActivityEntry.user_id == user_id,
            ActivityEntry.local_date >= first,
            ActivityEntry.local_date <= last,
        )
        .group_by(ActivityEntry.local_date, ActivityEntry.kind)
    )
    return {(day, kind): int(total) for day, kind, total in await session.execute(query)}


async def asked_days(session: AsyncSession, user_id: int, since: date) -> dict[date, bool]:
    """Each day a check-in was asked since a date, with whether it was answered."""
    query = select(CheckIn.local_date, CheckIn.completed_at).where(
        CheckIn.user_id == user_id, CheckIn.local_date >= since
    )
    return {day: completed is not None for day, completed in await session.execute(query)}


async def forget_message_ids(session: AsyncSession, user: User) -> None:
    """The chat that showed this user's check-ins is gone (a new demo phone): edit none of it."""
    await session.execute(update(CheckIn).where(CheckIn.user_id == user.id).values(message_id=None))
