"""Queries for edits: what a given message of the owner created (their entries, their quote)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ActivityEntry, CheckIn, Quote, TypedAnswer


async def tag_logged_entries(
    session: AsyncSession, user_id: int, created_at: datetime, message_id: int
) -> None:
    """Remember which message the /log entries of this turn came from."""
    await session.execute(
        update(ActivityEntry)
        .where(
            ActivityEntry.user_id == user_id,
            ActivityEntry.source == "log",
            ActivityEntry.created_at == created_at,
            ActivityEntry.source_message_id.is_(None),
        )
        .values(source_message_id=message_id)
    )


async def entries_from_message(
    session: AsyncSession, user_id: int, message_id: int
) -> list[ActivityEntry]:
    query = (
        select(ActivityEntry)
        .where(ActivityEntry.user_id == user_id, ActivityEntry.source_message_id == message_id)
        .order_by(ActivityEntry.id)
    )
    return list((await session.execute(query)).scalars())


async def delete_entries(session: AsyncSession, entries: list[ActivityEntry]) -> None:
    ids = [entry.id for entry in entries]
    await session.execute(delete(ActivityEntry).where(ActivityEntry.id.in_(ids)))


async def quote_from_message(session: AsyncSession, user_id: int, message_id: int) -> Quote | None:
    query = select(Quote).where(Quote.user_id == user_id, Quote.source_message_id == message_id)
    return (await session.execute(query)).scalars().first()


async def remember_answer(
    session: AsyncSession, user_id: int, message_id: int, checkin_id: int, step: str
) -> None:
    session.add(
        TypedAnswer(user_id=user_id, message_id=message_id, checkin_id=checkin_id, step=step)
    )
    await session.flush()


async def answer_from_message(
    session: AsyncSession, user_id: int, message_id: int
) -> tuple[TypedAnswer, CheckIn] | None:
    query = (
        select(TypedAnswer, CheckIn)
        .join(CheckIn, CheckIn.id == TypedAnswer.checkin_id)
        .where(TypedAnswer.user_id == user_id, TypedAnswer.message_id == message_id)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None
