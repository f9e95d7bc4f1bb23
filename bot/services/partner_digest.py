"""What a partner may see about one owner's week, cut to the level the owner granted.

The cut happens here, in the data, not in the templates: a field the level does not grant is
never loaded into the `OwnerWeek` a template receives. Raw check-ins never leave this module:
only weekly totals do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkins as checkin_queries
from bot.db import goals as goal_queries
from bot.db import quotes as quote_queries
from bot.db.models import User
from bot.services import coaching, history, reports, streaks
from bot.services.partners import Sharing, missed_two_weeks

STREAK_LOOKBACK_DAYS = 400


@dataclass(frozen=True)
class Remedy:
    """The remedy in progress for the owner's slowdown type, with one number to show it."""

    verdict: str  # unaware / intentional / comfortable / on_track / not_enough_data
    held: int = 0  # unaware: blocks held last week; comfortable: contacts toward the goal
    planned: int = 0  # unaware: blocks planned; comfortable: the goal (0: none set)
    overdue: int = 0  # intentional: open quotes past their expiry date


CLIENTS_IN_WEEK = 15  # client names in one owner's weekly message (it stays readable)
CLIENTS_IN_LINE = 3  # client names on an owner's line of a coach's digest


@dataclass(frozen=True)
class Pipeline:
    count: int
    totals: tuple[tuple[str, Decimal], ...]  # per currency
    clients: tuple[tuple[str, Decimal, str], ...] | None  # only when the owner turned it on

    @property
    def clients_in_week(self) -> tuple[tuple[str, Decimal, str], ...]:
        return (self.clients or ())[:CLIENTS_IN_WEEK]

    @property
    def clients_in_line(self) -> tuple[tuple[str, Decimal, str], ...]:
        return (self.clients or ())[:CLIENTS_IN_LINE]


@dataclass(frozen=True)
class OwnerWeek:
    link_id: int
    name: str
    week_first: date  # Monday of the week shown
    contacts: int
    meetings: int
    proposals: int
    deals: int
    usual_contacts: float | None  # the average week of the four before
    goal: int | None
    streak: int
    remedy: Remedy | None = None  # level type and above
    pipeline: Pipeline | None = None  # level pipeline

    @property
    def goal_reached(self) -> bool:
        return self.goal is not None and self.contacts >= self.goal


async def owner_week(
    session: AsyncSession, owner: User, link_id: int, sharing: Sharing, monday: date
) -> OwnerWeek:
    """The week before `monday` for a partner at `sharing`."""
    sunday = monday - timedelta(days=1)
    data = await history.load(session, owner.id, sunday)
    review = reports.for_monday(data, monday)
    asked = await checkin_queries.asked_days(
        session, owner.id, sunday - timedelta(days=STREAK_LOOKBACK_DAYS)
    )
    remedy = _remedy(data, review, sunday) if sharing.type else None
    pipeline = await _pipeline(session, owner, monday, sharing) if sharing.pipeline else None
    return OwnerWeek(
        link_id=link_id,
        name=owner.first_name,
        week_first=review.first,
        contacts=int(review.week.contacts),
        meetings=int(review.week.meetings),
        proposals=int(review.week.proposals),
        deals=int(review.week.deals),
        usual_contacts=review.before.contacts if review.before is not None else None,
        goal=review.goal.target if review.goal is not None else None,
        streak=streaks.compute_streak(asked, sunday).length,
        remedy=remedy,
        pipeline=pipeline,
    )


def _remedy(data: coaching.History, review: reports.Review, sunday: date) -> Remedy:
    verdict = coaching.diagnose(data, sunday).verdict
    if verdict == coaching.Verdict.UNAWARE:
        week = [b for b in data.blocks if review.first <= b.day <= review.last]
        held = sum(1 for b in week if b.status == "done")
        return Remedy(verdict.value, held=held, planned=len(week))
    if verdict == coaching.Verdict.INTENTIONAL:
        overdue = sum(1 for q in data.quotes if q.status == "open" and q.expires_on < sunday)
        return Remedy(verdict.value, overdue=overdue)
    if verdict == coaching.Verdict.COMFORTABLE:
        goal = review.goal
        return Remedy(
            verdict.value,
            held=goal.contacts if goal else 0,
            planned=goal.target if goal else 0,
        )
    return Remedy(verdict.value)


async def _pipeline(session: AsyncSession, owner: User, monday: date, sharing: Sharing) -> Pipeline:
    quotes = await quote_queries.open_since(session, owner.id, monday)
    totals: dict[str, Decimal] = {}
    for quote in quotes:
        totals[quote.currency] = totals.get(quote.currency, Decimal(0)) + quote.amount
    clients = (
        tuple((q.client, q.amount, q.currency) for q in quotes) if sharing.show_clients else None
    )
    return Pipeline(count=len(quotes), totals=tuple(sorted(totals.items())), clients=clients)


async def missed(session: AsyncSession, owner: User, monday: date) -> int | None:
    """The goal both weeks before `monday` missed (None when they did not, or no goal)."""
    goal = await goal_queries.active(session, owner.id)
    if goal is None:
        return None
    weeks = []
    for back in (14, 7):
        first = monday - timedelta(days=back)
        weeks.append(
            await goal_queries.contacts_between(session, owner.id, first, first + timedelta(days=6))
        )
    both_missed = missed_two_weeks(
        goal.weekly_contacts, goal.started_on, monday, (weeks[0], weeks[1])
    )
    return goal.weekly_contacts if both_missed else None
