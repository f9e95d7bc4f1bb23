"""The outbox: scheduling once per key, claiming due rows, retaking stale claims, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
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
    async with sessions.begin() as session:
        user = await make_user(session)
        for i in range(200):
            await outbox.schedule(
                session, user_id=user.id, kind="k", dedupe_key=f"k:{i}", due_at=NOW, now=NOW
            )

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
