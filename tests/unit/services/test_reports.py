"""Weekly review numbers, and when the Monday review is put in the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import OutboxMessage, OutboxStatus, User
from bot.services import reports, schedules
from bot.services.coaching import DayActivity, GoalRecord, History, QuoteRecord

MONDAY = date(2026, 11, 30)


def day(d: date, contacts: int = 0, meetings: int = 0, proposals: int = 0) -> DayActivity:
    return DayActivity(d, contacts, meetings, proposals)


def weeks_of(contacts_per_week: list[int], last_day: date) -> tuple[DayActivity, ...]:
    """One reported day per week (the week's last day), oldest week first."""
    n = len(contacts_per_week)
    return tuple(
        day(last_day - timedelta(days=7 * (n - 1 - i)), c, meetings=1)
        for i, c in enumerate(contacts_per_week)
    )


def test_last_week_against_the_four_before() -> None:
    sunday = MONDAY - timedelta(days=1)
    history = History(days=weeks_of([99, 10, 8, 6, 4, 2], sunday))  # 99: too old to count
    review = reports.for_monday(history, MONDAY)
    assert (review.first, review.last) == (date(2026, 11, 23), sunday)
    assert review.week.contacts == 2 and review.week.meetings == 1
    assert review.before is not None and review.before.contacts == 7.0  # (10+8+6+4)/4
    assert review.weeks_before == 4 and review.reported_days == 1


def test_weeks_without_a_reported_day_are_left_out_of_the_average() -> None:
    sunday = MONDAY - timedelta(days=1)
    history = History(days=weeks_of([6, 4], sunday))
    review = reports.for_monday(history, MONDAY)
    assert review.before is not None and review.before.contacts == 6 and review.weeks_before == 1
    assert reports.for_monday(History(days=weeks_of([4], sunday)), MONDAY).before is None


def test_goal_progress_last_week_on_monday_and_so_far_on_stats() -> None:
    goal = GoalRecord(weekly_contacts=10, reward="a new bike", started_on=date(2026, 11, 1))
    history = History(
        days=(day(date(2026, 11, 23), 6), day(date(2026, 11, 27), 5), day(MONDAY, 3)), goal=goal
    )
    monday = reports.for_monday(history, MONDAY).goal
    assert monday is not None and monday.contacts == 11 and monday.reached and monday.finished
    wednesday = reports.on_demand(history, MONDAY + timedelta(days=2)).goal
    assert wednesday is not None and wednesday.contacts == 3 and not wednesday.reached
    assert not wednesday.finished and wednesday.week_first == MONDAY


def test_quotes_expiring_in_the_week_ahead() -> None:
    def quote(expires: date, status: str = "open", client: str = "A") -> QuoteRecord:
        return QuoteRecord(date(2026, 11, 1), expires, status=status, client=client)

    history = History(
        quotes=(
            quote(MONDAY + timedelta(days=3), client="B"),
            quote(MONDAY, client="A"),
            quote(MONDAY + timedelta(days=7)),  # next week
            quote(MONDAY + timedelta(days=1), status="signed"),
            quote(MONDAY - timedelta(days=1)),  # already expired
        )
    )
    review = reports.for_monday(history, MONDAY)
    assert [q.client for q in review.expiring] == ["A", "B"]


def test_a_review_names_five_expiring_quotes_and_counts_the_rest() -> None:
    quotes = tuple(
        QuoteRecord(date(2026, 11, 1), MONDAY + timedelta(days=i % 7), client=f"C{i:02}")
        for i in range(8)
    )
    review = reports.for_monday(History(quotes=quotes), MONDAY)
    assert len(review.expiring) == 8 and review.expiring_unlisted == 3
    assert review.expiring_listed == review.expiring[: reports.EXPIRING_LISTED]
    few = reports.for_monday(History(quotes=quotes[:2]), MONDAY)
    assert few.expiring_unlisted == 0 and len(few.expiring_listed) == 2


def test_goal_remaining_never_goes_below_zero() -> None:
    goal = GoalRecord(weekly_contacts=5, reward="cake", started_on=date(2026, 11, 1))
    so_far = History(days=(day(MONDAY, 3),), goal=goal)
    progress = reports.on_demand(so_far, MONDAY).goal
    assert progress is not None and progress.remaining == 2
    beyond = reports.on_demand(History(days=(day(MONDAY, 9),), goal=goal), MONDAY).goal
    assert beyond is not None and beyond.remaining == 0 and beyond.reached


def test_chart_covers_28_days_with_gaps_as_zero() -> None:
    history = History(days=(day(MONDAY - timedelta(days=3), 4),))
    review = reports.on_demand(history, MONDAY)
    assert len(review.chart) == 28 and review.chart[-1].day == MONDAY
    assert review.chart[0].day == MONDAY - timedelta(days=27)
    assert sum(d.contacts for d in review.chart) == 4 and not review.is_empty
    assert reports.on_demand(History(), MONDAY).is_empty


async def _user(sessions: async_sessionmaker[AsyncSession], now: datetime) -> User:
    async with sessions.begin() as session:
        user = User(
            telegram_id=7001, chat_id=7001, first_name="Ana", language="en",
            timezone="Europe/Paris", checkin_time=time(9, 0), onboarded_at=now,
            created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(user)
    return user


REVIEW = (schedules.Series.REVIEW,)


async def _pending(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, datetime]]:
    async with sessions.begin() as session:
        rows = await session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.due_at)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.due_at)
        )
        return [(key, due) for key, due in rows]


async def test_the_review_is_due_just_before_mondays_checkin_and_moves_with_settings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # Friday
    user = await _user(sessions, now)
    async with sessions.begin() as session:
        session.add(user)
        result = await schedules.sync(session, user, now, REVIEW)
        assert result.added == [
            f"weekly_review:{user.id}:{MONDAY}", f"weekly_review_details:{user.id}:{MONDAY}"
        ]
    checkin_at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    assert await _pending(sessions) == [
        (f"weekly_review:{user.id}:2026-11-30", checkin_at - timedelta(seconds=2)),
        (f"weekly_review_details:{user.id}:2026-11-30", checkin_at - timedelta(seconds=1)),
    ]
    async with sessions.begin() as session:
        session.add(user)
        user.checkin_time = time(17, 30)
        await schedules.sync(session, user, now, REVIEW)
    assert [due for _, due in await _pending(sessions)] == [
        datetime(2026, 11, 30, 16, 29, 58, tzinfo=UTC),
        datetime(2026, 11, 30, 16, 29, 59, tzinfo=UTC),
    ]
    async with sessions.begin() as session:
        session.add(user)
        user.paused_until = date(2026, 12, 3)  # paused over Monday: the next Monday instead
        await schedules.sync(session, user, now, REVIEW)
    assert [key.rsplit(":", 1)[1] for key, _ in await _pending(sessions)] == ["2026-12-07"] * 2


async def test_no_review_before_set_up_nor_for_a_blocked_owner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    user = await _user(sessions, now)
    async with sessions.begin() as session:
        session.add(user)
        user.onboarded_at = None
        assert (await schedules.sync(session, user, now, REVIEW)).added == []
        user.onboarded_at, user.blocked_at = now, now
        assert (await schedules.sync(session, user, now, REVIEW)).added == []
    assert await _pending(sessions) == []


