"""The ordinary events that used to stop the daily check-in for good, each through the sandbox
with the clock moved: a later time or a zone to the west after today's check-in, a plan change
after a ping, a database error while the check-in is composed, and the repair sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus, User
from bot.delivery.outgoing import ScheduledKind
from bot.metrics import METRICS
from bot.sandbox import BotApiSandbox, SandboxUser
from bot.services import checkins
from tests.e2e.conftest import Bot, say, tap
from tests.e2e.test_checkin import onboard

TUESDAY_0800_UTC = datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC)  # 09:00:05 in Paris


async def _checkin_arrives(bot: Bot, user: SandboxUser, at: datetime) -> bool:
    before = len(user.messages)
    bot.clock.set(at)
    await bot.tick()
    arrived = any("Time for your check-in" in m.get("text", "") for m in user.messages[before:])
    user.skip_pending()
    return arrived


async def _pending_checkins(engine: AsyncEngine) -> list[datetime]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(OutboxMessage.due_at).where(
                OutboxMessage.kind == "checkin", OutboxMessage.status == OutboxStatus.PENDING
            )
        )
        return [due.replace(tzinfo=UTC) for (due,) in rows]


async def test_moving_the_checkin_later_after_todays_keeps_the_daily_checkin(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    user = sandbox.user(301, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    assert await _checkin_arrives(bot, user, TUESDAY_0800_UTC)

    await say(user, sandbox, "/settings")
    await tap(user, sandbox, "⏰ Check-in time")
    saved = await tap(user, sandbox, "17:30")
    assert "17:30" in saved["text"]
    # Today's check-in was already asked: the next one is tomorrow at 17:30, not never.
    assert await _pending_checkins(engine) == [datetime(2026, 12, 2, 16, 30, tzinfo=UTC)]
    assert not await _checkin_arrives(bot, user, datetime(2026, 12, 1, 16, 30, 5, tzinfo=UTC))
    assert await _checkin_arrives(bot, user, datetime(2026, 12, 2, 16, 30, 5, tzinfo=UTC))
    assert await _checkin_arrives(bot, user, datetime(2026, 12, 3, 16, 30, 5, tzinfo=UTC))


async def test_a_zone_to_the_west_after_todays_checkin_keeps_the_daily_checkin(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    user = sandbox.user(302, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    assert await _checkin_arrives(bot, user, TUESDAY_0800_UTC)

    await say(user, sandbox, "/settings")
    await tap(user, sandbox, "🌍 Time zone")
    await tap(user, sandbox, "Other…")
    await say(user, sandbox, "America/New_York")
    # 09:00 in New York is 14:00 UTC: today is asked already, so tomorrow's.
    assert await _pending_checkins(engine) == [datetime(2026, 12, 2, 14, 0, tzinfo=UTC)]
    assert not await _checkin_arrives(bot, user, datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC))
    assert await _checkin_arrives(bot, user, datetime(2026, 12, 2, 14, 0, 5, tzinfo=UTC))


async def test_a_database_error_while_composing_is_retried_and_the_schedule_goes_on(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    user = sandbox.user(303, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    dispatcher = bot.application.bot_data.dispatcher
    real = dispatcher._kinds[checkins.CHECKIN_KIND]
    failures = 0

    async def locked_once(
        session: AsyncSession, row: OutboxMessage, owner: User, now: datetime
    ) -> object:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        return await real.compose(session, row, owner, now)

    dispatcher._kinds = {
        **dispatcher._kinds,
        checkins.CHECKIN_KIND: ScheduledKind(locked_once, real.after_sent),  # type: ignore[arg-type]
    }
    retries_before = METRICS.outbox_retries.labels("database error")._value.get()
    assert not await _checkin_arrives(bot, user, TUESDAY_0800_UTC)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(OutboxMessage.status, OutboxMessage.due_at).where(
                    OutboxMessage.dedupe_key.like("checkin:%:2026-12-01")
                )
            )
        ).one()
    # Still pending, a little later; and tomorrow's is already planned.
    assert row.status == OutboxStatus.PENDING
    assert datetime(2026, 12, 2, 8, 0, tzinfo=UTC) in await _pending_checkins(engine)
    assert METRICS.outbox_retries.labels("database error")._value.get() == retries_before + 1
    assert await _checkin_arrives(bot, user, TUESDAY_0800_UTC + timedelta(seconds=20))
    assert await _checkin_arrives(bot, user, datetime(2026, 12, 2, 8, 0, 5, tzinfo=UTC))


async def test_the_sweep_repairs_a_lost_checkin_and_counts_it(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    user = sandbox.user(304, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    sweep = bot.application.bot_data.sweep
    assert (await sweep.run()).repaired == 0  # healthy: nothing to do
    async with engine.begin() as conn:  # a bug elsewhere loses the planned check-in
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "checkin")
            .values(status=OutboxStatus.CANCELLED)
        )
    repairs_before = METRICS.schedule_repairs._value.get()
    report = await sweep.run()
    assert report.repaired == 1
    assert METRICS.schedule_repairs._value.get() == repairs_before + 1
    assert await _pending_checkins(engine) == [TUESDAY_0800_UTC - timedelta(seconds=5)]
    assert await _checkin_arrives(bot, user, TUESDAY_0800_UTC)


async def test_a_plan_change_after_a_ping_keeps_the_next_ping(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    user = sandbox.user(305, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    await say(user, sandbox, "/plan tue 10:00-11:00")
    bot.clock.set(datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC))  # 10:00 Paris: the ping
    await bot.tick()
    user.skip_pending()
    # The owner adds a block later today and one on Thursday.
    await say(user, sandbox, "/plan tue 15:00-16:00")
    await sandbox.wait_idle(timeout=5)
    user.skip_pending()  # the calendar file that follows the plan
    await say(user, sandbox, "/plan thu 15:00-16:00")
    async with engine.connect() as conn:
        pings = (
            await conn.execute(
                select(OutboxMessage.due_at).where(
                    OutboxMessage.kind == "plan_block",
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
            )
        ).all()
    due = sorted(d.replace(tzinfo=UTC) for (d,) in pings)
    assert due == [
        datetime(2026, 12, 1, 14, 0, tzinfo=UTC),  # today 15:00 Paris: not pinged yet
        datetime(2026, 12, 3, 14, 0, tzinfo=UTC),  # Thursday
        datetime(2026, 12, 8, 9, 0, tzinfo=UTC),  # 10:00 was pinged today: next Tuesday
    ]


async def test_a_tuesday_with_a_block_two_quotes_and_a_checkin_stays_quiet(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))  # Monday, after the check-in
    user = sandbox.user(306, first_name="Ana", language_code="en")
    await onboard(user, sandbox, engine, zone="Paris")
    await say(user, sandbox, "/plan tue 09:00-10:00")  # at the check-in's very minute
    await say(user, sandbox, "/quote Dupont 1000 3d")  # expires Thursday: reminder Tuesday
    await say(user, sandbox, "/quote Martin 2000 1d")  # expires Tuesday: reminder that day
    await bot.tick()  # Martin's reminder right away, as it expires so soon
    await sandbox.wait_idle(timeout=5)
    user.skip_pending()

    tuesday = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 00:00 in Paris
    bot.clock.set(tuesday)
    before = len(user.messages)
    async with engine.connect() as conn:
        dues = sorted(
            d.replace(tzinfo=UTC)
            for (d,) in await conn.execute(
                select(OutboxMessage.due_at).where(OutboxMessage.status == OutboxStatus.PENDING)
            )
        )
    for _ in range(20):  # every message due on Tuesday, as the clock reaches it
        async with engine.connect() as conn:
            due = (
                await conn.execute(
                    select(OutboxMessage.due_at)
                    .where(OutboxMessage.status == OutboxStatus.PENDING)
                    .order_by(OutboxMessage.due_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if due is None or due.replace(tzinfo=UTC) >= tuesday + timedelta(days=1):
            break
        bot.clock.set(max(due.replace(tzinfo=UTC), bot.clock.now()))
        await bot.tick()
    day = user.messages[before:]
    # One message at 09:00 (the check-in with the block and both quotes in it), the block's
    # "did it happen?" at 10:00 and one gentle follow-up: the documented quiet day.
    assert len(day) == 3, [m.get("text", "")[:300] for m in day]
    checkin = day[0]["text"]
    assert "Time for your check-in" in checkin and "prospecting block starts now" in checkin
    assert "Dupont" in checkin and "Martin" in checkin and "expires today" in checkin
    assert dues  # the day had its messages planned ahead
