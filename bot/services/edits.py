"""Edited messages correct what they created; they never add a second record.

The rule (README, "Your data"): an edited `/log` replaces the entries that message logged, on the
same day; an edited one-line `/quote` corrects that quote's client, amount and validity (counted
from the day it was sent) and replans its reminders; an edited typed number that answered a
check-in question corrects that answer. Every other edit is ignored: the bot already answered
the message as it first read it. An edit that no longer parses changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkins as activity_queries
from bot.db import edits as queries
from bot.db.models import ActivityEntry, CheckIn, Quote, QuoteStatus, User
from bot.services import checkins, quotes
from bot.services.activity_input import ActivityKind
from bot.services.checkins import NUMERIC_STEPS
from bot.services.quote_input import QuoteDraft

Entries = list[tuple[ActivityKind, int]]


@dataclass(frozen=True)
class LogCorrection:
    before: Entries
    after: Entries
    totals: dict[str, int]  # that day's /log totals per kind, after the correction


@dataclass(frozen=True)
class QuoteBefore:
    client: str
    amount: Decimal
    currency: str
    expires_on: date


async def record_log(
    session: AsyncSession, user: User, entries: Entries, now: datetime, *, message_id: int | None
) -> dict[str, int]:
    """`/log` as usual, remembering its message so an edit can correct it."""
    totals = await checkins.log_activity(session, user, entries, now)
    if message_id is not None:
        await queries.tag_logged_entries(session, user.id, now, message_id)
    return totals


async def logged_by(session: AsyncSession, user: User, message_id: int) -> bool:
    """Whether that message logged entries (an edit of it is a correction)."""
    return bool(await queries.entries_from_message(session, user.id, message_id))


async def correct_log(
    session: AsyncSession, user: User, message_id: int, entries: Entries
) -> LogCorrection | None:
    """Replace what the `/log` message logged by what it now says; None if it logged nothing."""
    old = await queries.entries_from_message(session, user.id, message_id)
    if not old:
        return None
    day, logged_at = old[0].local_date, old[0].created_at
    before = [(ActivityKind(entry.kind), entry.count) for entry in old]
    await queries.delete_entries(session, old)
    for kind, count in entries:
        session.add(
            ActivityEntry(
                user_id=user.id,
                local_date=day,
                kind=kind,
                count=count,
                source="log",
                created_at=logged_at,
                source_message_id=message_id,
            )
        )
    await session.flush()
    totals = await activity_queries.activity_totals(session, user.id, day, day)
    return LogCorrection(before, list(entries), {kind: n for (_, kind), n in totals.items()})


def remember_quote(quote: Quote, message_id: int | None) -> None:
    """A one-line `/quote`: remember its message so an edit can correct it."""
    quote.source_message_id = message_id


async def quote_to_correct(session: AsyncSession, user: User, message_id: int) -> Quote | None:
    """The quote the message created, if it did (and it was not deleted since)."""
    return await queries.quote_from_message(session, user.id, message_id)


async def correct_quote(
    session: AsyncSession, user: User, quote: Quote, draft: QuoteDraft, now: datetime
) -> QuoteBefore:
    """Apply the edited line to its quote; reminders follow the new expiry."""
    before = QuoteBefore(quote.client, quote.amount, quote.currency, quote.expires_on)
    quote.client = draft.client
    quote.amount = draft.amount
    quote.currency = draft.currency or quote.currency
    quote.expires_on = draft.expires_on
    quote.updated_at = now
    await session.flush()
    if quote.status == QuoteStatus.OPEN:
        await quotes.schedule_reminders(session, user, quote, now)
    return before


@dataclass(frozen=True)
class AnswerCorrection:
    field: str  # contacts, meetings or proposals
    before: int | None
    after: int
    day: date


async def remember_answer(
    session: AsyncSession, user: User, message_id: int, checkin: CheckIn, step: str
) -> None:
    """A typed number answered this check-in question: an edit of it corrects that answer."""
    if step in NUMERIC_STEPS:
        await queries.remember_answer(session, user.id, message_id, checkin.id, step)


async def correct_answer(
    session: AsyncSession, user: User, message_id: int, value: int, now: datetime
) -> AnswerCorrection | None:
    """Set the answer the message gave to `value`; None if it answered nothing."""
    found = await queries.answer_from_message(session, user.id, message_id)
    if found is None:
        return None
    typed, checkin = found
    before = getattr(checkin, typed.step)
    setattr(checkin, typed.step, value)
    await session.flush()
    return AnswerCorrection(typed.step, before, value, checkin.local_date)
