"""Fairness of the outbox: one owner's backlog never holds back everyone else's check-ins.

The bot runs as a real subprocess against the sandbox, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time as clock
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import OutboxMessage, OutboxStatus, Quote, QuoteStatus, User
from bot.sandbox import BotApiSandbox
from tests.e2e.processes import BotProcess, bot_env
from tests.e2e.test_replicas import lenient_sandbox  # noqa: F401 (a fixture)

FLOODER = 7_000
OTHERS = range(10_000, 10_200)


def owner(telegram_id: int, now: datetime) -> dict[str, object]:
    return {
        "telegram_id": telegram_id, "chat_id": telegram_id, "first_name": f"Owner {telegram_id}",
        "language": "en", "timezone": "UTC", "checkin_time": time(0, 0),
        "checkin_days": 0b1111111, "currency": "EUR", "onboarded_at": now, "created_at": now,
        "updated_at": now,
    }  # fmt: skip


async def seed(engine: AsyncEngine, sandbox: BotApiSandbox, now: datetime) -> None:
    """A flooder with 1,000 quote reminders due (older than anything else), and 200 owners
    whose check-in is due now."""
    for chat_id in [FLOODER, *OTHERS]:
        sandbox.user(chat_id, first_name=f"Owner {chat_id}")
    today = now.date()
    async with engine.begin() as conn:
        await conn.execute(insert(User), [owner(i, now) for i in [FLOODER, *OTHERS]])
        ids = dict((await conn.execute(select(User.telegram_id, User.id))).all())
        expires = today + timedelta(days=2)
        await conn.execute(
            insert(Quote),
            [
                {
                    "user_id": ids[FLOODER], "client": f"Client {n}", "amount": Decimal(100 + n),
                    "currency": "EUR", "sent_on": today, "expires_on": expires,
                    "status": QuoteStatus.OPEN, "created_at": now, "updated_at": now,
                }
                for n in range(1000)
            ],
        )  # fmt: skip
        quotes = (await conn.execute(select(Quote.id).where(Quote.user_id == ids[FLOODER]))).all()
        reminders = [
            {
                "user_id": ids[FLOODER], "kind": "quote_reminder",
                "dedupe_key": f"quote:{quote_id}:{expires.isoformat()}:d2",
                "due_at": now - timedelta(minutes=1),
                "payload": {"quote_id": quote_id, "which": "d2", "expires_on": expires.isoformat()},
            }
            for (quote_id,) in quotes
        ]  # fmt: skip
        checkins = [
            {
                "user_id": ids[i], "kind": "checkin", "dedupe_key": f"checkin:{ids[i]}:{today}",
                "due_at": now, "payload": {"date": today.isoformat()},
            }
            for i in OTHERS
        ]  # fmt: skip
        await conn.execute(
            insert(OutboxMessage),
            [
                {**row, "status": OutboxStatus.PENDING, "attempts": 0, "created_at": now}
                for row in reminders + checkins
            ],
        )


async def test_one_owners_thousand_due_rows_do_not_delay_two_hundred_checkins(
    engine: AsyncEngine,
    database_url: str,
    lenient_sandbox: BotApiSandbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    sandbox = lenient_sandbox
    now = datetime.now(UTC).replace(microsecond=0)
    due = clock.monotonic()  # the sandbox's clock, at the check-ins' due time
    await seed(engine, sandbox, now)
    env = bot_env(sandbox, database_url, DISPATCH_INTERVAL_SECONDS="0.5", LOG_LEVEL="INFO")
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    try:
        deadline = due + 90
        while clock.monotonic() < deadline:
            reached = {s.chat_id for s in sandbox.sends if s.chat_id in OTHERS}
            if len(reached) == len(OTHERS):
                break
            await asyncio.sleep(0.25)
    finally:
        await bot.stop()
    first_send = {}
    for send in sandbox.sends:
        first_send.setdefault(send.chat_id, send.time)
    late = {chat: first_send.get(chat) for chat in OTHERS if first_send.get(chat, 1e18) > due + 60}
    assert not late, f"check-ins later than a minute: {len(late)}"
    flooder = sum(1 for s in sandbox.sends if s.chat_id == FLOODER)
    assert flooder >= 3, "the flooder is served too, a few at a time"
    assert sandbox.max_sends_in_window(1.0) <= 30
    assert sandbox.max_sends_in_window(1.0, FLOODER) <= 1
