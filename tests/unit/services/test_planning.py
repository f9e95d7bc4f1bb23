"""/plan rules: typed plans in French and English, pings across DST, answers once, adherence."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BlockSession, OutboxMessage, OutboxStatus, PlanBlock, User
from bot.services import planning, schedules
from bot.services.planning import BlockSpec, BlockStatus, Outcome, PlanInputError

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Friday 09:00 in Paris
TUE, THU = 1, 3


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tue thu 9:00-10:00", [(TUE, time(9), 60), (THU, time(9), 60)]),
        ("mardi jeudi 9h-10h", [(TUE, time(9), 60), (THU, time(9), 60)]),
        ("lun 14h 90min", [(0, time(14), 90)]),
        ("Lundi 14h 1h30", [(0, time(14), 90)]),
        ("mon-wed 8h30 45 min", [(0, time(8, 30), 45), (1, time(8, 30), 45), (2, time(8, 30), 45)]),
        ("every wednesday from 2pm to 3:30pm", [(2, time(14), 90)]),
        ("les mardis de 9h à 10h30", [(TUE, time(9), 90)]),
        ("Vendredi 16h – 17h", [(4, time(16), 60)]),
        ("fri 2-3pm", [(4, time(14), 60)]),
        ("sat 10:00", [(5, time(10), planning.DEFAULT_DURATION)]),
        ("mer 9h pendant 2 heures", [(2, time(9), 120)]),
        ("tue 9-10; thu 14h 30min", [(TUE, time(9), 60), (THU, time(14), 30)]),
        ("tuesdays and thursdays 9:00 1 hour", [(TUE, time(9), 60), (THU, time(9), 60)]),
    ],
)
def test_typed_plans_in_both_languages(typed: str, expected: list[tuple[int, time, int]]) -> None:
    assert planning.parse_plan(typed) == [BlockSpec(*e) for e in expected]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "unreadable"),
        ("9:00-10:00", "no_days"),
        ("tomorrow 9-10", "no_days"),
        ("blurb thu 9-10", "no_days"),
        ("tue", "unreadable"),
        ("tue 25h-26h", "bad_time"),
        ("tue 10:00-9:00", "end_before_start"),
        ("tue 9:00 10min", "too_short"),
        ("tue 8h-13h", "too_long"),
        ("tue 23h30 60min", "past_midnight"),
        ("tue 9h " + "x" * 300, "unreadable"),
        ("mardi à la première heure", "unreadable"),
    ],
)
def test_bad_plans_say_why(typed: str, code: str) -> None:
    with pytest.raises(PlanInputError) as error:
        planning.parse_plan(typed)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("90", 90), ("45 min", 45), ("1h", 60), ("1h30", 90), ("1 h 30", 90), ("1.5h", 90),
     ("2 heures", 120), ("50mn", 50), ("soon", None), ("", None)],
)  # fmt: skip
def test_durations(typed: str, minutes: int | None) -> None:
    assert planning.parse_duration(typed) == minutes


def test_block_ends() -> None:
    assert planning.end_of(time(9), 90) == time(10, 30)
    assert planning.end_of(time(23), 60) == time(23, 59)


# ----------------------------------------------------------------------------- storage, pings


async def make_user(
    session: AsyncSession, zone: str = "Europe/Paris", telegram_id: int = 1
) -> User:
    user = User(
        telegram_id=telegram_id, chat_id=telegram_id, timezone=zone, language="fr",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    return user


async def pending_pings(session: AsyncSession, user: User) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user.id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.due_at)
    )
    return list((await session.execute(query)).scalars())


async def test_saving_schedules_the_next_occurrence_of_each_block(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        saved = await planning.add_blocks(
            session, user, planning.parse_plan("mardi jeudi 9h-10h"), NOW
        )
        assert saved == planning.Saved(added=2, replaced=0)
        pings = await pending_pings(session, user)
    # Friday 27 Nov: next Tuesday 1 Dec and Thursday 3 Dec, 09:00 Paris = 08:00 UTC.
    assert [(p.kind, p.dedupe_key, p.due_at) for p in pings] == [
        ("plan_block", f"plan:{user.id}:2026-12-01:0900", datetime(2026, 12, 1, 8, tzinfo=UTC)),
        ("plan_block", f"plan:{user.id}:2026-12-03:0900", datetime(2026, 12, 3, 8, tzinfo=UTC)),
    ]


async def test_an_overlapping_block_replaces_the_old_one_and_its_ping(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await planning.add_blocks(session, user, planning.parse_plan("tue thu 9-10"), NOW)
        saved = await planning.add_blocks(session, user, planning.parse_plan("tue 9:30-10:30"), NOW)
        assert saved.replaced == 1
        blocks = await planning.blocks(session, user)
        pings = await pending_pings(session, user)
    assert [(b.weekday, b.start_time) for b in blocks] == [(TUE, time(9, 30)), (THU, time(9))]
    assert [p.dedupe_key.rsplit(":", 2)[1:] for p in pings] == [
        ["2026-12-01", "0930"],
        ["2026-12-03", "0900"],
    ]


async def test_too_many_blocks_stores_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        for typed in ("every day 8h-9h", "every day 14h-15h"):
            await planning.add_blocks(session, user, planning.parse_plan(typed), NOW)
        with pytest.raises(PlanInputError, match="too_many_blocks"):
            await planning.add_blocks(session, user, planning.parse_plan("mon 18h-19h"), NOW)
        assert len(await planning.blocks(session, user)) == planning.MAX_BLOCKS


async def _deliver(
    session: AsyncSession, user: User, row: OutboxMessage, now: datetime
) -> planning.Occurrence | None:
    """What the dispatcher does with a due start ping: compose, then (if sent) record it."""
    occurrence = await planning.begin_block(session, user, row, now)
    row.status = OutboxStatus.SENT if occurrence else OutboxStatus.CANCELLED
    if occurrence is not None:
        await planning.after_block_started(session, user, row, now)
    await session.flush()
    await schedules.after_settled(session, user, row.kind, now)
    return occurrence


async def test_pings_follow_local_time_across_the_spring_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Monday 22 March 2027, 09:00 in Paris is 08:00 UTC; a week later (summer time) 07:00 UTC.
    start = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    async with sessions.begin() as session:
        user = await make_user(session)
        await planning.add_blocks(session, user, [BlockSpec(0, time(9), 60)], start)
        [first] = await pending_pings(session, user)
        assert first.due_at == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
        assert await _deliver(session, user, first, first.due_at) is not None
        pings = await pending_pings(session, user)
    assert [(p.kind, p.due_at) for p in pings] == [
        ("plan_block_end", datetime(2027, 3, 22, 9, 0, tzinfo=UTC)),  # asked at 10:00 Paris
        ("plan_block", datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),  # 09:00 CEST
    ]


async def test_a_block_in_the_missing_hour_and_the_autumn_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        # Sunday 02:30 does not exist on 28 March 2027 in Paris: it rings at 03:30 CEST.
        await planning.add_blocks(
            session, user, [BlockSpec(6, time(2, 30), 30)], datetime(2027, 3, 22, tzinfo=UTC)
        )
        [ping] = await pending_pings(session, user)
        assert ping.due_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
        ping.status = OutboxStatus.SENT  # as the dispatcher did that Sunday
        await session.flush()
        # Sunday 31 October 2027, 02:30 happens twice: the first one (still summer time).
        await planning.replan(session, user, datetime(2027, 10, 25, tzinfo=UTC))
        [ping] = await pending_pings(session, user)
        assert ping.due_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


async def test_paused_late_and_changed_pings_are_dropped_but_the_chain_goes_on(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await planning.add_blocks(session, user, [BlockSpec(TUE, time(9), 60)], NOW)
        [row] = await pending_pings(session, user)
        user.paused_until = date(2026, 12, 5)
        assert await _deliver(session, user, row, row.due_at) is None
        [row] = await pending_pings(session, user)
        assert row.dedupe_key.endswith("2026-12-08:0900")  # next Tuesday, still planned
        user.paused_until = None
        # The dispatcher was down for the whole block: no "starts now" at 10:05.
        assert await _deliver(session, user, row, row.due_at + timedelta(minutes=65)) is None
        [row] = await pending_pings(session, user)
        assert row.dedupe_key.endswith("2026-12-15:0900")
        # The block was removed since: the ping is dropped and nothing more is planned.
        block = (await planning.blocks(session, user))[0]
        await session.delete(block)
        await session.flush()
        assert await _deliver(session, user, row, row.due_at) is None
        assert await pending_pings(session, user) == []
        sessions_made = (await session.execute(select(BlockSession))).scalars().all()
        assert sessions_made == []


async def test_answers_count_once_and_only_for_their_user(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        other = await make_user(session, telegram_id=2)
        await planning.add_blocks(session, user, [BlockSpec(TUE, time(9), 60)], NOW)
        [row] = await pending_pings(session, user)
        await _deliver(session, user, row, row.due_at)
        occurrence = await planning.after_block_started(session, user, row, row.due_at)
        assert occurrence is not None  # a retried after-send finds the same occurrence
        later = row.due_at + timedelta(hours=1)

        outcome, _ = await planning.answer(session, other, occurrence.id, BlockStatus.DONE, later)
        assert outcome == Outcome.STALE
        outcome, _ = await planning.answer(session, user, occurrence.id, BlockStatus.SKIPPED, later)
        assert outcome == Outcome.STORED
        outcome, _ = await planning.answer(session, user, occurrence.id, BlockStatus.DONE, later)
        assert outcome == Outcome.STALE
        outcome, _ = await planning.give_reason(session, user, occurrence.id, "nonsense", later)
        assert outcome == Outcome.STALE
        outcome, _ = await planning.give_reason(session, user, occurrence.id, "busy", later)
        assert outcome == Outcome.STORED
        outcome, _ = await planning.give_reason(session, user, occurrence.id, "other", later)
        assert outcome == Outcome.STALE
        stored = await session.get(BlockSession, occurrence.id)
        assert stored is not None and (stored.status, stored.reason) == ("skipped", "busy")
        # Answered before its end question went out: the question is cancelled.
        end_rows = [p for p in await pending_pings(session, user) if p.kind == "plan_block_end"]
        assert end_rows == []


# ----------------------------------------------------------------------------- adherence


def occurrence(day: int, status: str, reason: str | None = None) -> BlockSession:
    return BlockSession(
        user_id=1, local_date=date(2026, 11, day), start_time=time(9), status=status,
        reason=reason, created_at=NOW,
    )  # fmt: skip


def test_adherence_maths() -> None:
    result = planning.tally(
        [
            occurrence(2, "done"), occurrence(3, "done"), occurrence(9, "moved"),
            occurrence(10, "skipped", "busy"), occurrence(16, "skipped", "busy"),
            occurrence(17, "skipped"), occurrence(23, "pending"), occurrence(24, "done"),
        ]
    )  # fmt: skip
    assert (result.planned, result.done, result.moved, result.skipped, result.unanswered) == (
        8, 3, 1, 3, 1,
    )  # fmt: skip
    assert result.reasons == {"busy": 2, "other": 1}
    assert result.rate == pytest.approx(3 / 8)
    assert planning.tally([]).rate is None


async def test_adherence_over_a_date_range_and_the_last_four_weeks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        other = await make_user(session, telegram_id=2)
        for day, status in [(1, "done"), (3, "skipped"), (10, "done"), (24, "moved"), (27, "done")]:
            item = occurrence(day, status, "pipeline_full" if status == "skipped" else None)
            item.user_id = user.id
            session.add(item)
        stranger = occurrence(10, "skipped", "busy")
        stranger.user_id = other.id
        session.add(stranger)
        session.add(
            PlanBlock(user_id=user.id, weekday=0, start_time=time(9), duration_minutes=60,
                      created_at=NOW)
        )  # fmt: skip
        await session.flush()

        week = await planning.adherence(session, user.id, date(2026, 11, 1), date(2026, 11, 7))
        assert (week.planned, week.done, week.skipped) == (2, 1, 1)
        assert week.reasons == {"pipeline_full": 1}
        # Four weeks up to Friday 27 November: from Saturday 31 October.
        recent = await planning.recent_adherence(session, user, NOW)
        assert (recent.planned, recent.done, recent.moved, recent.skipped) == (5, 3, 1, 1)
        earlier = await planning.recent_adherence(session, user, NOW + timedelta(days=7))
        assert earlier.planned == 3


async def test_a_zone_change_drops_the_ping_planned_for_the_old_zone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await planning.add_blocks(session, user, [BlockSpec(TUE, time(9), 60)], NOW)
        [row] = await pending_pings(session, user)  # 09:00 Paris = 08:00 UTC
        user.timezone = "America/New_York"  # 09:00 there is 14:00 UTC: not now
        assert await _deliver(session, user, row, row.due_at) is None
        # The next ping is derived from the plan as it is: this week's new moment.
        [row] = await pending_pings(session, user)
        assert row.due_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
        await planning.replan(session, user, datetime(2026, 12, 1, 8, 0, 1, tzinfo=UTC))
        assert [p.due_at for p in await pending_pings(session, user)] == [row.due_at]
