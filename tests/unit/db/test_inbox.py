"""The webhook inbox: sender kept for /forget, crash loops quarantined, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import inbox
from bot.db.models import InboundUpdate

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
PRIVATE = {"id": 42, "type": "private"}


def test_the_sender_is_read_from_any_kind_of_update() -> None:
    assert inbox.sender_of({"update_id": 1, "message": {"from": {"id": 42}, "chat": PRIVATE}}) == 42
    assert inbox.sender_of({"update_id": 1, "callback_query": {"from": {"id": 7}}}) == 7
    assert inbox.sender_of({"update_id": 1, "poll_answer": {"user": {"id": 8}}}) == 8
    assert inbox.sender_of({"update_id": 1, "edited_message": {"chat": PRIVATE}}) == 42
    group = {"id": -100, "type": "group"}
    assert inbox.sender_of({"update_id": 1, "message": {"chat": group}}) is None
    assert inbox.sender_of({"update_id": 1, "message": {"from": {"id": "42"}}}) is None
    assert inbox.sender_of({"update_id": 1, "message": "not an object"}) is None


async def test_an_update_whose_handling_never_ends_is_quarantined_after_a_few_claims(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await inbox.store(session, 1, {"update_id": 1}, NOW)
        await inbox.store(session, 2, {"update_id": 2}, NOW)
    now = NOW
    for attempt in range(inbox.MAX_ATTEMPTS):
        now += inbox.STALE_CLAIM + timedelta(seconds=1)  # the claimer died each time
        async with sessions.begin() as session:
            assert await inbox.quarantine_exhausted(session, now) == 0
            claimed = await inbox.claim(session, now=now, worker="w", limit=1)
            assert [row.update_id for row in claimed] == [1]
            assert claimed[0].attempts == attempt + 1
    now += inbox.STALE_CLAIM + timedelta(seconds=1)
    async with sessions.begin() as session:
        assert await inbox.quarantine_exhausted(session, now) == 1
        claimed = await inbox.claim(session, now=now, worker="w", limit=10)
        assert [row.update_id for row in claimed] == [2], "the next update is not held up"
        assert await inbox.count_quarantined(session) == 1
        row = await session.get_one(InboundUpdate, 1)
        assert row.quarantined_at == now and row.handled_at is None and row.last_error


async def test_prune_deletes_old_handled_updates_only_in_chunks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for n in range(1, 8):
            await inbox.store(session, n, {"update_id": n}, NOW)
        await inbox.mark_handled(session, [1, 2, 3, 4, 5], NOW)  # 6 and 7 are not handled
        await inbox.mark_handled(session, [5], NOW + timedelta(days=3))
    cutoff = NOW + timedelta(days=1)
    async with sessions.begin() as session:
        assert await inbox.prune(session, cutoff, limit=3) == 3
    async with sessions.begin() as session:
        assert await inbox.prune(session, cutoff, limit=3) == 1
        assert await inbox.prune(session, cutoff, limit=3) == 0
        left = await session.execute(select(InboundUpdate.update_id).order_by("update_id"))
        assert list(left.scalars()) == [5, 6, 7]
        assert await session.scalar(select(func.count()).select_from(InboundUpdate)) == 3
