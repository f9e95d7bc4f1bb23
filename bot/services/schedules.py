"""What should be pending in the outbox for an owner, and making the outbox match it.

Schedules are an invariant, not a chain: every scheduled series is *derived* from the owner's
settings and from what already happened, never from "the previous message was sent".

Rules:
- A blocked owner gets nothing; check-ins and reviews wait until the owner is set up.
- Series: the next check-in; the next ping of each plan block; the next Monday review (chart,
  then details); the reminders of every open quote (their plan follows the quote's expiry).
- Each series' next occurrence is the first one strictly after now, in the owner's zone, on a
  day that is not paused and not *taken*. An occurrence is taken when its row was sent or is in
  delivery (claimed, due and waiting for the dispatcher, or waiting for a retry after a
  transient error), or when what it asks for already exists: a check-in asked that day (also by
  /checkin), a block occurrence already pinged.
- `sync` makes the owner's pending future rows of a series equal to that plan: missing rows are
  added (a cancelled row with the key comes back), moved rows are moved, rows nobody wants any
  more are cancelled. Rows in delivery belong to the dispatcher and are never touched. It is
  idempotent: a second call changes nothing. Settings changes, pauses, resumes, plan and quote
  changes, imports and every settled send call it; a periodic sweep calls it for every owner and
  counts what it had to change as repairs (a non-zero count is a bug somewhere else).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkins as checkin_queries
from bot.db import outbox
from bot.db import planning as planning_queries
from bot.db import quotes as quote_queries
from bot.db.models import OutboxMessage, OutboxStatus, PlanBlock, Quote, User
from bot.services import partners, quotes, schedule
from bot.services.preferences import zone

# The kinds and keys of the series planned here (their senders live with their features).
CHECKIN_KIND = "checkin"
BLOCK_START_KIND = "plan_block"
WEEKLY_REVIEW_KIND = "weekly_review"
WEEKLY_DETAILS_KIND = "weekly_review_details"
REVIEW_KINDS = (WEEKLY_REVIEW_KIND, WEEKLY_DETAILS_KIND)
# Two and one seconds before Monday's check-in, so the check-in question stays the last message.
REVIEW_OFFSETS = (
    (WEEKLY_REVIEW_KIND, timedelta(seconds=2)),
    (WEEKLY_DETAILS_KIND, timedelta(seconds=1)),
)
MONDAY_MASK = 0b0000001


def checkin_key(user_id: int, day: date) -> str:
    return f"{CHECKIN_KIND}:{user_id}:{day.isoformat()}"


def plan_key(user_id: int, day: date, start: time) -> str:
    return f"plan:{user_id}:{day.isoformat()}:{start.strftime('%H%M')}"


def ping_payload(block: PlanBlock, day: date) -> dict[str, object]:
    """What a block's start ping carries: the block and the occurrence it announces."""
    start = block.start_time.strftime("%H:%M")
    return {"block_id": block.id, "date": day.isoformat(), "start": start}


def review_key(kind: str, user_id: int, monday: date) -> str:
    return f"{kind}:{user_id}:{monday.isoformat()}"


# Far enough to find the next free occurrence past a week of taken days.
_MAX_TRIES = 10
# Sent rows older than this say nothing about the next occurrence of any series.
_LOOK_BACK = timedelta(days=9)


class Series(StrEnum):
    CHECKIN = "checkin"
    BLOCKS = "blocks"
    REVIEW = "review"
    REMINDERS = "reminders"


ALL = frozenset(Series)


KINDS: dict[Series, tuple[str, ...]] = {
    Series.CHECKIN: (CHECKIN_KIND,),
    Series.BLOCKS: (BLOCK_START_KIND,),
    Series.REVIEW: REVIEW_KINDS,
    Series.REMINDERS: (quotes.REMINDER_KIND,),
}


def series_of(kind: str) -> Series | None:
    return next((s for s in Series if kind in KINDS[s]), None)


@dataclass(frozen=True)
class Planned:
    """One row that should be pending."""

    kind: str
    dedupe_key: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class Facts:
    """What already happened, as far as the next occurrences are concerned."""

    taken_keys: frozenset[str] = frozenset()
    asked_days: frozenset[date] = frozenset()  # check-ins already asked
    pinged: frozenset[tuple[date, time]] = frozenset()  # block occurrences already pinged


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)  # dedupe keys added or moved
    cancelled: list[str] = field(default_factory=list)
    next_checkin: datetime | None = None

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.cancelled)


def in_delivery(row: OutboxMessage, now: datetime) -> bool:
    """The dispatcher's: claimed, due now, or waiting for a retry (never moved by a sync)."""
    if row.status == OutboxStatus.CLAIMED:
        return True
    return row.status == OutboxStatus.PENDING and (row.attempts > 0 or row.due_at <= now)


def _first_free(
    at: time,
    days_mask: int,
    user: User,
    now: datetime,
    taken: Callable[[date], bool],
    *,
    lead: timedelta = timedelta(0),
) -> tuple[date, datetime] | None:
    """The first occurrence of `at` on `days_mask` after now + lead, not paused, not taken."""
    tz = zone(user.timezone)
    after = now + lead
    for _ in range(_MAX_TRIES):
        found = schedule.next_occurrence(after, at, days_mask, tz, user.paused_until)
        if found is None or not taken(found[0]):
            return found
        after = found[1]
    return None


def plan(
    user: User,
    now: datetime,
    *,
    blocks: Iterable[PlanBlock] = (),
    open_quotes: Iterable[Quote] = (),
    facts: Facts = Facts(),
    series: Collection[Series] = ALL,
) -> list[Planned]:
    """Every row that should be pending for the owner, for the series asked (pure)."""
    if user.blocked_at is not None:
        return []
    planned: list[Planned] = []
    set_up = user.onboarded_at is not None

    if Series.CHECKIN in series and set_up:

        def checkin_taken(day: date) -> bool:
            return day in facts.asked_days or checkin_key(user.id, day) in facts.taken_keys

        found = _first_free(user.checkin_time, user.checkin_days, user, now, checkin_taken)
        if found is not None:
            day, due_at = found
            planned.append(
                Planned(
                    CHECKIN_KIND,
                    checkin_key(user.id, day),
                    due_at,
                    {"date": day.isoformat()},
                )
            )

    if Series.BLOCKS in series:
        for block in blocks:
            start = block.start_time

            def block_taken(day: date, start: time = start) -> bool:
                return (day, start) in facts.pinged or plan_key(
                    user.id, day, start
                ) in facts.taken_keys

            found = _first_free(start, 1 << block.weekday, user, now, block_taken)
            if found is not None:
                day, due_at = found
                planned.append(
                    Planned(
                        BLOCK_START_KIND,
                        plan_key(user.id, day, start),
                        due_at,
                        ping_payload(block, day),
                    )
                )

    if Series.REVIEW in series and set_up:
        # A Monday is done when both of its messages are; a chart sent and its details still
        # to come keep that Monday as the one planned.
        def review_done(monday: date) -> bool:
            return all(
                review_key(kind, user.id, monday) in facts.taken_keys for kind in REVIEW_KINDS
            )

        found = _first_free(
            user.checkin_time, MONDAY_MASK, user, now, review_done, lead=REVIEW_OFFSETS[0][1]
        )
        if found is not None:
            monday, checkin_at = found
            for kind, before in REVIEW_OFFSETS:
                key = review_key(kind, user.id, monday)
                if key not in facts.taken_keys:
                    planned.append(
                        Planned(kind, key, checkin_at - before, {"monday": monday.isoformat()})
                    )

    if Series.REMINDERS in series:
        for quote in open_quotes:
            for reminder in quotes.reminder_plan(
                quote.expires_on,
                now,
                user.checkin_time,
                user.checkin_days,
                zone(user.timezone),
                catch_up=False,
            ):
                key = quotes.reminder_key(quote, reminder.which)
                if key not in facts.taken_keys:
                    planned.append(
                        Planned(
                            quotes.REMINDER_KIND,
                            key,
                            reminder.due_at,
                            quotes.reminder_payload(quote, reminder.which),
                        )
                    )
    return planned


async def sync(
    session: AsyncSession, user: User, now: datetime, series: Collection[Series] = ALL
) -> SyncResult:
    """Make the owner's pending future rows of these series what `plan` says (idempotent)."""
    kinds = [kind for s in series for kind in KINDS[s]]
    rows = await outbox.rows_for_user(session, user.id, kinds, since=now - _LOOK_BACK)
    taken = frozenset(
        row.dedupe_key
        for row in rows
        if row.status in (OutboxStatus.SENT, OutboxStatus.FOLDED) or in_delivery(row, now)
    )
    today = schedule.local_date(now, zone(user.timezone))
    asked: frozenset[date] = frozenset()
    if Series.CHECKIN in series:
        first, last = today - timedelta(days=2), today + timedelta(days=_MAX_TRIES)
        asked = frozenset(
            c.local_date for c in await checkin_queries.between(session, user.id, first, last)
        )
    blocks: list[PlanBlock] = []
    pinged: frozenset[tuple[date, time]] = frozenset()
    if Series.BLOCKS in series:
        blocks = await planning_queries.blocks(session, user.id)
        if blocks:
            first, last = today - timedelta(days=2), today + timedelta(days=_MAX_TRIES * 7)
            occurrences = await planning_queries.sessions_between(session, user.id, first, last)
            pinged = frozenset((o.local_date, o.start_time) for o in occurrences)
    open_quotes: list[Quote] = []
    if Series.REMINDERS in series:
        open_quotes = await quote_queries.open_since(session, user.id, quotes.lost_cutoff(today))

    wanted = {
        p.dedupe_key: p
        for p in plan(
            user,
            now,
            blocks=blocks,
            open_quotes=open_quotes,
            facts=Facts(taken, asked, pinged),
            series=series,
        )
    }
    result = SyncResult()
    current = {
        row.dedupe_key: row
        for row in rows
        if row.status == OutboxStatus.PENDING and not in_delivery(row, now)
    }
    unwanted = [row for key, row in current.items() if key not in wanted]
    if unwanted:
        await outbox.cancel_ids(session, [row.id for row in unwanted])
        result.cancelled = sorted(row.dedupe_key for row in unwanted)
    for key, planned in wanted.items():
        row = current.get(key)
        if row is not None and (row.kind, row.due_at, row.payload) == (
            planned.kind,
            planned.due_at,
            planned.payload,
        ):
            continue
        await outbox.schedule(
            session,
            user_id=user.id,
            kind=planned.kind,
            dedupe_key=key,
            due_at=planned.due_at,
            now=now,
            payload=planned.payload,
        )
        result.added.append(key)
    review = next(
        (
            wanted[key]
            for key in result.added
            if key in wanted and wanted[key].kind == WEEKLY_REVIEW_KIND
        ),
        None,
    )
    if review is not None:  # the partners' digests follow the owner's review
        monday = date.fromisoformat(review.payload["monday"])
        await partners.schedule_digests(session, user, monday, review.due_at, now)
    result.next_checkin = next((p.due_at for p in wanted.values() if p.kind == CHECKIN_KIND), None)
    return result


async def after_settled(session: AsyncSession, user: User, kind: str, now: datetime) -> None:
    """A scheduled row was sent, dropped or failed: plan that series' next occurrence."""
    series = series_of(kind)
    if series is not None:
        await sync(session, user, now, (series,))
