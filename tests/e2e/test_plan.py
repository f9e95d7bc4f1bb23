"""/plan through the sandbox: typed and guided (across restarts), the .ics, pings and answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import BlockSession, OutboxMessage, OutboxStatus, PlanBlock, User
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot, button_texts, say, tap


async def rows_of(engine: AsyncEngine, model: Any, telegram_id: int) -> list[Any]:
    async with engine.connect() as conn:
        user_id = (
            await conn.execute(select(User.id).where(User.telegram_id == telegram_id))
        ).scalar_one()
        rows = (await conn.execute(select(model.__table__).where(model.user_id == user_id))).all()
    return [model(**row._mapping) for row in rows]


def calendar_of(sandbox: BotApiSandbox, message: dict[str, Any]) -> Calendar:
    stored = sandbox.file_of(message)
    assert stored.filename == "prospecting-plan.ics" and stored.data is not None
    return Calendar.from_ical(stored.data)


async def test_typed_plan_in_french_calendar_pings_and_answers(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    # Three chats side by side (each chat has its own pace of one message a second).
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))  # Friday, 09:00 in Paris
    typo = sandbox.user(300, first_name="Léa", language_code="fr")
    bad = await say(typo, sandbox, "/plan demain 9h-10h")
    assert "🤔" in bad["text"] and "/planifier mardi jeudi 9h-10h" in bad["text"]
    assert await rows_of(engine, PlanBlock, 300) == []  # nothing stored

    user = sandbox.user(301, first_name="Camille", language_code="fr")
    saved = await say(user, sandbox, "/plan mardi jeudi 9h-10h")
    assert "2 créneaux ajoutés" in saved["text"]
    assert "mardi 9\xa0h–10\xa0h" in saved["text"] and "jeudi 9\xa0h–10\xa0h" in saved["text"]
    document = await user.next_message(timeout=5)
    assert "fichier agenda" in document["caption"]
    events = calendar_of(sandbox, document).walk("VEVENT")
    assert len(events) == 2
    assert {e["DTSTART"].params["TZID"] for e in events} == {"Europe/Paris"}
    assert sorted(e["RRULE"]["BYDAY"][0] for e in events) == ["TH", "TU"]
    assert {str(e["SUMMARY"]) for e in events} == {"Prospection — rendez-vous avec vous-même"}
    keen = sandbox.user(302, first_name="Hugo", language_code="fr")
    await say(keen, sandbox, "/plan mar 9h 1h")
    await keen.next_message(timeout=5)

    # Tuesday 1 December: nothing at 08:59 Paris, the ping at 09:00.
    bot.clock.set(datetime(2026, 12, 1, 7, 59, tzinfo=UTC))
    await bot.tick()
    assert user.last_message is not None
    assert user.last_message["message_id"] == document["message_id"]
    bot.clock.set(datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC))
    await bot.tick()
    ping = await user.next_message(timeout=5)
    assert "créneau de prospection commence maintenant" in ping["text"]
    assert "9\xa0h–10\xa0h" in ping["text"] and "rendez-vous avec vous-même" in ping["text"]
    await keen.next_message(timeout=5)

    bot.clock.set(datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC))  # 10:00 Paris, the block's end
    await bot.tick()
    asked = await user.next_message(timeout=5)
    assert "A-t-il eu lieu" in asked["text"]
    assert button_texts(user, asked) == ["✅ Fait", "↪️ Déplacé", "❌ Pas fait"]
    why = await tap(user, sandbox, "❌ Pas fait")
    assert "Qu'est-ce qui l'a empêché" in why["text"]
    answered = await tap(user, sandbox, "Je n'ai pas bloqué de temps")
    assert "ajoutez-le à votre agenda" in answered["text"]
    await user.press(asked, "✅ Fait")  # an old keyboard changes nothing
    await sandbox.wait_idle(timeout=5)
    await keen.next_message(timeout=5)
    kept = await tap(keen, sandbox, "✅ Fait")
    assert "Créneau tenu" in kept["text"] and "1 créneau tenu sur 1" in kept["text"]

    [skipped] = await rows_of(engine, BlockSession, 301)
    assert (skipped.local_date.day, skipped.status, skipped.reason) == (
        1, "skipped", "no_time_set_aside",
    )  # fmt: skip
    [done] = await rows_of(engine, BlockSession, 302)
    assert (done.status, done.reason) == ("done", None)
    overview = await say(user, sandbox, "/plan")
    assert (
        "Sur 4 semaines\u00a0: 0 sur 1 créneau tenu (0\u00a0%), 1 sauté" in overview["text"]
    )
    assert "Prochain créneau\u00a0: jeudi 3 décembre 2026 à 9\xa0h" in overview["text"]


async def test_guided_plan_survives_restarts_and_rejects_bad_input(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(302, first_name="Sam", language_code="en")
    asked = await say(user, sandbox, "/plan")
    assert "Which days?" in asked["text"]
    await tap(user, sandbox, "▫️ Tue")
    await tap(user, sandbox, "▫️ Thu")
    await bot.restart()
    sandbox.reset_flood()  # a real restart takes longer than Telegram's per-chat window
    start = await tap(user, sandbox, "Done ✓")
    assert "What time do they start?" in start["text"] and "Tuesday and Thursday" in start["text"]
    reask = await say(user, sandbox, "whenever")
    assert (
        "couldn't read that time" in reask["text"] and "What time do they start?" in reask["text"]
    )
    duration = await say(user, sandbox, "8:30")
    assert "How long?" in duration["text"] and "08:30" in duration["text"]
    await bot.restart()
    sandbox.reset_flood()  # a real restart takes longer than Telegram's per-chat window
    reask = await say(user, sandbox, "5 min")
    assert "Under 15 minutes" in reask["text"]
    assert await rows_of(engine, PlanBlock, 302) == []

    before = len(user.messages)
    await user.press(reask, "45 min")
    document = await user.wait_for(lambda m: "document" in m, timeout=10)
    await sandbox.wait_idle(timeout=5)
    user.skip_pending()
    saved = user.messages[before - 1]  # the question, edited into the confirmation
    assert "Saved: 2 blocks added" in saved["text"], saved
    assert "Tuesday 08:30–09:15" in saved["text"]
    [event, _] = calendar_of(sandbox, document).walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.decoded("DURATION") == timedelta(minutes=45)
    blocks = await rows_of(engine, PlanBlock, 302)
    assert sorted((b.weekday, b.start_time, b.duration_minutes) for b in blocks) == [
        (1, time(8, 30), 45),
        (3, time(8, 30), 45),
    ]

    # Add, then cancel: nothing changes.
    await tap(user, sandbox, "➕ Add blocks", message=saved)
    cancelled = await tap(user, sandbox, "✖ Cancel")
    assert "unchanged" in cancelled["text"]
    assert len(await rows_of(engine, PlanBlock, 302)) == 2
    not_understood = await say(user, sandbox, "tue 9-10")
    assert "Saved" not in not_understood["text"]


async def test_calendar_button_remove_and_clear(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(303, first_name="Lee", language_code="en")
    overview = await say(user, sandbox, "/plan mon wed 14:00 90min")
    await user.next_message(timeout=5)  # the calendar file
    assert button_texts(user, overview) == [
        "➕ Add blocks", "✖ Mon 14:00", "✖ Wed 14:00", "📅 Calendar file", "🗑 Clear",
    ]  # fmt: skip
    await user.press(overview, "📅 Calendar file")
    document = await user.next_message(timeout=5)
    assert len(calendar_of(sandbox, document).walk("VEVENT")) == 2
    await sandbox.wait_idle(timeout=5)

    removed = await tap(user, sandbox, "✖ Mon 14:00", message=overview)
    assert "Block removed" in removed["text"] and "Monday" not in removed["text"]
    pings = [p for p in await rows_of(engine, OutboxMessage, 303) if p.kind == "plan_block"]
    assert sorted(p.status for p in pings) == [OutboxStatus.CANCELLED, OutboxStatus.PENDING]

    confirm = await tap(user, sandbox, "🗑 Clear", message=removed)
    assert "Clear your whole plan?" in confirm["text"]
    cleared = await tap(user, sandbox, "🗑 Yes, clear it")
    assert "Plan cleared (1 block)" in cleared["text"]
    assert await rows_of(engine, PlanBlock, 303) == []
    pings = [p for p in await rows_of(engine, OutboxMessage, 303) if p.kind == "plan_block"]
    assert {p.status for p in pings} == {OutboxStatus.CANCELLED}


async def test_pings_keep_local_time_across_dst_and_respect_pauses(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2027, 3, 24, 12, 0, tzinfo=UTC))  # Wednesday, winter time in London
    user = sandbox.user(304, first_name="Noor", language_code="en")
    await say(user, sandbox, "/plan mon 9:00-10:00")
    await user.next_message(timeout=5)
    # Monday 29 March 2027 is summer time: 09:00 in London is 08:00 UTC.
    bot.clock.set(datetime(2027, 3, 29, 7, 59, tzinfo=UTC))
    await bot.tick()
    bot.clock.set(datetime(2027, 3, 29, 8, 0, 1, tzinfo=UTC))
    await bot.tick()
    ping = await user.next_message(timeout=5)
    assert "prospecting block starts now" in ping["text"]

    bot.clock.set(datetime(2027, 3, 29, 9, 0, 1, tzinfo=UTC))
    await bot.tick()
    assert "Did it happen?" in (await user.next_message(timeout=5))["text"]

    async with engine.begin() as conn:  # as /pause 10 would
        await conn.execute(
            update(User).where(User.telegram_id == 304).values(paused_until=date(2027, 4, 7))
        )
    before = len(user.messages)
    bot.clock.set(datetime(2027, 4, 5, 8, 0, 1, tzinfo=UTC))  # next Monday, paused
    await bot.tick()
    assert len(user.messages) == before  # no ping while paused
    pings = [p for p in await rows_of(engine, OutboxMessage, 304) if p.kind == "plan_block"]
    assert [p.status for p in sorted(pings, key=lambda p: p.due_at)] == [
        OutboxStatus.SENT,
        OutboxStatus.CANCELLED,  # paused: dropped
        OutboxStatus.PENDING,  # the one after is planned
    ]


async def test_a_full_plan_ends_the_guided_flow_with_why(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(305, first_name="Max", language_code="en")
    saved = await say(user, sandbox, "/plan every day 8-9; every day 14-15")
    assert "Saved: 14 blocks added" in saved["text"]
    await user.next_message(timeout=5)
    await tap(user, sandbox, "➕ Add blocks", message=saved)
    await tap(user, sandbox, "▫️ Mon")
    await tap(user, sandbox, "Done ✓")
    await tap(user, sandbox, "10:00")
    full = await tap(user, sandbox, "60 min")
    assert "more than 14 blocks a week" in full["text"] and "Your prospecting plan" in full["text"]
    assert len(await rows_of(engine, PlanBlock, 305)) == 14
    hint = await say(user, sandbox, "30")  # the guided /plan is closed
    assert "How long" not in hint["text"] and "Saved" not in hint["text"]
