"""Queries on the inbox of webhook updates: store once per update_id, claim, mark handled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import InboundUpdate
from bot.db.outbox import is_postgresql

# An update claimed this long ago by a replica that then died is handled again.
STALE_CLAIM = timedelta(minutes=2)


async def store(
    session: AsyncSession, update_id: int, payload: dict[str, Any], now: datetime
) -> bool:
    """Keep an update; False when this update_id was already received (Telegram redelivered it)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    statement = (
        insert(InboundUpdate)
        .values(update_id=update_id, payload=payload, received_at=now)
        .on_conflict_do_nothing(index_elements=[InboundUpdate.update_id])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    stale_after: timedelta = STALE_CLAIM,
) -> list[InboundUpdate]:
    """Claim unhandled updates (and stale claims) in arrival order."""
    query = (
        select(InboundUpdate)
        .where(
            InboundUpdate.handled_at.is_(None),
            or_(
                InboundUpdate.claimed_at.is_(None),
                InboundUpdate.claimed_at < now - stale_after,
            ),
        )
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.execute(query)).scalars())
    for row in rows:
        row.claimed_at, row.claimed_by = now, worker
    await session.flush()
    return rows


async def mark_handled(session: AsyncSession, update_ids: list[int], now: datetime) -> None:
    for update_id in update_ids:
        row = await session.get(InboundUpdate, update_id)
        if row is not None:
            row.handled_at = now


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget handled updates older than a moment (they only guard against redelivery)."""
    from sqlalchemy import delete

    await session.execute(
        delete(InboundUpdate).where(
            InboundUpdate.handled_at.is_not(None), InboundUpdate.received_at < before
        )
    )
