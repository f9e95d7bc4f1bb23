"""Queries on the outbox of scheduled messages: schedule, cancel, claim, settle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus

# A claim this old belongs to a sender that died: another dispatcher may take the row again.
STALE_CLAIM = timedelta(minutes=5)


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def schedule(
    session: AsyncSession,
    *,
    user_id: int,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Schedule once per dedupe key: a pending or cancelled row is moved, a sent one is kept."""
    values = {
        "user_id": user_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "due_at": due_at,
        "payload": payload or {},
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": now,
    }
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    statement = insert(OutboxMessage).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[OutboxMessage.dedupe_key],
        set_={
            "due_at": statement.excluded.due_at,
            "payload": statement.excluded.payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "last_error": None,
        },
        where=OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.CANCELLED]),
    )
    await session.execute(statement)


async def cancel(
    session: AsyncSession,
    *,
    user_id: int,
    kinds: Sequence[str] | None = None,
    key_prefix: str | None = None,
) -> int:
    """Cancel a user's pending messages (all, of some kinds, or whose key starts with a prefix)."""
    conditions = [OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.PENDING]
    if kinds is not None:
        conditions.append(OutboxMessage.kind.in_(kinds))
    if key_prefix is not None:
        conditions.append(OutboxMessage.dedupe_key.startswith(key_prefix, autoescape=True))
    result = await session.execute(
        update(OutboxMessage).where(*conditions).values(status=OutboxStatus.CANCELLED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    stale_after: timedelta = STALE_CLAIM,
) -> list[OutboxMessage]:
    """Claim up to `limit` due rows (and stale claims) for this worker, oldest first.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets replicas claim side by side without taking the
    same row; SQLite's BEGIN IMMEDIATE makes the whole claim one writer's.
    """
    due = or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now),
        and_(
            OutboxMessage.status == OutboxStatus.CLAIMED,
            OutboxMessage.claimed_at < now - stale_after,
        ),
    )
    query = select(OutboxMessage).where(due).order_by(OutboxMessage.due_at).limit(limit)
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.execute(query)).scalars())
    for row in rows:
        row.status = OutboxStatus.CLAIMED
        row.claimed_at = now
        row.claimed_by = worker
        row.attempts += 1
    await session.flush()
    return rows


async def get_claimed(session: AsyncSession, row_id: int, worker: str) -> OutboxMessage | None:
    """The row if this worker still holds its claim (another may have retaken a stale one)."""
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None or row.status != OutboxStatus.CLAIMED or row.claimed_by != worker:
        return None
    return row


async def pending_for_user(session: AsyncSession, user_id: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.due_at)
    )
    return list((await session.execute(query)).scalars())


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message is due (the demo and tests jump the clock there)."""
    query = select(OutboxMessage.due_at).where(OutboxMessage.status == OutboxStatus.PENDING)
    return (
        await session.execute(query.order_by(OutboxMessage.due_at).limit(1))
    ).scalar_one_or_none()


async def was_sent(session: AsyncSession, *, user_id: int, key_prefix: str) -> bool:
    """Whether a message of the user whose key starts with a prefix was already sent."""
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.dedupe_key.startswith(key_prefix, autoescape=True),
        )
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none() is not None
