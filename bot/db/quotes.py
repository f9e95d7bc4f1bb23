"""Queries on quotes, always scoped to one user (a quote id alone never reaches a row)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ActivityEntry, Quote, QuoteStatus


async def get(session: AsyncSession, user_id: int, quote_id: int) -> Quote | None:
    """The user's quote with this id; None for an unknown id or another user's quote."""
    query = select(Quote).where(Quote.id == quote_id, Quote.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def open_since(session: AsyncSession, user_id: int, expiring_from: date) -> list[Quote]:
    """Open quotes expiring on or after a date, soonest expiry first."""
    query = (
        select(Quote)
        .where(
            Quote.user_id == user_id,
            Quote.status == QuoteStatus.OPEN,
            Quote.expires_on >= expiring_from,
        )
        .order_by(Quote.expires_on, Quote.id)
    )
    return list((await session.execute(query)).scalars())


async def signed_between(
    session: AsyncSession, user_id: int, first: date, last: date
) -> list[Quote]:
    """Quotes marked signed with a closing date in [first, last]."""
    query = (
        select(Quote)
        .where(
            Quote.user_id == user_id,
            Quote.status == QuoteStatus.SIGNED,
            Quote.closed_on >= first,
            Quote.closed_on <= last,
        )
        .order_by(Quote.closed_on, Quote.id)
    )
    return list((await session.execute(query)).scalars())


async def closed_counts(
    session: AsyncSession, user_id: int, lost_if_expired_before: date
) -> tuple[int, int]:
    """(signed, lost) over all the user's quotes; open ones expired before the date count lost."""
    lost = or_(
        Quote.status == QuoteStatus.LOST,
        and_(Quote.status == QuoteStatus.OPEN, Quote.expires_on < lost_if_expired_before),
    )
    query = select(
        func.count().filter(Quote.status == QuoteStatus.SIGNED),
        func.count().filter(lost),
    ).where(Quote.user_id == user_id)
    signed, lost_count = (await session.execute(query)).one()
    return int(signed or 0), int(lost_count or 0)


async def sent_since(session: AsyncSession, user_id: int, first: date) -> list[Quote]:
    """Quotes registered on or after a local date (any status)."""
    query = select(Quote).where(Quote.user_id == user_id, Quote.sent_on >= first)
    return list((await session.execute(query)).scalars())


async def amounts(session: AsyncSession, user_id: int, currency: str) -> list[Decimal]:
    """The amounts of every quote of the user in one currency."""
    query = select(Quote.amount).where(Quote.user_id == user_id, Quote.currency == currency)
    return [Decimal(a) for a in (await session.execute(query)).scalars()]


async def closed_since(session: AsyncSession, user_id: int, first: date) -> list[Quote]:
    """Quotes signed or lost on or after a local date, most recently closed first."""
    query = (
        select(Quote)
        .where(
            Quote.user_id == user_id,
            Quote.status != QuoteStatus.OPEN,
            Quote.closed_on >= first,
        )
        .order_by(Quote.closed_on.desc(), Quote.id.desc())
    )
    return list((await session.execute(query)).scalars())


async def remove_one_entry(
    session: AsyncSession, user_id: int, day: date, kind: str, source: str
) -> bool:
    """Take back one activity entry a quote logged (the newest of that day, kind and source)."""
    query = (
        select(ActivityEntry.id)
        .where(
            ActivityEntry.user_id == user_id,
            ActivityEntry.local_date == day,
            ActivityEntry.kind == kind,
            ActivityEntry.source == source,
        )
        .order_by(ActivityEntry.id.desc())
        .limit(1)
    )
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        return False
    await session.execute(delete(ActivityEntry).where(ActivityEntry.id == found))
    return True
