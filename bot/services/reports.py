"""The weekly review: last week's numbers against the four before, goal progress, quotes
expiring, and when the Monday review is sent.

Rules:
- The review covers 7 days ending on `last_day` (the Sunday before, on Monday; today, on /stats)
  against the average week of the 4 weeks before, counting only weeks with a reported day.
- Goal progress counts new contacts from the Monday of the goal's week (last week on Monday's
  review, this week so far on /stats) against the active goal's weekly target.
- Quotes expiring: open quotes whose expiry date falls in the week ahead (the rest of this week
  on /stats).
- The chart covers the 28 days ending on `last_day`, every day shown (unreported days as 0).
- The Monday review is two outbox messages, due two and one seconds before that Monday's
  check-in time so the day's check-in question stays the last message: the chart with a short
  caption, then the details with the remedy button (a caption holds 1,024 characters only).
  The next Monday's review is always pending for an owner who is set up (see
  `bot.services.schedules`); it is not sent while paused, nor when nothing was reported for
  35 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.services import schedules
from bot.services.coaching import DayActivity, History, QuoteRecord, monday_of

WEEKLY_REVIEW_KIND = schedules.WEEKLY_REVIEW_KIND
WEEKLY_DETAILS_KIND = schedules.WEEKLY_DETAILS_KIND
REVIEW_KINDS = schedules.REVIEW_KINDS
WEEKS_BEFORE = 4
CHART_DAYS = 28
QUIET_AFTER_DAYS = 35
EXPIRING_LISTED = 5  # quotes named in a review; the rest are counted, with a pointer to /quotes


@dataclass(frozen=True)
class Totals:
    contacts: float
    meetings: float
    proposals: float
    deals: float


@dataclass(frozen=True)
class GoalProgress:
    week_first: date
    target: int
    contacts: int
    reward: str
    finished: bool  # the week is over (Monday's review) or still running (/stats)

    @property
    def reached(self) -> bool:
        return self.contacts >= self.target

    @property
    def remaining(self) -> int:
        return max(self.target - self.contacts, 0)


@dataclass(frozen=True)
class Review:
    first: date
    last: date
    week: Totals
    before: Totals | None  # the average week of the weeks before that had a reported day
    weeks_before: int
    reported_days: int  # in the week
    goal: GoalProgress | None
    expiring: tuple[QuoteRecord, ...]
    chart: tuple[DayActivity, ...]

    @property
    def expiring_listed(self) -> tuple[QuoteRecord, ...]:
        return self.expiring[:EXPIRING_LISTED]

    @property
    def expiring_unlisted(self) -> int:
        return max(len(self.expiring) - EXPIRING_LISTED, 0)

    @property
    def is_empty(self) -> bool:
        return not any(d.contacts or d.meetings or d.proposals or d.deals for d in self.chart)


def _totals(days: list[DayActivity]) -> Totals:
    return Totals(
        contacts=sum(d.contacts for d in days),
        meetings=sum(d.meetings for d in days),
        proposals=sum(d.proposals for d in days),
        deals=sum(d.deals for d in days),
    )


def review(
    history: History,
    last_day: date,
    *,
    goal_week_first: date,
    goal_week_last: date,
    expiring_first: date,
    expiring_last: date,
) -> Review:
    """The numbers of one weekly review (see the module rules)."""
    first = last_day - timedelta(days=6)
    week_days = history.between(first, last_day)
    weeks: list[Totals] = []
    for back in range(1, WEEKS_BEFORE + 1):
        days = history.between(
            first - timedelta(days=7 * back), last_day - timedelta(days=7 * back)
        )
        if days:
            weeks.append(_totals(days))
    before = None
    if weeks:
        n = len(weeks)
        before = Totals(
            contacts=round(sum(w.contacts for w in weeks) / n, 1),
            meetings=round(sum(w.meetings for w in weeks) / n, 1),
            proposals=round(sum(w.proposals for w in weeks) / n, 1),
            deals=round(sum(w.deals for w in weeks) / n, 1),
        )
    goal = None
    if history.goal is not None:
        goal = GoalProgress(
            week_first=goal_week_first,
            target=history.goal.weekly_contacts,
            contacts=sum(d.contacts for d in history.between(goal_week_first, goal_week_last)),
            reward=history.goal.reward,
            finished=goal_week_last >= goal_week_first + timedelta(days=6),
        )
    expiring = tuple(
        sorted(
            (
                q
                for q in history.quotes
                if q.status == "open" and expiring_first <= q.expires_on <= expiring_last
            ),
            key=lambda q: (q.expires_on, q.client),
        )
    )
    by_day = {
        d.day: d for d in history.between(last_day - timedelta(days=CHART_DAYS - 1), last_day)
    }
    chart = tuple(
        by_day.get(day, DayActivity(day))
        for day in (last_day - timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1))
    )
    return Review(
        first=first,
        last=last_day,
        week=_totals(week_days),
        before=before,
        weeks_before=len(weeks),
        reported_days=len(week_days),
        goal=goal,
        expiring=expiring,
        chart=chart,
    )


def on_demand(history: History, today: date) -> Review:
    """/stats: the last 7 days, goal progress this week so far, quotes expiring by Sunday."""
    monday = monday_of(today)
    sunday = monday + timedelta(days=6)
    return review(
        history,
        today,
        goal_week_first=monday,
        goal_week_last=today,
        expiring_first=today,
        expiring_last=sunday,
    )


def for_monday(history: History, monday: date) -> Review:
    """Monday's review: last week, the goal of last week, quotes expiring in the week ahead."""
    return review(
        history,
        monday - timedelta(days=1),
        goal_week_first=monday - timedelta(days=7),
        goal_week_last=monday - timedelta(days=1),
        expiring_first=monday,
        expiring_last=monday + timedelta(days=6),
    )


def has_recent_activity(history: History, today: date) -> bool:
    return bool(history.between(today - timedelta(days=QUIET_AFTER_DAYS - 1), today))
