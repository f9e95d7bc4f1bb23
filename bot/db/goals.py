"""Queries on goals and the contacts they count, always scoped to one user."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ActivityEntry, CheckIn, Goal

CONTACTS = "contacts"


async def active(session: AsyncSession, user_id: int) -> Goal | None:
    """The user's current goal (the newest active one)."""
    query = (
        select(Goal)
        .where(Goal.user_id == user_id, Goal.active.is_(True))
        .order_by(Goal.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def deactivate_all(session: AsyncSession, user_id: int) -> int:
    result = await session.execute(
        update(Goal).where(Goal.user_id == user_id, Goal.active.is_(True)).values(active=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def contacts_between(session: AsyncSession, user_id: int, first: date, last: date) -> int:
    """New contacts from check-ins and /log between two local dates, inclusive."""
    from_checkins = select(func.coalesce(func.sum(CheckIn.contacts), 0)).where(
        CheckIn.user_id == user_id, CheckIn.local_date >= first, CheckIn.local_date <= last
    )
    from_log = select(func.coalesce(func.sum(ActivityEntry.count), 0)).where(
        ActivityEntry.user_id == user_id,
        ActivityEntry.kind == CONTACTS,
        ActivityEntry.local_date >= first,
        ActivityEntry.local_date <= last,
    )
    checked_in = (await session.execute(from_checkins)).scalar_one() or 0
    logged = (await session.execute(from_log)).scalar_one() or 0
    return int(checked_in) + int(logged)
