"""Daily check-ins through the sandbox: on time across DST, by taps, once, after restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import CheckIn, OutboxMessage, OutboxStatus, User
from bot.sandbox import BotApiSandbox, SandboxUser
from tests.e2e.conftest import Bot, button_texts, say, tap


async def onboard(
    user: SandboxUser, sandbox: BotApiSandbox, engine: AsyncEngine, *, at: str = "09:00",
    zone: str = "Paris", every_day: bool = False,
) -> None:  # fmt: skip
    await say(user, sandbox, "/start")
    if at in ("08:00", "09:00", "12:00", "17:30"):
        await tap(user, sandbox, at)
    else:
        await tap(user, sandbox, "Other…" if user.language_code == "en" else "Autre…")
        await say(user, sandbox, at)
    await say(user, sandbox, zone)
    if every_day:
        await say(user, sandbox, "every day")
    else:
        await tap(user, sandbox, "Done ✓" if user.language_code == "en" else "Terminé ✓")


async def checkins_of(engine: AsyncEngine, telegram_id: int) -> list[CheckIn]:
    async with engine.connect() as conn:
        user_id = (
            await conn.execute(select(User.id).where(User.telegram_id == telegram_id))
        ).scalar_one()
        rows = (
            await conn.execute(select(CheckIn.__table__).where(CheckIn.user_id == user_id))
        ).all()
    return [CheckIn(**row._mapping) for row in rows]


async def test_checkin_arrives_at_local_time_and_taps_are_stored(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    # Friday 27 November 2026, 07:00 UTC = 08:00 in Paris.
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    user = sandbox.user(201, first_name="Camille", language_code="fr")
    await onboard(user, sandbox, engine)
    user.skip_pending()

    bot.clock.set(datetime(2026, 11, 27, 7, 59, tzinfo=UTC))
    await bot.tick()
    assert user.last_message is not None and "C'est réglé" in user.last_message["text"]

    bot.clock.set(datetime(2026, 11, 27, 8, 0, 5, tzinfo=UTC))  # 09:00:05 in Paris
    await bot.tick()
    asked = await user.next_message(timeout=5)
    assert "point du jour" in asked["text"] and "nouveaux contacts" in asked["text"]
    # Exact counts in one tap (issue 12): no range, no guess.
    assert button_texts(user, asked)[:6] == ["0", "1", "2", "3", "4", "5+"]

    await tap(user, sandbox, "0")
    await tap(user, sandbox, "1")
    # No prospecting block on this day: no block question; no new contact: ask why.
    reason = await tap(user, sandbox, "0")
    assert "freiné" in reason["text"] and "créneau" not in reason["text"]
    summary = await tap(user, sandbox, "Je n'ai pas bloqué de temps")
    assert "Merci" in summary["text"] and "série" in summary["text"].lower()
    # A Friday for a Monday-to-Friday owner: the next check-in is named, not "tomorrow".
    assert "demain" not in summary["text"] and "lundi" in summary["text"]

    [checkin] = await checkins_of(engine, 201)
    assert (checkin.contacts, checkin.meetings, checkin.proposals) == (0, 1, 0)
    assert (checkin.block_done, checkin.reason) == (None, "no_time_set_aside")
    assert checkin.local_date == date(2026, 11, 27) and checkin.completed_at is not None

    # The next check-in is Monday 09:00 Paris (weekend skipped).
    async with engine.connect() as conn:
        due = (
            await conn.execute(
                select(OutboxMessage.due_at).where(
                    OutboxMessage.kind == "checkin", OutboxMessage.status == OutboxStatus.PENDING
                )
            )
        ).scalar_one()
    assert due.replace(tzinfo=UTC) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def test_good_prospecting_skips_the_why_question(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(202, first_name="Sam", language_code="en")
    await onboard(user, sandbox, engine, zone="London")
    await say(user, sandbox, "/checkin")
    exact = await tap(user, sandbox, "5+")  # asks for the number; nothing stored yet
    assert "exact number" in exact["text"]
    await say(user, sandbox, "6")
    await tap(user, sandbox, "0")
    summary = await tap(user, sandbox, "0")  # no block planned: no block question
    assert "Thanks" in summary["text"]
    [checkin] = await checkins_of(engine, 202)
    assert checkin.reason is None and checkin.contacts == 6


async def test_double_tap_and_old_keyboards_count_once(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(203, first_name="Lee", language_code="en")
    await onboard(user, sandbox, engine, zone="London")
    question = await say(user, sandbox, "/checkin")
    data = next(d for row in user.buttons(question) for t, d in row if t == "3")
    await user.press(question, data)
    await user.press(question, data)  # a double tap replays the same payload
    await sandbox.wait_idle(timeout=5)
    [checkin] = await checkins_of(engine, 203)
    assert checkin.contacts == 3 and checkin.step == "meetings"
    answers = [q.answer_text for q in sandbox.callback_queries.values()]
    assert answers[-1] == "That question was already answered."


async def test_typed_numbers_bad_input_and_restart_mid_checkin(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(204, first_name="Noor", language_code="en")
    await onboard(user, sandbox, engine, zone="London")
    await say(user, sandbox, "/checkin")
    for bad in ("-3", "lots", "10000", "x" * 5000):
        reask = await say(user, sandbox, bad)
        assert "🤔" in reask["text"] and "new contacts" in reask["text"]
    [checkin] = await checkins_of(engine, 204)
    assert checkin.contacts is None  # nothing stored from bad input

    await say(user, sandbox, "4")
    await bot.restart()
    sandbox.reset_flood()  # a real restart takes longer than Telegram's per-chat window
    asked = await say(user, sandbox, "2")  # meetings, answered after the restart
    assert "quotes or proposals" in asked["text"]
    [checkin] = await checkins_of(engine, 204)
    assert (checkin.contacts, checkin.meetings, checkin.step) == (4, 2, "proposals")


async def test_answer_the_next_morning_counts_for_the_day_asked(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))  # Thursday 18:00 Paris
    user = sandbox.user(205, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, at="17:30", zone="Paris")
    bot.clock.set(datetime(2026, 11, 26, 16, 30, 1, tzinfo=UTC) + timedelta(days=1))  # Fri 17:30
    bot.clock.set(datetime(2026, 11, 26, 16, 30, 1, tzinfo=UTC))
    # The check-in for Thursday was planned for... Friday (Thursday 17:30 had passed): jump there.
    bot.clock.set(datetime(2026, 11, 27, 16, 30, 1, tzinfo=UTC))
    await bot.tick()
    asked = user.last_message
    assert asked is not None and "new contacts" in asked["text"]
    bot.clock.set(datetime(2026, 11, 28, 7, 0, tzinfo=UTC))  # Saturday morning
    later = await tap(user, sandbox, "1", message=asked)
    assert "for Friday" in later["text"]  # it names the day it asks about
    [checkin] = await checkins_of(engine, 205)
    assert checkin.local_date == date(2026, 11, 27) and checkin.contacts == 1


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        # 02:30 does not exist on 28 March 2027 in Paris: sent once, just after the gap.
        (date(2027, 3, 28), None),
        # 02:30 happens twice on 25 October 2026: sent once, at the first.
        (date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
async def test_a_0230_checkin_is_sent_exactly_once_on_dst_days(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, day: date, expected_utc: datetime | None
) -> None:
    bot.clock.set(datetime.combine(day - timedelta(days=1), time(12), tzinfo=UTC))
    user = sandbox.user(206, first_name="Kim", language_code="en")
    await onboard(user, sandbox, engine, at="02:30", zone="Paris", every_day=True)
    user.skip_pending()
    sent_at: list[datetime] = []
    moment = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=1)
    while moment < datetime.combine(day, time(4), tzinfo=UTC):
        moment += timedelta(minutes=15)
        bot.clock.set(moment)
        before = len(user.messages)
        await bot.tick()
        if len(user.messages) > before:
            sent_at.append(moment)
    assert len(sent_at) == 1
    if expected_utc is not None:
        assert sent_at[0] - expected_utc < timedelta(minutes=15)
    [checkin] = await checkins_of(engine, 206)
    assert checkin.local_date == day


async def test_checkins_follow_the_last_sundays_of_march_and_october(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 10, 23, 12, tzinfo=UTC))
    user = sandbox.user(207, first_name="Eva", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris", every_day=True)
    user.skip_pending()
    expected = [
        datetime(2026, 10, 24, 7, 0, tzinfo=UTC),  # Saturday, summer time: 09:00 = 07:00 UTC
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),  # Sunday, winter time: 09:00 = 08:00 UTC
        datetime(2026, 10, 26, 8, 0, tzinfo=UTC),
    ]
    for due in expected:
        bot.clock.set(due - timedelta(seconds=1))
        before = len(user.messages)
        await bot.tick()
        assert len(user.messages) == before, f"sent early, before {due}"
        bot.clock.set(due)
        await bot.tick()
        assert len(user.messages) == before + 1, f"not sent at {due}"


async def test_a_blocked_user_stops_being_scheduled_until_start(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    user = sandbox.user(208, first_name="Max", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    user.block()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 1, tzinfo=UTC))
    await bot.tick()
    async with engine.connect() as conn:
        blocked_at = (
            await conn.execute(select(User.blocked_at).where(User.telegram_id == 208))
        ).scalar_one()
        pending = (
            await conn.execute(
                select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
            )
        ).all()
    assert blocked_at is not None and pending == []
    sandbox.errors_served.pop(403, None)  # the one refusal this test provoked on purpose

    user.unblock()
    await say(user, sandbox, "/start")
    async with engine.connect() as conn:
        blocked_at = (
            await conn.execute(select(User.blocked_at).where(User.telegram_id == 208))
        ).scalar_one()
        pending = (
            await conn.execute(
                select(OutboxMessage.kind).where(OutboxMessage.status == OutboxStatus.PENDING)
            )
        ).all()
    # Back: the next check-in and the next Monday review are planned again.
    assert blocked_at is None and sorted(p.kind for p in pending) == [
        "checkin", "weekly_review", "weekly_review_details"
    ]


async def test_pause_and_resume(bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine) -> None:
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    user = sandbox.user(209, first_name="Zoé", language_code="fr")
    await onboard(user, sandbox, engine, zone="Paris")
    refused = await say(user, sandbox, "/pause bientôt")
    assert "pas compris la durée" in refused["text"]
    paused = await say(user, sandbox, "/pause 10")
    assert "en pause jusqu'au" in paused["text"] and "6 décembre 2026" in paused["text"]
    assert "reprennent le lundi 7 décembre 2026" in paused["text"]
    async with engine.connect() as conn:
        due = (
            await conn.execute(
                select(OutboxMessage.due_at).where(
                    OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.kind == "checkin"
                )
            )
        ).scalar_one()
    assert due.replace(tzinfo=UTC) == datetime(
        2026, 12, 7, 8, 0, tzinfo=UTC
    )  # Monday after the pause
    resumed = await say(user, sandbox, "/resume")
    assert "reprennent" in resumed["text"] and "27 novembre 2026" in resumed["text"]
    await update_nothing(engine)


async def update_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == -1).values(first_name="x"))


async def test_a_send_whose_answer_never_comes_is_retried_once_and_flagged(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    user = sandbox.user(210, first_name="Tim", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    user.skip_pending()
    onboarded = len(user.messages)
    # Telegram takes the message but its answer arrives after the bot's read timeout (5 s).
    sandbox.delay_responses(5.5, count=1)
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 1, tzinfo=UTC))
    first = await bot.tick()
    assert first.retried == 1 and first.sent == 0
    bot.clock.set(datetime(2026, 11, 27, 8, 5, tzinfo=UTC))
    second = await bot.tick()
    assert second.sent == 1
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    OutboxMessage.status, OutboxMessage.last_error, OutboxMessage.attempts
                ).where(OutboxMessage.kind == "checkin", OutboxMessage.status == OutboxStatus.SENT)
            )
        ).one()
    assert row.attempts == 2 and (row.last_error or "").startswith("possibly duplicated")
    asked = [m for m in user.messages[onboarded:] if "new contacts" in (m.get("text") or "")]
    assert len(asked) == 2  # the owner may see it twice; never three times
