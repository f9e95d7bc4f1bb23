"""The outbox: scheduling once per key, claiming due rows, retaking stale claims, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import outbox
from bot.db.models import OutboxMessage, OutboxStatus, User

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def make_user(session: AsyncSession, telegram_id: int = 1) -> User:
    user = User(telegram_id=telegram_id, chat_id=telegram_id, created_at=NOW, updated_at=NOW)
    session.add(user)
    await session.flush()
    return user


async def test_a_dedupe_key_schedules_once_and_moves_a_pending_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        for minutes in (0, 5, 10):
            await outbox.schedule(
                session, user_id=user.id, kind="checkin", dedupe_key="checkin:1:2026-11-27",
                due_at=NOW + timedelta(minutes=minutes), now=NOW,
            )  # fmt: skip
    async with sessions.begin() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert len(rows) == 1
    assert rows[0].due_at == NOW + timedelta(minutes=10)
    assert rows[0].status == OutboxStatus.PENDING


async def test_a_sent_row_is_never_scheduled_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await outbox.schedule(
            session, user_id=user.id, kind="k", dedupe_key="k:1", due_at=NOW, now=NOW
        )
        [row] = await outbox.claim_due(session, now=NOW, worker="a", limit=10)
        row.status = OutboxStatus.SENT
    async with sessions.begin() as session:
        await outbox.schedule(
            session, user_id=user.id, kind="k", dedupe_key="k:1", due_at=NOW, now=NOW
        )
        assert await outbox.claim_due(session, now=NOW, worker="a", limit=10) == []


async def test_claim_takes_due_rows_oldest_first_and_only_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        for i in range(5):
            await outbox.schedule(
                session, user_id=user.id, kind="k", dedupe_key=f"k:{i}",
                due_at=NOW - timedelta(minutes=i), now=NOW,
            )  # fmt: skip
        await outbox.schedule(
            session,
            user_id=user.id,
            kind="k",
            dedupe_key="later",
            due_at=NOW + timedelta(hours=1),
            now=NOW,
        )
    async with sessions.begin() as session:
        first = await outbox.claim_due(session, now=NOW, worker="a", limit=3)
    async with sessions.begin() as session:
        second = await outbox.claim_due(session, now=NOW, worker="b", limit=10)
    assert [r.dedupe_key for r in first] == ["k:4", "k:3", "k:2"]
    assert [r.dedupe_key for r in second] == ["k:1", "k:0"]
    assert all(r.status == OutboxStatus.CLAIMED and r.attempts == 1 for r in first + second)


async def test_a_stale_claim_is_retaken_and_the_old_worker_loses_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await outbox.schedule(
            session, user_id=user.id, kind="k", dedupe_key="k", due_at=NOW, now=NOW
        )
        [row] = await outbox.claim_due(session, now=NOW, worker="dead", limit=10)
    async with sessions.begin() as session:
        assert (
            await outbox.claim_due(session, now=NOW + timedelta(minutes=1), worker="b", limit=10)
            == []
        )
    later = NOW + outbox.STALE_CLAIM + timedelta(seconds=1)
    async with sessions.begin() as session:
        [retaken] = await outbox.claim_due(session, now=later, worker="b", limit=10)
        assert retaken.id == row.id and retaken.attempts == 2
    async with sessions.begin() as session:
        assert await outbox.get_claimed(session, row.id, "dead") is None
        assert await outbox.get_claimed(session, row.id, "b") is not None


async def test_cancel_by_kind_and_prefix(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        other = await make_user(session, telegram_id=2)
        rows = [
            ("quote:1:7d", "quote", user),
            ("quote:1:2d", "quote", user),
            ("checkin:1", "checkin", user),
            ("quote:2:7d", "quote", other),
        ]
        for key, kind, owner in rows:
            await outbox.schedule(
                session, user_id=owner.id, kind=kind, dedupe_key=key, due_at=NOW, now=NOW
            )
        assert await outbox.cancel(session, user_id=user.id, key_prefix="quote:1:") == 2
        assert await outbox.cancel(session, user_id=user.id, kinds=["checkin"]) == 1
        pending = await session.scalar(
            select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    assert pending == 1  # the other user's row is untouched


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_concurrent_claimers_never_share_a_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Forty owners: one owner's rows go a few per claim (fairness), so claimers run side by
    # side on different owners' rows.
    async with sessions.begin() as session:
        users = [await make_user(session, telegram_id=n) for n in range(1, 41)]
        for i in range(200):
            await outbox.schedule(
                session, user_id=users[i % 40].id, kind="k", dedupe_key=f"k:{i}", due_at=NOW,
                now=NOW,
            )  # fmt: skip

    async def claimer(name: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with sessions.begin() as session:
                rows = await outbox.claim_due(session, now=NOW, worker=name, limit=7)
                await asyncio.sleep(0.01)  # hold the locks a moment so the claimers overlap
            if not rows:
                return taken
            taken += [r.id for r in rows]

    results = await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    everything = [row_id for taken in results for row_id in taken]
    assert len(everything) == 200 and len(set(everything)) == 200
    assert sum(1 for taken in results if taken) >= 2  # they really ran side by side


async def seed_due(
    sessions: async_sessionmaker[AsyncSession], rows: list[tuple[int, str, datetime]]
) -> None:
    """Pending rows (owner's Telegram id, kind, due at), inserted in bulk."""
    async with sessions.begin() as session:
        owners = {tid: await make_user(session, telegram_id=tid) for tid in {r[0] for r in rows}}
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "user_id": owners[tid].id, "kind": kind, "dedupe_key": f"{kind}:{tid}:{n}",
                    "due_at": due_at, "payload": {}, "status": OutboxStatus.PENDING,
                    "attempts": 0, "created_at": NOW,
                }
                for n, (tid, kind, due_at) in enumerate(rows)
            ],
        )  # fmt: skip


async def owners_of(session: AsyncSession, rows: list[OutboxMessage]) -> list[int]:
    users = {u.id: u.telegram_id for u in (await session.execute(select(User))).scalars()}
    return [users[r.user_id] for r in rows]


async def test_one_owner_with_a_thousand_due_rows_cannot_starve_the_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The flooder's rows are older than everyone else's: oldest-first alone would starve them.
    flood = [(1, "quote_reminder", NOW - timedelta(hours=2)) for _ in range(1000)]
    others = [(1000 + n, "checkin", NOW) for n in range(200)]
    await seed_due(sessions, flood + others)
    claimed_others: set[int] = set()
    batches = 0
    while len(claimed_others) < 200:
        async with sessions.begin() as session:
            rows = await outbox.claim_due(session, now=NOW, worker="a", limit=60)
            owners = await owners_of(session, rows)
        batches += 1
        assert owners.count(1) == outbox.PER_USER_CLAIM
        assert len(rows) == min(60, 200 - len(claimed_others) + outbox.PER_USER_CLAIM)
        claimed_others |= {o for o in owners if o != 1}
    assert batches == 4  # 57 others a batch: 200 owners in four claims, not after 1,000 rows


async def test_urgent_kinds_are_claimed_before_deferrable_ones_then_oldest_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = [
        (1, "weekly_review", NOW - timedelta(hours=3)),
        (2, "coach_nudge", NOW - timedelta(hours=2)),
        (3, "checkin", NOW - timedelta(minutes=1)),
        (4, "quote_reminder", NOW - timedelta(minutes=5)),
        (5, "plan_block", NOW),
        (6, "checkin_follow_up", NOW - timedelta(hours=1)),
        (7, "checkin", NOW + timedelta(minutes=1)),  # not due yet
    ]
    await seed_due(sessions, rows)
    async with sessions.begin() as session:
        first = await owners_of(
            session, await outbox.claim_due(session, now=NOW, worker="a", limit=3)
        )
    async with sessions.begin() as session:
        rest = await owners_of(
            session, await outbox.claim_due(session, now=NOW, worker="a", limit=9)
        )
    assert first == [4, 3, 5]
    assert rest == [1, 2, 6]


async def test_an_owner_being_sent_to_is_skipped_and_each_owner_gets_a_few_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_due(sessions, [(tid, "checkin", NOW) for tid in (1, 2) for _ in range(5)])
    async with sessions.begin() as session:
        busy = (await session.execute(select(User.id).where(User.telegram_id == 1))).scalar_one()
        rows = await outbox.claim_due(
            session, now=NOW, worker="a", limit=60, skip_users={busy}, per_user=2
        )
        assert await owners_of(session, rows) == [2, 2]


async def test_the_urgent_kinds_are_the_services_names() -> None:
    from bot.services import checkins, planning, quotes

    assert {
        checkins.CHECKIN_KIND, quotes.REMINDER_KIND, planning.BLOCK_START_KIND,
        planning.BLOCK_END_KIND,
    } == outbox.URGENT_KINDS  # fmt: skip


async def test_one_owners_rows_keep_their_order_and_their_urgency_serves_them_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Owner 1: Monday's review just before the check-in (the review goes first, in their chat).
    rows = [
        (1, "weekly_review", NOW - timedelta(seconds=2)),
        (1, "checkin", NOW - timedelta(seconds=1)),
        (2, "coach_nudge", NOW - timedelta(hours=1)),
    ]
    await seed_due(sessions, rows)
    async with sessions.begin() as session:
        claimed = await outbox.claim_due(session, now=NOW, worker="a", limit=2)
        assert [r.kind for r in claimed] == ["weekly_review", "checkin"]
