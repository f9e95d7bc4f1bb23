"""Queries for /export, /import and /forget: everything of one user, loaded, counted or erased.

Every query is scoped to one user. Like every query module, nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import inbox
from bot.db.models import (
    ActivityEntry,
    Base,
    BlockSession,
    CheckIn,
    Diagnosis,
    Goal,
    InboundUpdate,
    PlanBlock,
    Quote,
    User,
)

USER_COLUMN = "user_id"
IMPORT_SOURCE = "import"  # activity entries brought by a CSV import


@dataclass
class UserRows:
    """All rows that hold an owner's data (not the transient ones: dialog, outbox)."""

    checkins: list[CheckIn]
    activity: list[ActivityEntry]
    quotes: list[Quote]
    blocks: list[PlanBlock]
    block_sessions: list[BlockSession]
    goals: list[Goal]
    diagnoses: list[Diagnosis]


async def _all(session: AsyncSession, model: Any, user_id: int, *order: Any) -> list[Any]:
    query = select(model).where(model.user_id == user_id).order_by(*order)
    return list((await session.execute(query)).scalars())


async def load(session: AsyncSession, user_id: int) -> UserRows:
    """Every data row of one user, in a stable order (oldest first)."""
    return UserRows(
        checkins=await _all(session, CheckIn, user_id, CheckIn.local_date),
        activity=await _all(
            session, ActivityEntry, user_id, ActivityEntry.local_date, ActivityEntry.id
        ),
        quotes=await _all(session, Quote, user_id, Quote.sent_on, Quote.id),
        blocks=await _all(session, PlanBlock, user_id, PlanBlock.weekday, PlanBlock.start_time),
        block_sessions=await _all(
            session, BlockSession, user_id, BlockSession.local_date, BlockSession.start_time
        ),
        goals=await _all(session, Goal, user_id, Goal.id),
        diagnoses=await _all(session, Diagnosis, user_id, Diagnosis.on_date, Diagnosis.id),
    )


async def load_slice(
    session: AsyncSession,
    user_id: int,
    *,
    days: tuple[date, date] | None,
    quote_days: tuple[date, date] | None,
    everything: bool,
) -> UserRows:
    """What one slice of an import is matched against: check-ins and activity of some days,
    quotes sent on some days, the plan; block occurrences, goals and diagnoses only with
    `everything` (the slice that carries them)."""

    async def between(model: Any, column: Any, span: tuple[date, date] | None, *order: Any) -> Any:
        if span is None:
            return []
        query = select(model).where(model.user_id == user_id, column.between(*span))
        return list((await session.execute(query.order_by(*order))).scalars())

    return UserRows(
        checkins=await between(CheckIn, CheckIn.local_date, days, CheckIn.local_date),
        activity=await between(
            ActivityEntry,
            ActivityEntry.local_date,
            days,
            ActivityEntry.local_date,
            ActivityEntry.id,
        ),
        quotes=await between(Quote, Quote.sent_on, quote_days, Quote.sent_on, Quote.id),
        blocks=await _all(session, PlanBlock, user_id, PlanBlock.weekday, PlanBlock.start_time),
        block_sessions=await _all(
            session, BlockSession, user_id, BlockSession.local_date, BlockSession.start_time
        )
        if everything
        else [],
        goals=await _all(session, Goal, user_id, Goal.id) if everything else [],
        diagnoses=await _all(session, Diagnosis, user_id, Diagnosis.on_date, Diagnosis.id)
        if everything
        else [],
    )


def user_tables() -> list[Table]:
    """Every table with a row per user (a `user_id` column), children before parents."""
    return [t for t in reversed(Base.metadata.sorted_tables) if USER_COLUMN in t.c]


async def count(session: AsyncSession, user_id: int) -> dict[str, int]:
    """How many rows each table holds about one user (tables with none left out)."""
    counts: dict[str, int] = {}
    for table in user_tables():
        query = select(func.count()).select_from(table).where(table.c[USER_COLUMN] == user_id)
        n = int((await session.execute(query)).scalar_one())
        if n:
            counts[table.name] = n
    return counts


async def delete_import_entries(session: AsyncSession, user_id: int, days: Iterable[date]) -> None:
    """Drop the activity a previous CSV import brought for these days (it is replaced)."""
    chosen = sorted(set(days))
    for start in range(0, len(chosen), 500):
        await session.execute(
            delete(ActivityEntry).where(
                ActivityEntry.user_id == user_id,
                ActivityEntry.source == IMPORT_SOURCE,
                ActivityEntry.local_date.in_(chosen[start : start + 500]),
            )
        )


async def erase(session: AsyncSession, user: User) -> dict[str, int]:
    """Delete every row about the user, their account last; returns rows deleted per table.

    Tables are found from the metadata, so a table added later with a `user_id` is covered.
    Webhook updates kept in the inbox are stored with their sender's Telegram id (indexed):
    the ones already taken by a worker (this very update among them) go too; updates not
    picked up yet stay, to be handled (a message sent after /forget starts a fresh account).
    """
    await session.flush()  # nothing pending may be written after the rows are gone
    removed = await count(session, user.id)
    for table in user_tables():
        await session.execute(delete(table).where(table.c[USER_COLUMN] == user.id))
    about = await inbox.forget_sender(session, user.telegram_id)
    if about:
        removed[InboundUpdate.__tablename__] = about
    await session.execute(delete(User).where(User.id == user.id))
    removed[User.__tablename__] = 1
    # The ORM objects of this session describe rows that no longer exist: never flush them.
    session.expunge_all()
    return removed
