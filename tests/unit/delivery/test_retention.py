"""Retention: old sent and cancelled scheduled messages and handled updates go, chunk by chunk;
pending, failed, recent and quarantined rows stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import inbox
from bot.db.models import InboundUpdate, OutboxMessage, OutboxStatus, User
from bot.delivery import retention

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


async def test_prune_keeps_what_is_recent_pending_or_failed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = (
        [("old-sent", OutboxStatus.SENT, OLD, OLD)] * 7
        + [("old-cancelled", OutboxStatus.CANCELLED, OLD, None)] * 5
        + [
            ("recent-sent", OutboxStatus.SENT, RECENT, RECENT),
            ("late-sent", OutboxStatus.SENT, OLD, RECENT),  # sent late: counted from its send
            ("recent-cancelled", OutboxStatus.CANCELLED, RECENT, None),
            ("old-failed", OutboxStatus.FAILED, OLD, None),
            ("old-pending", OutboxStatus.PENDING, OLD, None),
            ("old-claimed", OutboxStatus.CLAIMED, OLD, None),
        ]
    )
    async with sessions.begin() as session:
        user = User(telegram_id=1, chat_id=1, created_at=NOW, updated_at=NOW)
        session.add(user)
        await session.flush()
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "user_id": user.id, "kind": "checkin", "dedupe_key": f"{name}:{n}",
                    "due_at": due_at, "sent_at": sent_at, "payload": {}, "status": status,
                    "attempts": 1, "created_at": OLD,
                }
                for n, (name, status, due_at, sent_at) in enumerate(rows)
            ],
        )  # fmt: skip
        for n in range(1, 6):
            await inbox.store(session, n, {"update_id": n}, OLD)
        await inbox.mark_handled(session, [1, 2, 3], OLD)
        await inbox.mark_handled(session, [4], NOW - timedelta(days=1))
        quarantined = await session.get_one(InboundUpdate, 5)
        quarantined.quarantined_at = OLD
    pruned = await retention.prune(sessions, NOW, outbox_days=30, inbox_days=7, chunk=2)
    assert (pruned.outbox, pruned.inbox) == (12, 3)
    async with sessions.begin() as session:
        kept = (await session.execute(select(OutboxMessage.dedupe_key))).scalars()
        assert sorted(key.split(":")[0] for key in kept) == [
            "late-sent", "old-claimed", "old-failed", "old-pending", "recent-cancelled",
            "recent-sent",
        ]  # fmt: skip
        left = await session.execute(select(InboundUpdate.update_id).order_by("update_id"))
        assert list(left.scalars()) == [4, 5]
