"""Useful from day one: a new owner gives their usual week at onboarding, has a slow first week,
and is coached that same week; the separating question settles an unsure verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Diagnosis, UsualPace
from bot.sandbox import BotApiSandbox, SandboxUser
from tests.e2e.conftest import Bot, button_texts, say, tap

MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Paris
BLOCK_SKIPPED = "❌ No"


async def answer_checkin(
    user: SandboxUser, sandbox: BotApiSandbox, contacts: str, reason: str
) -> None:
    await say(user, sandbox, "/checkin")
    await say(user, sandbox, contacts)  # typed answers: each question comes as it is asked
    await say(user, sandbox, "3")  # meetings
    why = await say(user, sandbox, "1")  # proposals
    # No plan, so no block question: under half the usual week the owner gave, "why?" comes.
    assert BLOCK_SKIPPED not in button_texts(user, why) and reason in button_texts(user, why)
    summary = await tap(user, sandbox, reason)
    assert "Thanks" in summary["text"]


async def onboard_with_pace(user: SandboxUser, sandbox: BotApiSandbox, pace: str) -> None:
    await say(user, sandbox, "/start")
    await tap(user, sandbox, "09:00")
    await say(user, sandbox, "Paris")
    done = await tap(user, sandbox, "Done ✓")
    assert "All set" in done["text"] and "usual week" in done["text"]
    assert pace in button_texts(user, done) and "🔎 Take the quiz" in button_texts(user, done)
    saved = await tap(user, sandbox, pace)
    assert "Noted: about 15 new contacts in a usual week" in saved["text"]
    assert "3 more check-ins and I can compare your pace with it" in saved["text"]


async def test_a_slow_first_week_is_coached_in_that_week(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(MONDAY)
    user = sandbox.user(901, first_name="Lou", language_code="en")
    await onboard_with_pace(user, sandbox, "About 15")
    async with engine.connect() as conn:
        assert (await conn.execute(select(UsualPace.weekly_contacts))).scalar_one() == 15

    # Monday to Wednesday: one new contact a day instead of three, busy delivering.
    for day in range(3):
        bot.clock.set(MONDAY + timedelta(days=day, hours=2))
        await answer_checkin(user, sandbox, contacts="1", reason="I didn't set time aside")
        user.skip_pending()
        await bot.tick()
        user.skip_pending()  # a nudge, read later from the transcript

    nudges = [m for m in user.messages if "prospecting has slowed down" in m.get("text", "")]
    assert len(nudges) == 1, [m.get("text") for m in user.messages]
    text = nudges[0]["text"]
    assert "the usual pace you gave me (15 a week)" in text
    assert "New contacts: 3 over your last 3 reported days" in text and "(-67%)" in text
    assert "I didn't set time aside" in text and "unnoticed" in text
    assert "busier" not in text  # no meetings baseline yet: never claimed
    async with engine.connect() as conn:
        verdicts = (await conn.execute(select(Diagnosis.verdict, Diagnosis.source))).all()
    assert ("unaware", "data") in [tuple(v) for v in verdicts]
