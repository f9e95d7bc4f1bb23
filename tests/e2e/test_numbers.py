"""Issue 12 through the sandbox: quotes are proposals counted once, Correct, reopen."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import ActivityEntry, OutboxMessage, Quote, User
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


async def test_the_block_question_comes_after_the_block_and_once(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))  # Tuesday, London = UTC
    during = sandbox.user(1203, first_name="Ada", language_code="en")
    after = sandbox.user(1204, first_name="Bo", language_code="en")
    pinged = sandbox.user(1205, first_name="Cy", language_code="en")
    for user in (during, after, pinged):
        await onboard(user, sandbox, engine, at="17:30", zone="London")
        await say(user, sandbox, "/plan tue 10:00-11:00")
        await user.next_message(timeout=5)  # the calendar file

    # During the block: the check-in does not ask about it (its own message will).
    bot.clock.set(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    await say(during, sandbox, "/checkin")
    await say(during, sandbox, "3")
    await say(during, sandbox, "0")
    summary = await say(during, sandbox, "0")
    assert "Thanks" in summary["text"] and "block" not in summary["text"]
    [checkin] = await checkins_of(engine, 1203)
    assert checkin.block_done is None

    # The block's own question is sent at its end; Cy answers it there, with a reason.
    bot.clock.set(datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC))
    await bot.tick()
    bot.clock.set(datetime(2026, 12, 1, 11, 0, 5, tzinfo=UTC))
    await bot.tick()
    await sandbox.wait_idle(timeout=10)
    asked = next(m for m in reversed(pinged.messages) if "Skipped" in str(m.get("reply_markup")))
    await tap(pinged, sandbox, "❌ Skipped", message=asked)
    await tap(pinged, sandbox, "I didn't set time aside")
    bot.clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    pinged.skip_pending()
    await say(pinged, sandbox, "/checkin")
    await say(pinged, sandbox, "0")
    await say(pinged, sandbox, "0")
    summary = await say(pinged, sandbox, "0")  # neither the block nor "why?" again
    assert "Thanks" in summary["text"]
    [checkin] = await checkins_of(engine, 1205)
    assert (checkin.block_done, checkin.reason) == ("no", "no_time_set_aside")

    # Bo's block question was sent by the block too: the check-in does not ask it again.
    after.skip_pending()
    await say(after, sandbox, "/checkin")
    await say(after, sandbox, "0")
    await say(after, sandbox, "0")
    why = await say(after, sandbox, "0")
    assert "held prospecting back" in why["text"]
    summary = await say(after, sandbox, "nope, too busy with clients")
    assert "Thanks" in summary["text"]
    [checkin] = await checkins_of(engine, 1204)
    assert (checkin.block_done, checkin.reason) == (None, "busy")


async def test_the_block_question_takes_typed_answers_after_the_block(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    user = sandbox.user(1206, first_name="Dee", language_code="fr")
    await onboard(user, sandbox, engine, at="17:30", zone="London")
    await say(user, sandbox, "/planifier mardi 7h-8h")
    await user.next_message(timeout=5)  # the calendar file
    bot.clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))  # no tick: no ping was sent
    await say(user, sandbox, "/point")
    await say(user, sandbox, "3")
    await say(user, sandbox, "0")
    block = await say(user, sandbox, "0")
    assert "créneau de prospection" in block["text"]
    again = await say(user, sandbox, "peut-être")  # unreadable: asked again, nothing stored
    assert "🤔" in again["text"]
    [checkin] = await checkins_of(engine, 1206)
    assert checkin.block_done is None and checkin.step == "block"
    why = await say(user, sandbox, "Non !")
    assert "freiné" in why["text"]
    summary = await say(user, sandbox, "j'ai assez de devis")
    assert "Merci" in summary["text"]
    [checkin] = await checkins_of(engine, 1206)
    assert (checkin.block_done, checkin.reason) == ("no", "pipeline_full")


async def test_a_logged_follow_up_lands_on_the_quote_it_names(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    user = sandbox.user(1207, first_name="Eve", language_code="fr")
    await onboard(user, sandbox, engine)
    await say(user, sandbox, "/devis Dupont SARL 4500 30j")
    await say(user, sandbox, "/devis Martin 1200 30j")
    logged = await say(user, sandbox, "/noter 1 relance Dupont SARL")
    assert "Relance notée sur le devis de Dupont SARL" in logged["text"]
    followed = await say(user, sandbox, "/noter 2 relances")  # two quotes: none is obvious
    assert "sur le devis" not in followed["text"] and "+2 relances" in followed["text"]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Quote.client, Quote.followed_up_on))).all()
    assert {client: day for client, day in rows} == {
        "Dupont SARL": date(2026, 12, 1), "Martin": None,
    }


async def test_pause_in_words_and_a_bare_pause_asks_how_long(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))  # Tuesday
    user = sandbox.user(1208, first_name="Flo", language_code="fr")
    await onboard(user, sandbox, engine)
    asked = await say(user, sandbox, "/pause")
    assert "Combien de temps" in asked["text"]
    assert [t for row in user.buttons(asked) for t, _ in row] == [
        "3 jours", "1 semaine", "2 semaines", "4 semaines",
    ]
    paused = await tap(user, sandbox, "2 semaines")
    assert "jusqu'au lundi 14 décembre 2026 inclus" in paused["text"]
    assert "reprennent le mardi 15 décembre 2026" in paused["text"]
    typed = await say(user, sandbox, "/pause jusqu'au 5 janvier")
    assert "reprennent le mercredi 6 janvier 2027" in typed["text"]
    await say(user, sandbox, "/pause")
    in_words = await say(user, sandbox, "10 jours")  # typed after a bare /pause
    assert "jusqu'au jeudi 10 décembre 2026 inclus" in in_words["text"]
    english = sandbox.user(1209, first_name="Gil", language_code="en")
    await onboard(english, sandbox, engine)
    weeks = await say(english, sandbox, "/pause 2 weeks")
    # An English owner in Paris reads dates the British way (US owners get US dates).
    assert "They resume on Tuesday 15 December 2026" in weeks["text"]
    async with engine.connect() as conn:
        until = (
            await conn.execute(select(User.paused_until).where(User.telegram_id == 1209))
        ).scalar_one()
    assert until == date(2026, 12, 14)
