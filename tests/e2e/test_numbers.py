"""Issue 12 through the sandbox: quotes are proposals counted once, Correct, reopen."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import ActivityEntry, OutboxMessage, User
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot, say, tap
from tests.e2e.test_checkin import checkins_of, onboard


async def proposals_today(engine: AsyncEngine, telegram_id: int) -> int:
    async with engine.connect() as conn:
        user_id = (
            await conn.execute(select(User.id).where(User.telegram_id == telegram_id))
        ).scalar_one()
        query = select(func.coalesce(func.sum(ActivityEntry.count), 0)).where(
            ActivityEntry.user_id == user_id, ActivityEntry.kind == "proposals"
        )
        return int((await conn.execute(query)).scalar_one())


async def test_three_quotes_and_a_checkin_record_three_proposals_once_then_correct(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))  # Tuesday
    user = sandbox.user(1201, first_name="Léa", language_code="fr")
    await onboard(user, sandbox, engine)
    for line in ("Dupont 4500 30j", "Martin 1200 15j", "3M Company 5000 30d"):
        await say(user, sandbox, f"/devis {line}")
    await say(user, sandbox, "/point")
    await tap(user, sandbox, "2")
    asked = await tap(user, sandbox, "1")
    assert "Déjà comptés\u00a0: 3 devis enregistrés" in asked["text"]
    summary = await tap(user, sandbox, "0")  # nothing more than the three quotes
    assert "Devis envoyés\u00a0: 3" in summary["text"]
    [checkin] = await checkins_of(engine, 1201)
    assert (checkin.contacts, checkin.meetings, checkin.proposals) == (2, 1, 0)
    assert await proposals_today(engine, 1201) == 3

    # ✏️ Correct: the new answers replace the old ones.
    again = await tap(user, sandbox, "✏️ Corriger")
    assert "Corrigeons" in again["text"]
    await say(user, sandbox, "4")
    await say(user, sandbox, "deux")
    fixed = await say(user, sandbox, "1")
    assert "Devis envoyés\u00a0: 4" in fixed["text"]
    [checkin] = await checkins_of(engine, 1201)
    assert (checkin.contacts, checkin.meetings, checkin.proposals) == (4, 2, 1)


async def test_a_reopened_quote_gets_its_reminders_back(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    user = sandbox.user(1202, first_name="Sam", language_code="en")
    await onboard(user, sandbox, engine, zone="London")
    await say(user, sandbox, "/quote Dupont 4500 30d")

    async def pending() -> int:
        async with engine.connect() as conn:
            query = select(func.count()).where(
                OutboxMessage.kind == "quote_reminder", OutboxMessage.status == "pending"
            )
            return int((await conn.execute(query)).scalar_one())

    planned = await pending()
    assert planned > 0
    await say(user, sandbox, "/quotes")
    await tap(user, sandbox, "✅ 1")
    assert await pending() == 0
    closed = await tap(user, sandbox, "↩️ Closed quotes")
    assert "Dupont" in closed["text"]
    reopened = await tap(user, sandbox, "↩️ Reopen 1")
    assert "Reopened" in reopened["text"]
    assert await pending() == planned
    again = await say(user, sandbox, "/quote Dupont 4500 30d")  # the same quote: asks first
    assert "Register it again?" in again["text"]
    huge = await say(user, sandbox, "/quote Big 12 000 000 000 € 30d")
    assert "Is that amount right" in huge["text"]
