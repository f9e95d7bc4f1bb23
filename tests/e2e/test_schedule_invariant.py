"""The schedule is an invariant: random months of settings changes, pauses, blocks, plans,
imports and transient errors never leave an owner without their next check-in, never send two
check-ins for one day, and never lose one.

The real dispatcher sends through a real PTB Bot to the sandbox; the clock jumps from one due
message to the next. Settings change through the same service calls the handlers make.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.clock import MovableClock
from bot.db import outbox
from bot.db.models import CheckIn, OutboxMessage, OutboxStatus, User
from bot.delivery import dispatcher as dispatcher_module
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outgoing import ScheduledKind
from bot.delivery.sweep import ScheduleSweep
from bot.sandbox import BotApiSandbox
from bot.services import accounts, checkins, planning, privacy, quotes, schedule, schedules
from bot.services import data_format as fmt
from bot.services.planning import BlockSpec
from bot.services.preferences import zone
from bot.services.quote_input import QuoteDraft
from handlers.scheduled import scheduled_kinds

OWNER_IDS = itertools.count(500_000)
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # a Monday
DAYS = 90
ZONES = (
    "Europe/Paris", "America/New_York", "Asia/Tokyo", "Pacific/Auckland",
    "America/Los_Angeles", "UTC", "Asia/Kolkata",
)  # fmt: skip

events = st.one_of(
    st.tuples(st.just("time"), st.integers(6, 21), st.sampled_from([0, 15, 30, 45])),
    st.tuples(st.just("zone"), st.sampled_from(ZONES)),
    st.tuples(st.just("days"), st.integers(1, 127)),
    st.tuples(st.just("language"), st.sampled_from(["fr", "en"])),
    st.tuples(st.just("pause"), st.integers(1, 15)),
    st.tuples(st.just("resume")),
    st.tuples(st.just("block")),
    st.tuples(st.just("unblock")),
    st.tuples(st.just("plan"), st.integers(0, 6), st.integers(7, 19)),
    st.tuples(st.just("unplan")),
    st.tuples(st.just("quote"), st.integers(1, 40)),
    st.tuples(st.just("import"), st.integers(6, 21), st.sampled_from(ZONES)),
    st.tuples(st.just("fail"), st.sampled_from(["compose", "settle"])),
    st.tuples(st.just("checkin_now")),
)
steps = st.lists(st.tuples(st.integers(1, 96), events), min_size=8, max_size=40)


@dataclass(frozen=True)
class Setup:
    """The settings in force over a stretch of simulated time."""

    at: time
    zone: str
    days: int
    paused_until: date | None
    blocked: bool  # in the sandbox: the owner blocked the bot


class FaultyKinds:
    """The real scheduled kinds; armed, the next check-in compose or settle hits a database
    error, as a dropped connection or SQLite "database is locked" would."""

    def __init__(self) -> None:
        self.real = scheduled_kinds()
        self.armed: str | None = None
        self.injected = 0

    def _raise(self) -> None:
        self.armed = None
        self.injected += 1
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    def kinds(self) -> dict[str, ScheduledKind]:
        kinds = dict(self.real)
        real = kinds[checkins.CHECKIN_KIND]

        async def compose(session: AsyncSession, row: OutboxMessage, user: User, now: datetime):  # type: ignore[no-untyped-def]
            if self.armed == "compose":
                self._raise()
            return await real.compose(session, row, user, now)

        async def after_sent(  # type: ignore[no-untyped-def]
            session: AsyncSession, row: OutboxMessage, user: User, message_id: int, now: datetime
        ):
            if self.armed == "settle":
                self._raise()
            assert real.after_sent is not None
            await real.after_sent(session, row, user, message_id, now)

        kinds[checkins.CHECKIN_KIND] = ScheduledKind(compose, after_sent)
        return kinds


@pytest.fixture
async def sandbox() -> AsyncIterator[BotApiSandbox]:
    async with BotApiSandbox(flood_control=False) as server:
        yield server


async def _run_until(
    sessions: async_sessionmaker[AsyncSession],
    clock: MovableClock,
    dispatcher: Dispatcher,
    target: datetime,
    on_tick: Callable[[], Awaitable[None]],
) -> None:
    """Jump from one due message to the next up to `target`, sending each when due."""
    for _ in range(2000):
        async with sessions() as session:
            due = await outbox.next_due_at(session)
        if due is None or due > target:
            break
        clock.set(max(due, clock.now()))
        await dispatcher.tick()
        await on_tick()
    else:
        raise AssertionError("the outbox never emptied")
    clock.set(target)


async def _check_invariant(session: AsyncSession, user: User, now: datetime) -> None:
    rows = (
        await session.execute(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    ).scalars()
    pending = [
        r
        for r in rows
        if r.kind == checkins.CHECKIN_KIND
        and r.status == OutboxStatus.PENDING
        and not schedules.in_delivery(r, now)
    ]
    eligible = (
        user.onboarded_at is not None
        and user.blocked_at is None
        and user.checkin_days & schedule.ALL_DAYS_MASK
    )
    assert len(pending) == (1 if eligible else 0), [(r.dedupe_key, r.due_at) for r in pending]
    if pending:
        found = schedule.next_occurrence(
            now, user.checkin_time, user.checkin_days, zone(user.timezone), user.paused_until
        )
        assert found is not None and pending[0].due_at >= found[1]
    # What the sweep would do: nothing.
    result = await schedules.sync(session, user, now)
    assert result.changes == 0, result


async def _import_profile(
    session: AsyncSession, user: User, now: datetime, at_hour: int, zone_name: str
) -> None:
    """An /import of the owner's own export with another check-in time and zone."""
    files = await privacy.export(session, user, now)
    doc = json.loads(files.json_bytes)
    doc["profile"]["checkin_time"] = f"{at_hour:02d}:00"
    doc["profile"]["timezone"] = zone_name
    today = privacy.local_today(user, now)
    payload = fmt.parse_file(
        json.dumps(doc).encode(), "import.json", "application/json", today=today, now=now
    )
    await privacy.merge(session, user, payload, now, apply=True)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps)
async def test_every_owner_always_has_their_next_checkin_and_gets_each_day_once(
    sandbox: BotApiSandbox,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    plan: list[tuple[int, tuple[Any, ...]]],
) -> None:
    # Pacing is measured elsewhere; here time jumps and messages go at once.
    monkeypatch.setattr(dispatcher_module, "PER_CHAT_SPACING_SECONDS", 0)
    clock = MovableClock(START)
    faults = FaultyKinds()
    telegram_id = next(OWNER_IDS)  # a new owner for each example
    async with sessions.begin() as session:  # whatever a failed example left behind
        await session.execute(delete(User))
    async with Bot(sandbox.token, base_url=sandbox.base_url) as bot:
        dispatcher = Dispatcher(
            sessions=sessions,
            bot=bot,
            clock=clock,
            kinds=faults.kinds(),
            replan=schedules.after_settled,
            retry_backoff=timedelta(seconds=15),
        )
        sweep = ScheduleSweep(sessions=sessions, clock=clock)
        sandbox_user = sandbox.user(telegram_id)
        async with sessions.begin() as session:
            user = User(
                telegram_id=telegram_id, chat_id=telegram_id, first_name="Ana", language="en",
                timezone="Europe/Paris", checkin_time=time(9, 0), onboarded_at=START,
                created_at=START, updated_at=START,
            )  # fmt: skip
            session.add(user)
            await session.flush()
            await schedules.sync(session, user, START)
            user_id = user.id

        setups: list[tuple[datetime, Setup]] = [
            (START, Setup(time(9, 0), "Europe/Paris", user.checkin_days, None, False))
        ]
        sent_seen: set[int] = set()

        async def record_sends() -> None:
            """Each check-in sent is for a day the settings in force ask one for."""
            async with sessions() as session:
                rows = (
                    await session.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.user_id == user_id,
                            OutboxMessage.kind == checkins.CHECKIN_KIND,
                            OutboxMessage.status == OutboxStatus.SENT,
                        )
                    )
                ).scalars()
                for row in rows:
                    if row.id in sent_seen:
                        continue
                    sent_seen.add(row.id)
                    setup = setups[-1][1]
                    day = date.fromisoformat(row.payload["date"])
                    assert setup.days >> day.weekday() & 1, (day, setup)
                    assert setup.paused_until is None or day > setup.paused_until

        end = START + timedelta(days=DAYS)
        now = START
        for hours, event in plan:
            now = min(now + timedelta(hours=hours), end)
            await _run_until(sessions, clock, dispatcher, now, record_sends)
            async with sessions.begin() as session:
                user = await session.get(User, user_id, populate_existing=True)
                assert user is not None
                await _apply(session, sandbox, sandbox_user.chat_id, user, event, now, faults)
                setup = Setup(
                    user.checkin_time, user.timezone, user.checkin_days, user.paused_until,
                    sandbox.is_blocked(sandbox_user.chat_id),
                )  # fmt: skip
            setups.append((now, setup))
            async with sessions.begin() as session:
                user = await session.get(User, user_id, populate_existing=True)
                assert user is not None
                await _check_invariant(session, user, now)
            if now >= end:
                break
        await _run_until(sessions, clock, dispatcher, end, record_sends)
        report = await sweep.run()
        assert report.repaired == 0

        async with sessions() as session:
            sent = [
                r
                for r in (
                    await session.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.user_id == user_id,
                            OutboxMessage.kind == checkins.CHECKIN_KIND,
                        )
                    )
                ).scalars()
                if r.status == OutboxStatus.SENT
            ]
            sent_rows = len(
                (
                    await session.execute(
                        select(OutboxMessage.id).where(
                            OutboxMessage.user_id == user_id,
                            OutboxMessage.status == OutboxStatus.SENT,
                        )
                    )
                ).all()
            )
            failed = (
                await session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.user_id == user_id,
                        OutboxMessage.status == OutboxStatus.FAILED,
                        OutboxMessage.last_error.not_like("Forbidden%"),
                    )
                )
            ).scalars()
            asked = {
                c.local_date
                for c in (
                    await session.execute(select(CheckIn).where(CheckIn.user_id == user_id))
                ).scalars()
            }
        # Never two check-ins for one day; each one Telegram got is one the outbox sent.
        per_day = Counter(r.payload["date"] for r in sent)
        assert all(n == 1 for n in per_day.values()), per_day
        # Every message Telegram got is one outbox row marked sent, once: none went twice.
        delivered = [send for send in sandbox.sends if send.chat_id == sandbox_user.chat_id]
        assert len(delivered) == sent_rows, (len(delivered), sent_rows)
        # No row was failed by an injected error: it was retried.
        assert [r.last_error for r in failed if "blocked" not in (r.last_error or "")] == []
        # Liveness: every day whose check-in moment fell in a calm stretch got its check-in.
        stretches = zip(setups, [*setups[1:], (end, setups[-1][1])], strict=True)
        for (begin, setup), (finish, _) in stretches:
            if setup.blocked:
                continue
            tz = zone(setup.zone)
            day = schedule.local_date(begin, tz)
            while True:
                moment = schedule.local_moment(day, setup.at, tz)
                if moment >= finish:
                    break
                configured = setup.days >> day.weekday() & 1
                paused = setup.paused_until is not None and day <= setup.paused_until
                if moment > begin and configured and not paused:
                    assert day in asked, (day, setup, begin, finish)
                day += timedelta(days=1)

        async with sessions.begin() as session:  # the next example starts from a clean slate
            await session.execute(delete(User).where(User.id == user_id))
        sandbox_user.skip_pending()


async def _apply(
    session: AsyncSession,
    sandbox: BotApiSandbox,
    chat_id: int,
    user: User,
    event: tuple[Any, ...],
    now: datetime,
    faults: FaultyKinds,
) -> None:
    """One owner action, through the service call its handler makes."""
    name = event[0]
    if name == "time":
        user.checkin_time = time(event[1], event[2])
        await schedules.sync(session, user, now)
    elif name == "zone":
        user.timezone = event[1]
        await schedules.sync(session, user, now)
    elif name == "days":
        user.checkin_days = event[1]
        await schedules.sync(session, user, now)
    elif name == "language":
        user.language = event[1]
    elif name == "pause":
        await checkins.pause(session, user, event[1], now)
    elif name == "resume":
        await checkins.resume(session, user, now)
    elif name == "block":
        sandbox.block(chat_id)
    elif name == "unblock":
        sandbox.unblock(chat_id)
        if accounts.reactivate(user, now):  # what /start does for a returning owner
            await schedules.sync(session, user, now)
    elif name == "plan":
        await planning.add_blocks(session, user, [BlockSpec(event[1], time(event[2]), 60)], now)
    elif name == "unplan":
        await planning.clear(session, user, now)
    elif name == "quote":
        today = checkins.local_today(user, now)
        draft = QuoteDraft("Dupont", Decimal("1000"), None, today + timedelta(days=event[1]))
        await quotes.register(session, user, draft, now)
    elif name == "import":
        await _import_profile(session, user, now, event[1], event[2])
    elif name == "fail":
        faults.armed = event[1]
    elif name == "checkin_now" and user.onboarded_at is not None:
        await checkins.start_now(session, user, now)
