"""Queries on plan blocks and their occurrences (block sessions), always scoped to one user."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import BlockSession, PlanBlock


async def blocks(session: AsyncSession, user_id: int) -> list[PlanBlock]:
    """The user's weekly blocks, Monday first, then by start time."""
    query = (
        select(PlanBlock)
        .where(PlanBlock.user_id == user_id)
        .order_by(PlanBlock.weekday, PlanBlock.start_time, PlanBlock.id)
    )
    return list((await session.execute(query)).scalars())


async def get_block(session: AsyncSession, user_id: int, block_id: int) -> PlanBlock | None:
    query = select(PlanBlock).where(PlanBlock.user_id == user_id, PlanBlock.id == block_id)
    return (await session.execute(query)).scalar_one_or_none()


async def delete_block(session: AsyncSession, user_id: int, block_id: int) -> bool:
    result = await session.execute(
        delete(PlanBlock).where(PlanBlock.user_id == user_id, PlanBlock.id == block_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_blocks(session: AsyncSession, user_id: int) -> int:
    result = await session.execute(delete(PlanBlock).where(PlanBlock.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def get_session(session: AsyncSession, user_id: int, session_id: int) -> BlockSession | None:
    query = select(BlockSession).where(
        BlockSession.user_id == user_id, BlockSession.id == session_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def session_at(
    session: AsyncSession, user_id: int, local_date: date, start_time: time
) -> BlockSession | None:
    query = select(BlockSession).where(
        BlockSession.user_id == user_id,
        BlockSession.local_date == local_date,
        BlockSession.start_time == start_time,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def sessions_between(
    session: AsyncSession, user_id: int, first: date, last: date
) -> list[BlockSession]:
    """Occurrences of the user's blocks between two local dates, inclusive, oldest first."""
    query = (
        select(BlockSession)
        .where(
            BlockSession.user_id == user_id,
            BlockSession.local_date >= first,
            BlockSession.local_date <= last,
        )
        .order_by(BlockSession.local_date, BlockSession.start_time)
    )
    return list((await session.execute(query)).scalars())
