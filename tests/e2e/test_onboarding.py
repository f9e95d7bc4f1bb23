"""Onboarding and settings through the sandbox, in English and French, taps and typing."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Dialog, OutboxMessage, User
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot, button_texts, say, tap


async def load_user(engine: AsyncEngine, telegram_id: int) -> User:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(User.__table__).where(User.telegram_id == telegram_id))
        ).one()
    return User(**row._mapping)


async def test_onboarding_by_taps_in_english(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(101, first_name="Sam <b>&", language_code="en-US")
    welcome = await say(user, sandbox, "/start")
    assert "Hello Sam <b>&!" in welcome["text"]  # the name shows exactly as typed
    assert "What time should I check in" in welcome["text"]
    assert button_texts(user, welcome)[:4] == ["08:00", "09:00", "12:00", "17:30"]

    zone_question = await tap(user, sandbox, "08:00")
    assert "time zone" in zone_question["text"]
    days_question = await tap(user, sandbox, "New York")
    assert "✅ Mon" in button_texts(user, days_question) and "▫️ Sat" in button_texts(
        user, days_question
    )
    days_question = await tap(user, sandbox, "✅ Fri")
    assert "▫️ Fri" in button_texts(user, days_question)
    done = await tap(user, sandbox, "Done ✓")
    assert "All set" in done["text"] and "First check-in" in done["text"]

    stored = await load_user(engine, 101)
    assert stored.checkin_time == time(8, 0)
    assert stored.timezone == "America/New_York"
    assert stored.checkin_days == 0b0001111  # Monday to Thursday
    assert stored.onboarded_at is not None
    async with engine.connect() as conn:
        outbox_rows = (await conn.execute(select(OutboxMessage.__table__))).all()
    # The next check-in and the next Monday review, planned from the answers.
    assert sorted(row.kind for row in outbox_rows) == [
        "checkin", "weekly_review", "weekly_review_details"
    ]


async def test_onboarding_typed_in_french_with_bad_input_reasked(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(102, first_name="Camille", language_code="fr")
    welcome = await say(user, sandbox, "/start")
    assert "Bonjour Camille\u00a0!" in welcome["text"]
    assert "Autre…" in button_texts(user, welcome)

    reask = await say(user, sandbox, "vers midi")
    assert "Je n'ai pas reconnu une heure" in reask["text"]
    assert (await load_user(engine, 102)).checkin_time == time(9, 0)  # nothing stored

    zone_question = await say(user, sandbox, "7h45")
    assert "fuseau horaire" in zone_question["text"]
    assert "Paris" in button_texts(user, zone_question)
    assert "Je ne connais pas ce fuseau" in (await say(user, sandbox, "Atlantide"))["text"]
    days = await say(user, sandbox, "Montréal")
    assert "Quels jours" in days["text"]
    assert "Je n'ai pas reconnu ces jours" in (await say(user, sandbox, "parfois"))["text"]
    done = await say(user, sandbox, "lun, mer, ven")
    assert "C'est réglé" in done["text"]

    stored = await load_user(engine, 102)
    assert (stored.checkin_time, stored.timezone, stored.checkin_days) == (
        time(7, 45),
        "America/Montreal",
        0b0010101,
    )
    assert stored.language == "fr" and stored.currency == "EUR"


async def test_settings_change_language_and_time(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(103, first_name="Ana", language_code="en")
    await say(user, sandbox, "/start")
    await tap(user, sandbox, "09:00")
    await tap(user, sandbox, "London")
    await tap(user, sandbox, "Done ✓")

    menu = await say(user, sandbox, "/settings")
    assert "Your settings" in menu["text"]
    question = await tap(user, sandbox, "🗣 Language")
    assert "Which language" in question["text"]
    menu = await tap(user, sandbox, "Français")
    assert "Vos réglages" in menu["text"]  # the reply is already in the new language
    await tap(user, sandbox, "⏰ Heure du point")
    await tap(user, sandbox, "Autre…")
    menu = await say(user, sandbox, "18h15")
    assert "18\xa0h\xa015" in menu["text"]  # French writes "18 h 15"

    stored = await load_user(engine, 103)
    assert stored.language == "fr" and stored.checkin_time == time(18, 15)
    async with engine.connect() as conn:
        assert (await conn.execute(select(Dialog.__table__))).all() == []


async def test_a_stale_button_only_loses_its_keyboard(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(104, first_name="Lee", language_code="en")
    welcome = await say(user, sandbox, "/start")
    await tap(user, sandbox, "09:00", message=welcome)
    # The time question's message was edited into the zone question; an old copy of its
    # keyboard (a replayed payload) must not change the stored time.
    await user.press(welcome["message_id"], "pref:time:1730")
    await sandbox.wait_idle(timeout=5)
    assert (await load_user(engine, 104)).checkin_time == time(9, 0)


async def test_restart_mid_onboarding_resumes_at_the_same_step(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(105, first_name="Noor", language_code="en")
    await say(user, sandbox, "/start")
    await tap(user, sandbox, "12:00")
    await bot.restart()
    # Typed input goes to the zone question the user was on before the restart.
    days = await say(user, sandbox, "Europe/Berlin")
    assert "On which days" in days["text"]
    resumed = await say(user, sandbox, "/start")
    assert "On which days" in resumed["text"]
    await tap(user, sandbox, "Done ✓")
    stored = await load_user(engine, 105)
    assert stored.timezone == "Europe/Berlin" and stored.checkin_time == time(12, 0)
