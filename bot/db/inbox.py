"""Queries on the inbox of webhook updates: store once per update_id, claim, mark handled,
quarantine what cannot be handled, prune what was."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import InboundUpdate
from bot.db.outbox import is_postgresql

# An update claimed this long ago by a replica that then died is handled again.
STALE_CLAIM = timedelta(minutes=2)
# Claims an update gets before it is quarantined: a few, since a bad one fails every time.
MAX_ATTEMPTS = 3


def sender_of(payload: dict[str, Any]) -> int | None:
    """The Telegram id of whoever an update comes from (its user, or its private chat)."""
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for field in ("from", "user"):
            who = value.get(field)
            if isinstance(who, dict) and type(who.get("id")) is int:
                return int(who["id"])
        chat = value.get("chat")
        if isinstance(chat, dict) and chat.get("type") == "private" and type(chat.get("id")) is int:
            return int(chat["id"])
    return None


async def store(
    session: AsyncSession, update_id: int, payload: dict[str, Any], now: datetime
) -> bool:
    """Keep an update; False when this update_id was already received (Telegram redelivered it)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    statement = (
        insert(InboundUpdate)
        .values(
            update_id=update_id,
            payload=payload,
            received_at=now,
            telegram_user_id=sender_of(payload),
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=[InboundUpdate.update_id])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _claimable(now: datetime, stale_after: timedelta) -> list[Any]:
    return [
        InboundUpdate.handled_at.is_(None),
        InboundUpdate.quarantined_at.is_(None),
        or_(InboundUpdate.claimed_at.is_(None), InboundUpdate.claimed_at < now - stale_after),
    ]


async def quarantine_exhausted(
    session: AsyncSession, now: datetime, stale_after: timedelta = STALE_CLAIM
) -> int:
    """Set aside updates already claimed MAX_ATTEMPTS times and still not handled (their
    handling crashed the process, say); returns how many."""
    result = await session.execute(
        update(InboundUpdate)
        .where(*_claimable(now, stale_after), InboundUpdate.attempts >= MAX_ATTEMPTS)
        .values(
            quarantined_at=now,
            last_error=func.coalesce(InboundUpdate.last_error, "never handled in time"),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    stale_after: timedelta = STALE_CLAIM,
) -> list[InboundUpdate]:
    """Claim unhandled updates (and stale claims) in arrival order, each one's next attempt."""
    query = (
        select(InboundUpdate)
        .where(*_claimable(now, stale_after), InboundUpdate.attempts < MAX_ATTEMPTS)
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.execute(query)).scalars())
    for row in rows:
        row.claimed_at, row.claimed_by = now, worker
        row.attempts += 1
    await session.flush()
    return rows


async def unparsable(
    session: AsyncSession, failures: Sequence[tuple[int, str]], now: datetime
) -> list[int]:
    """Updates that could not be read: tried again (claim released) until the last attempt,
    then quarantined, kept for inspection. Returns the ids quarantined now."""
    quarantined: list[int] = []
    for update_id, reason in failures:
        row = await session.get(InboundUpdate, update_id, with_for_update=True)
        if row is None:
            continue
        row.last_error = reason[:1000]
        row.claimed_at, row.claimed_by = None, None
        if row.attempts >= MAX_ATTEMPTS:
            row.quarantined_at = now
            quarantined.append(update_id)
    return quarantined


async def mark_handled(session: AsyncSession, update_ids: list[int], now: datetime) -> None:
    for update_id in update_ids:
        row = await session.get(InboundUpdate, update_id)
        if row is not None:
            row.handled_at = now


async def prune(session: AsyncSession, before: datetime, *, limit: int) -> int:
    """Delete up to `limit` updates handled before a moment (they only guard against
    redelivery); quarantined ones stay for inspection. Returns how many went."""
    oldest = (
        select(InboundUpdate.update_id)
        .where(InboundUpdate.handled_at < before)
        .order_by(InboundUpdate.handled_at)
        .limit(limit)
    )
    result = await session.execute(delete(InboundUpdate).where(InboundUpdate.update_id.in_(oldest)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_sender(session: AsyncSession, telegram_id: int) -> int:
    """Delete the updates of one Telegram user that a worker already took (found by index);
    those not picked up yet stay, to be handled. Returns how many went."""
    result = await session.execute(
        delete(InboundUpdate).where(
            InboundUpdate.telegram_user_id == telegram_id,
            or_(InboundUpdate.handled_at.is_not(None), InboundUpdate.claimed_at.is_not(None)),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_quarantined(session: AsyncSession) -> int:
    query = select(func.count()).where(InboundUpdate.quarantined_at.is_not(None))
    return int((await session.execute(query)).scalar_one())
