"""/goal through the sandbox: typed or guided, progress in check-ins and /log, celebrated once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Goal, User
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot, button_texts, say, tap

HOSTILE_REWARD = "<b>dîner</b> & 🍷"


async def goals_of(engine: AsyncEngine, telegram_id: int) -> list[Any]:
    async with engine.connect() as conn:
        user_id = (
            await conn.execute(select(User.id).where(User.telegram_id == telegram_id))
        ).scalar_one()
        rows = (await conn.execute(select(Goal.__table__).where(Goal.user_id == user_id))).all()
    return [Goal(**row._mapping) for row in rows]


async def test_goal_progress_in_checkin_and_log_celebrated_once(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # Wednesday
    user = sandbox.user(401, first_name="Sam", language_code="en")
    saved = await say(user, sandbox, "/goal 5 dinner out")
    assert "Goal set: 5 new contacts a week" in saved["text"] and "dinner out" in saved["text"]

    await say(user, sandbox, "/checkin")
    await tap(user, sandbox, "3")
    await tap(user, sandbox, "0")
    summary = await tap(user, sandbox, "0")  # no block planned: no block question
    assert "Weekly goal: ▰▰▰▰▰▰▱▱▱▱ 3/5, 2 to go for dinner out" in summary["text"]

    bot.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # Thursday
    crossed = await say(user, sandbox, "/log 2 calls")
    assert "🎉 Goal reached: 5 new contacts this week!" in crossed["text"]
    assert "You earned it: dinner out" in crossed["text"] and "try 6" in crossed["text"]
    overview = await say(user, sandbox, "/goal")
    assert "This week: ▰▰▰▰▰▰▰▰▰▰ 5/5" in overview["text"] and "🎉" not in overview["text"]
    assert button_texts(user, overview) == ["⬆️ Next week: 6", "✏️ Change", "⏹ Stop the goal"]
    raised = await tap(user, sandbox, "⬆️ Next week: 6", message=overview)
    assert "Goal set: 6 new contacts a week" in raised["text"] and "dinner out" in raised["text"]
    [old, new] = sorted(await goals_of(engine, 401), key=lambda g: g.id)
    assert (old.active, old.celebrated_week) == (False, date(2026, 11, 23))
    assert (new.active, new.weekly_contacts, new.reward) == (True, 6, "dinner out")

    stopped = await tap(user, sandbox, "⏹ Stop the goal", message=overview)
    assert "stale" not in stopped.get("text", "") and "Goal stopped" in stopped["text"]
    assert not any(g.active for g in await goals_of(engine, 401))


async def test_french_checkin_summary_crosses_the_line_once(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))  # Friday
    user = sandbox.user(402, first_name="Camille", language_code="fr")
    saved = await say(user, sandbox, f"/objectif 4 {HOSTILE_REWARD}")
    assert HOSTILE_REWARD in saved["text"]  # shown exactly as typed (escaped on the way)
    await say(user, sandbox, "/log 1 appel")
    await say(user, sandbox, "/checkin")
    await tap(user, sandbox, "3")
    await tap(user, sandbox, "1")
    summary = await tap(user, sandbox, "0")  # no block planned: no block question
    assert "🎉 Objectif atteint\u00a0: 4 nouveaux contacts cette semaine\u00a0!" in summary["text"]
    assert f"Vous l'avez mérité\u00a0: {HOSTILE_REWARD}" in summary["text"]
    assert "essayez 5" in summary["text"]

    again = await say(user, sandbox, "/checkin")  # already done: the summary, no second party
    assert "🎉" not in again["text"] and "4/4 ✓ atteint" in again["text"]
    [goal] = await goals_of(engine, 402)
    assert goal.celebrated_week == date(2026, 11, 23) and goal.reward == HOSTILE_REWARD


async def test_guided_goal_bad_input_and_restart(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    for number, (typed, words) in enumerate(
        (
            ("/goal 0 un resto", "Un objectif de 0"),
            ("/goal -3 un resto", "ne peut pas être négatif"),
            ("/goal 1001 un resto", "plus de 1\u202f000 par semaine"),
            ("/goal un resto", "Commencez par un nombre"),
            ("/goal 10 " + "x" * 201, "sous 200 caractères"),
        )
    ):
        # One chat each: Telegram's per-chat pace would otherwise make this loop slow.
        someone = sandbox.user(4030 + number, first_name="Eve", language_code="fr")
        reask = await say(someone, sandbox, typed)
        assert words in reask["text"] and "/objectif" in reask["text"], typed  # with an example
        assert await goals_of(engine, 4030 + number) == []  # nothing stored

    user = sandbox.user(403, first_name="Noor", language_code="fr")

    asked = await say(user, sandbox, "/objectif")
    assert "Combien de nouveaux contacts" in asked["text"]
    reask = await say(user, sandbox, "zéro")
    assert "Commencez par un nombre" in reask["text"]
    await bot.restart()
    sandbox.reset_flood()  # a real restart takes longer than Telegram's per-chat window
    reward = await say(user, sandbox, "12")
    assert "12 nouveaux contacts par semaine" in reward["text"] and "récompense" in reward["text"]
    await bot.restart()
    sandbox.reset_flood()
    reask = await say(user, sandbox, "y" * 201)
    assert "sous 200 caractères" in reask["text"]
    saved = await say(user, sandbox, "un week-end au vert")
    assert "Objectif fixé\u00a0: 12 nouveaux contacts par semaine" in saved["text"]
    [goal] = await goals_of(engine, 403)
    assert (goal.weekly_contacts, goal.reward, goal.active) == (12, "un week-end au vert", True)


async def test_change_cancel_and_a_number_alone(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(404, first_name="Ana", language_code="fr")
    await say(user, sandbox, "/goal 12 un week-end au vert")
    overview = await say(user, sandbox, "/goal")
    await tap(user, sandbox, "✏️ Modifier", message=overview)
    asked = await tap(user, sandbox, "15 par semaine")
    assert "15 nouveaux contacts" in asked["text"]
    cancelled = await tap(user, sandbox, "✖ Annuler")
    assert "rien n'a changé" in cancelled["text"]
    [goal] = await goals_of(engine, 404)
    assert goal.weekly_contacts == 12

    other = sandbox.user(405, first_name="Tom", language_code="en")
    asked = await say(other, sandbox, "/goal 8")  # a number alone asks for the reward
    assert "8 new contacts a week" in asked["text"] and "treat yourself" in asked["text"]
    saved = await say(other, sandbox, "a good book")
    assert "Goal set: 8 new contacts a week" in saved["text"] and "a good book" in saved["text"]
