"""/goal rules: typed goals, the week's progress from check-ins and /log, celebrated once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import ActivityEntry, CheckIn, Goal, User
from bot.services import goals
from bot.services.goals import GoalInputError, GoalProgress

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Friday 27 November, 09:00 in Paris
MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10 dinner out", (10, "dinner out")),
        ("  15   un resto entre amis ", (15, "un resto entre amis")),
        ("10 contacts: a dinner out", (10, "a dinner out")),
        ("12 par semaine — un week-end à la mer", (12, "un week-end à la mer")),
        ("20 new contacts a week, new shoes", (20, "new shoes")),
        ("1 000 <b>tout</b> & plus", (1000, "<b>tout</b> & plus")),
        ("8", (8, None)),
        ("7 contacts", (7, None)),
    ],
)
def test_typed_goals(typed: str, expected: tuple[int, str | None]) -> None:
    assert goals.parse_goal(typed) == expected


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "not_a_number"),
        ("dinner out", "not_a_number"),
        ("ten dinner", "not_a_number"),
        ("0 dinner", "zero"),
        ("-5 dinner", "negative"),
        ("−3 dîner", "negative"),
        ("1001 dinner", "too_many"),
        ("99999999999999999999 x", "too_many"),
        ("2.5 dinner", "not_a_number"),
        ("10x dinner", "not_a_number"),
        ("10 " + "a" * 201, "reward_too_long"),
        ("10 " + "a" * 1000, "reward_too_long"),
    ],
)
def test_bad_goals_say_why(typed: str, code: str) -> None:
    with pytest.raises(GoalInputError) as error:
        goals.parse_goal(typed)
    assert error.value.code == code


def test_reward_is_kept_as_typed() -> None:
    assert goals.parse_reward("  Un <i>dîner</i> 🍷  ") == "Un <i>dîner</i> 🍷"
    assert goals.parse_reward("a" * 200) == "a" * 200
    for bad, code in (("   ", "no_reward"), ("a" * 201, "reward_too_long")):
        with pytest.raises(GoalInputError, match=code):
            goals.parse_reward(bad)


@pytest.mark.parametrize(
    ("contacts", "bar"),
    [(0, "▱" * 10), (3, "▰▰▰▱▱▱▱▱▱▱"), (9, "▰" * 9 + "▱"), (10, "▰" * 10), (25, "▰" * 10)],
)
def test_progress_bar(contacts: int, bar: str) -> None:
    progress = GoalProgress(target=10, reward="x", contacts=contacts, week_start=MONDAY)
    assert progress.bar == bar
    assert progress.left == max(0, 10 - contacts)


def test_next_goal_suggestion() -> None:
    assert [goals.suggest_next(n) for n in (1, 5, 10, 15, 20, 999, 1000)] == [
        2, 6, 12, 18, 24, 1000, 1000,
    ]  # fmt: skip


async def make_user(session: AsyncSession, telegram_id: int = 1) -> User:
    user = User(
        telegram_id=telegram_id, chat_id=telegram_id, timezone="Europe/Paris",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    return user


def checkin(user: User, day: date, contacts: int | None) -> CheckIn:
    return CheckIn(
        user_id=user.id, local_date=day, step="done", contacts=contacts, asked_at=NOW,
        completed_at=NOW,
    )  # fmt: skip


def logged(user: User, day: date, kind: str, count: int) -> ActivityEntry:
    return ActivityEntry(user_id=user.id, local_date=day, kind=kind, count=count, created_at=NOW)


async def test_progress_counts_the_weeks_checkins_and_log(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        other = await make_user(session, telegram_id=2)
        assert await goals.progress(session, user, NOW) is None
        await goals.set_goal(session, user, 10, "dinner out", NOW)
        session.add_all(
            [
                checkin(user, MONDAY - timedelta(days=1), 50),  # last Sunday: last week
                checkin(user, MONDAY, 2),
                checkin(user, MONDAY + timedelta(days=2), None),
                logged(user, MONDAY + timedelta(days=3), "contacts", 3),
                logged(user, MONDAY + timedelta(days=3), "meetings", 4),  # not contacts
                checkin(other, MONDAY, 40),
                logged(other, MONDAY, "contacts", 40),
            ]
        )
        await session.flush()
        progress = await goals.progress(session, user, NOW)
        assert progress == GoalProgress(
            target=10, reward="dinner out", contacts=5, week_start=MONDAY
        )
        last_week = await goals.progress(session, user, NOW, day=MONDAY - timedelta(days=1))
        assert last_week is not None and last_week.contacts == 50 and last_week.reached


async def test_the_week_follows_the_users_zone(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await goals.set_goal(session, user, 5, "cinema", NOW)
        session.add(checkin(user, date(2026, 11, 30), 4))  # Monday 30 November
        await session.flush()
        # Sunday 29 November 23:30 UTC is already Monday 00:30 in Paris.
        sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
        progress = await goals.progress(session, user, sunday_night)
        assert progress is not None and (progress.week_start, progress.contacts) == (
            date(2026, 11, 30), 4,
        )  # fmt: skip


async def test_celebrated_once_a_week_then_again_next_week(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await goals.set_goal(session, user, 5, "a new book", NOW)
        session.add(checkin(user, MONDAY, 4))
        await session.flush()
        first = await goals.celebrate(session, user, NOW)
        assert first is not None and not first.reached and not first.just_reached

        session.add(logged(user, MONDAY + timedelta(days=4), "contacts", 1))
        await session.flush()
        crossed = await goals.celebrate(session, user, NOW)
        assert crossed is not None and crossed.reached and crossed.just_reached
        again = await goals.celebrate(session, user, NOW + timedelta(hours=3))
        assert again is not None and again.reached and not again.just_reached

        # Next week starts from zero and can be celebrated again.
        next_monday = MONDAY + timedelta(days=7)
        session.add(checkin(user, next_monday, 6))
        await session.flush()
        later = NOW + timedelta(days=3)
        assert (await goals.celebrate(session, user, later)).just_reached  # type: ignore[union-attr]
        # A late check-in for last week does not celebrate it a second time.
        late = await goals.celebrate(session, user, later, day=MONDAY + timedelta(days=4))
        assert late is not None and late.reached and not late.just_reached
        goal = (await session.execute(select(Goal).where(Goal.active.is_(True)))).scalar_one()
        assert goal.celebrated_week == next_monday


async def test_a_new_goal_replaces_the_old_and_stop_ends_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await goals.set_goal(session, user, 5, "cinema", NOW)
        await goals.set_goal(session, user, 6, "théâtre", NOW)
        rows = (await session.execute(select(Goal).order_by(Goal.id))).scalars().all()
        assert [(g.weekly_contacts, g.active) for g in rows] == [(5, False), (6, True)]
        current = await goals.current(session, user)
        assert current is not None and current.reward == "théâtre"
        assert current.started_on == date(2026, 11, 27)
        for target, reward, code in (
            (0, "x", "zero"),
            (1001, "x", "too_many"),
            (5, " ", "no_reward"),
        ):
            with pytest.raises(GoalInputError, match=code):
                await goals.set_goal(session, user, target, reward, NOW)
        assert (await goals.current(session, user)) is not None
        assert await goals.stop(session, user)
        assert not await goals.stop(session, user)
        assert await goals.progress(session, user, NOW) is None


async def test_guided_goal_keeps_the_target_in_the_dialog(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        dialog = await goals.begin_guided(session, user, NOW)
        assert dialog.step == "target"
        dialog = await goals.choose_target(session, user, 15, NOW)
        assert (dialog.step, goals.pending_target(dialog)) == ("reward", 15)
        await goals.set_goal(session, user, 15, "spa", NOW)
        assert await goals.open_dialog(session, user) is None  # setting closes the dialog
