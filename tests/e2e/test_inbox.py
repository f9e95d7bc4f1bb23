"""The webhook inbox: an update that cannot be read is quarantined, never blocks its batch, and
each stored update remembers its sender for /forget."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import inbox
from bot.db.models import InboundUpdate
from bot.delivery.inbox import InboxWorker
from bot.metrics import METRICS
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot


def help_update(update_id: int, telegram_id: int) -> dict[str, Any]:
    chat = {"id": telegram_id, "type": "private", "first_name": f"Owner {telegram_id}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": int(time.time()), "chat": chat,
            "from": {"id": telegram_id, "is_bot": False, "first_name": chat["first_name"]},
            "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }  # fmt: skip


async def test_an_unreadable_update_is_quarantined_and_the_rest_of_its_batch_is_handled(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    users = [sandbox.user(600 + i, first_name=f"Owner {600 + i}") for i in range(2)]
    stored = [
        (1, help_update(1, 600)),
        (2, {"update_id": 2, "message": "not an object"}),  # Update.de_json raises on it
        (3, help_update(3, 601)),
    ]
    data = bot.application.bot_data
    async with data.sessions.begin() as session:
        for update_id, payload in stored:
            assert await inbox.store(session, update_id, payload, data.clock.now())
    before = METRICS.updates_quarantined._value.get()
    worker = InboxWorker(bot.application, worker="test")
    assert await worker.drain_once() == 3
    for user in users:
        await user.wait_for(lambda m: "/checkin" in (m.get("text") or ""), timeout=10)
    for _ in range(inbox.MAX_ATTEMPTS - 1):  # the unreadable one comes back, alone, each time
        assert await worker.drain_once() == 1
    assert await worker.drain_once() == 0, "quarantined: never claimed again"
    await asyncio.gather(*worker._handling)
    async with engine.connect() as conn:
        rows = {
            r.update_id: r
            for r in (await conn.execute(select(InboundUpdate).order_by("update_id"))).all()
        }
    assert rows[1].handled_at is not None and rows[3].handled_at is not None
    assert rows[2].handled_at is None and rows[2].quarantined_at is not None
    assert rows[2].attempts == inbox.MAX_ATTEMPTS and "AttributeError" in rows[2].last_error
    assert (rows[1].telegram_user_id, rows[2].telegram_user_id, rows[3].telegram_user_id) == (
        600, None, 601,
    )  # fmt: skip
    assert METRICS.updates_quarantined._value.get() == before + 1
    async with data.sessions.begin() as session:
        assert await inbox.count_quarantined(session) == 1
