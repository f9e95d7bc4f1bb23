"""Quotes through the sandbox, in English and French: /quote, /quotes, reminders, isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import CallbackQueryHandler

from bot.db.models import (
    ActivityEntry,
    Dialog,
    OutboxMessage,
    OutboxStatus,
    Quote,
    QuoteStatus,
    User,
)
from bot.sandbox import BotApiSandbox, SandboxUser
from handlers.quotes import cmd_quotes
from tests.e2e.conftest import Bot, button_texts, say, tap

NNBSP, NBSP = "\u202f", "\u00a0"  # Babel's French thousands separator, and before €
# Friday 27 November 2026, 09:00 in Paris and 08:00 in London (the default zones for fr/en).
FRIDAY_MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def user_id_of(engine: AsyncEngine, telegram_id: int) -> int:
    async with engine.connect() as conn:
        query = select(User.id).where(User.telegram_id == telegram_id)
        return int((await conn.execute(query)).scalar_one())


async def quotes_of(engine: AsyncEngine, telegram_id: int) -> list[Quote]:
    user_id = await user_id_of(engine, telegram_id)
    async with engine.connect() as conn:
        query = select(Quote.__table__).where(Quote.user_id == user_id).order_by(Quote.id)
        return [Quote(**row._mapping) for row in (await conn.execute(query)).all()]


async def reminders_of(engine: AsyncEngine, quote_id: int, status: str | None = None) -> list[Any]:
    async with engine.connect() as conn:
        query = (
            select(OutboxMessage.__table__)
            .where(OutboxMessage.dedupe_key.startswith(f"quote:{quote_id}:"))
            .order_by(OutboxMessage.due_at)
        )
        rows = (await conn.execute(query)).all()
    return [r for r in rows if status is None or r.status == status]


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite drops it


async def forge_press(
    sandbox: BotApiSandbox, user: SandboxUser, message: dict[str, Any], data: str
) -> str:
    """A modified client sends callback data its message never had (press() refuses that)."""
    return await user.send_callback(sandbox.message(user.chat_id, message["message_id"]), data)


async def tick_at(bot: Bot, moment: datetime, user: SandboxUser) -> dict[str, Any] | None:
    """Move the clock, run a dispatcher tick; the message it sent this user, if any."""
    before = len(user.messages)
    bot.clock.set(moment)
    await bot.tick()
    messages = user.messages
    return messages[-1] if len(messages) > before else None


# ---------------------------------------------------------------------------------------------
# Registering


async def test_one_line_quotes_in_english_and_french(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    sam = sandbox.user(301, first_name="Sam", language_code="en")
    camille = sandbox.user(302, first_name="Camille", language_code="fr")

    saved = await say(sam, sandbox, '/quote "Acme Inc" 12000 USD until 2027-01-15')
    assert "Quote saved" in saved["text"] and "Acme Inc, $12,000" in saved["text"]
    assert "valid until 15 January 2027 (49 days)" in saved["text"]
    assert "Open pipeline: $12,000 (1 quote)" in saved["text"]
    saved = await say(sam, sandbox, "/quote Martin 800")  # the owner's currency, 30 days
    assert "Martin, $800" in saved["text"] and "27 December 2026 (30 days)" in saved["text"]

    saved = await say(camille, sandbox, "/devis Dupont SARL 4 500 € 30j")
    assert f"Devis enregistré{NBSP}:" in saved["text"]
    assert f"Dupont SARL, 4{NNBSP}500{NBSP}€" in saved["text"]
    assert "valable jusqu'au 27 décembre 2026 (30 jours)" in saved["text"]
    assert f"Devis en cours{NBSP}: 4{NNBSP}500{NBSP}€ (1 devis" in saved["text"]

    acme, martin = await quotes_of(engine, 301)
    assert (acme.client, acme.amount, acme.currency) == ("Acme Inc", Decimal("12000.00"), "USD")
    assert (acme.sent_on, acme.expires_on, acme.status) == (
        date(2026, 11, 27),
        date(2027, 1, 15),
        QuoteStatus.OPEN,
    )
    assert (martin.currency, martin.expires_on) == ("USD", date(2026, 12, 27))
    [dupont] = await quotes_of(engine, 302)
    assert (dupont.client, dupont.amount, dupont.currency) == (
        "Dupont SARL",
        Decimal("4500.00"),
        "EUR",
    )
    # Expires Sunday 27 December: 7 days before -> Friday 18, 2 days before and the expiry day
    # -> one on Friday 25, the day after -> Monday 28.
    pending = await reminders_of(engine, dupont.id, OutboxStatus.PENDING)
    assert [utc(r.due_at).date() for r in pending] == [
        date(2026, 12, 18),
        date(2026, 12, 25),
        date(2026, 12, 28),
    ]


async def test_guided_quote_survives_a_restart_in_both_languages(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    camille = sandbox.user(311, first_name="Camille", language_code="fr")
    sam = sandbox.user(312, first_name="Sam", language_code="en")

    asked = await say(camille, sandbox, "/devis")
    assert "Pour quel client" in asked["text"] and button_texts(camille, asked) == ["✖ Annuler"]
    asked = await say(sam, sandbox, "/quote")
    assert "Who is it for?" in asked["text"]
    asked = await say(camille, sandbox, "Dupont & <Fils> 🦄")
    assert "pour Dupont & <Fils> 🦄" in asked["text"]  # shown exactly as typed
    asked = await say(sam, sandbox, "Acme")
    assert "How much is the quote for Acme?" in asked["text"]

    await bot.restart()  # the step and the answers so far are in the database
    sandbox.reset_flood()  # a real restart takes longer than Telegram's per-chat window

    asked = await say(camille, sandbox, "4 500,50")
    assert "Jusqu'à quand" in asked["text"]
    assert button_texts(camille, asked) == [
        "15 jours",
        "30 jours",
        "45 jours",
        "60 jours",
        "📅 Une date…",
        "✖ Annuler",
    ]
    saved = await tap(camille, sandbox, "30 jours")
    assert f"Dupont & <Fils> 🦄, 4{NNBSP}500,50{NBSP}€" in saved["text"]
    assert "27 décembre 2026" in saved["text"]
    again = await tap(camille, sandbox, "45 jours", message=asked)  # an old keyboard: no 2nd quote
    assert "27 décembre 2026" in again["text"]

    asked = await say(sam, sandbox, "12k USD")
    await tap(sam, sandbox, "📅 A date…")
    bad = await say(sam, sandbox, "yesterday")
    assert "already passed" in bad["text"] and "For example" in bad["text"]
    saved = await say(sam, sandbox, "Jan 15")
    assert "Acme, $12,000" in saved["text"] and "15 January 2027" in saved["text"]

    [dupont] = await quotes_of(engine, 311)
    assert (dupont.client, dupont.amount, dupont.expires_on) == (
        "Dupont & <Fils> 🦄",
        Decimal("4500.50"),
        date(2026, 12, 27),
    )
    [acme] = await quotes_of(engine, 312)
    assert (acme.amount, acme.currency, acme.expires_on) == (
        Decimal("12000.00"),
        "USD",
        date(2027, 1, 15),
    )
    async with engine.connect() as conn:
        assert (await conn.execute(select(Dialog.__table__))).all() == []


# ---------------------------------------------------------------------------------------------
# The list


async def test_quotes_list_pages_and_buttons_in_french(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    camille = sandbox.user(321, first_name="Camille", language_code="fr")
    empty = await say(camille, sandbox, "/mesdevis")
    assert "Aucun devis en cours" in empty["text"]
    user_id = await user_id_of(engine, 321)
    async with engine.begin() as conn:
        for n in range(1, 8):  # 7 quotes expiring on 28 Nov, 29 Nov, ... one expired yesterday
            expires_on = date(2026, 11, 25) + timedelta(days=n)
            await conn.execute(
                Quote.__table__.insert().values(
                    user_id=user_id, client=f"Client {n}", amount=Decimal(n * 1000),
                    currency="USD" if n == 7 else "EUR", sent_on=date(2026, 11, 1),
                    expires_on=expires_on, status="open", created_at=FRIDAY_MORNING,
                    updated_at=FRIDAY_MORNING,
                )
            )  # fmt: skip

    listed = await say(camille, sandbox, "/mesdevis")
    text = listed["text"]
    assert "Vos devis en cours" in text and "(page 1/2)" in text
    assert f"1. Client 1 — 1{NNBSP}000{NBSP}€ — ⌛ expiré le 26 nov." in text
    assert "2. Client 2 — 2" in text and "🔥 expire aujourd'hui" in text
    assert "3. Client 3 — 3" in text and "⏳ encore 1 jour" in text
    assert "5. Client 5" in text and "Client 6" not in text
    # Expired quotes are not pending value; totals are per currency.
    assert (
        f"Devis en cours{NBSP}: 20{NNBSP}000{NBSP}€ · 7{NNBSP}000{NBSP}$US (6 devis" in text
    )
    assert button_texts(camille, listed)[:5] == ["📞 1", "✅ 1", "❌ 1", "⏳ 1", "🗑 1"]
    assert button_texts(camille, listed)[-1] == "Suivants ›"

    page_2 = await tap(camille, sandbox, "Suivants ›")
    assert "(page 2/2)" in page_2["text"] and "6. Client 6" in page_2["text"]
    assert "7. Client 7" in page_2["text"] and "Client 5" not in page_2["text"]
    assert button_texts(camille, page_2)[-1] == "‹ Précédents"
    after_sign = await tap(camille, sandbox, "✅ 6")
    assert "Signé" in after_sign["text"] and "Client 6" in after_sign["text"]
    assert f"Signé ce mois-ci{NBSP}: 6{NNBSP}000{NBSP}€" in after_sign["text"]
    assert f"Taux de signature{NBSP}: 100{NBSP}%" in after_sign["text"]

    page_1 = await tap(camille, sandbox, "‹ Précédents")
    assert "(page 1/2)" in page_1["text"] and "Client 6" not in page_1["text"]
    after_lost = await tap(camille, sandbox, "❌ 2")
    assert "Perdu" in after_lost["text"] and "(page" not in after_lost["text"]  # five: one page
    assert "Suivants ›" not in button_texts(camille, after_lost)
    confirm = await tap(camille, sandbox, "🗑 1")
    assert "Supprimer le devis pour Client 1" in confirm["text"]
    deleted = await tap(camille, sandbox, "🗑 Oui, supprimer")
    assert "Supprimé" in deleted["text"] and "1. Client 3" in deleted["text"]
    assert f"50{NBSP}%" in deleted["text"]  # one signed, one lost

    stored = {q.client: q for q in await quotes_of(engine, 321)}
    assert "Client 1" not in stored
    assert stored["Client 6"].status == QuoteStatus.SIGNED
    assert stored["Client 6"].closed_on == date(2026, 11, 27)
    assert stored["Client 6"].followed_up_on is None  # from the list, not a reminder
    assert stored["Client 2"].status == QuoteStatus.LOST
    async with engine.connect() as conn:
        deals = (await conn.execute(select(ActivityEntry.__table__))).all()
    assert [(d.kind, d.count, d.source) for d in deals] == [("deals", 1, "quote")]

    # Another feature's button can open the list: cmd_quotes answers the press, sends the list.
    bot.application.add_handler(CallbackQueryHandler(cmd_quotes, pattern="^elsewhere:quotes$"))
    query_id = await forge_press(sandbox, camille, deleted, "elsewhere:quotes")
    assert (await camille.wait_for_answer(query_id)).answered
    from_button = await camille.next_message(timeout=5)
    assert from_button["message_id"] != deleted["message_id"]
    assert "Vos devis en cours" in from_button["text"] and "1. Client 3" in from_button["text"]


# ---------------------------------------------------------------------------------------------
# Reminders


async def test_reminders_7_and_2_days_before_and_signed_cancels_the_rest(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    camille = sandbox.user(331, first_name="Camille", language_code="fr")
    await say(camille, sandbox, "/devis Dupont SARL 4 500 € 17/12/2026")  # a Thursday
    camille.skip_pending()

    nine_paris = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # 09:00 in Paris, 7 days before
    assert await tick_at(bot, nine_paris - timedelta(seconds=1), camille) is None
    d7 = await tick_at(bot, nine_paris, camille)
    assert d7 is not None
    assert "Dupont SARL</b>" not in d7["text"]  # rendered, not escaped twice
    assert f"Dupont SARL, 4{NNBSP}500{NBSP}€, expire dans 7 jours" in d7["text"]
    assert f"Une relance aujourd'hui{NBSP}?" in d7["text"]
    assert button_texts(camille, d7) == ["📞 Relancé", "✅ Signé", "❌ Perdu", "⏳ Prolonger"]

    two_days = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)
    assert await tick_at(bot, two_days - timedelta(seconds=1), camille) is None
    d2 = await tick_at(bot, two_days, camille)
    assert d2 is not None and "expire dans 2 jours" in d2["text"]

    signed = await tap(camille, sandbox, "✅ Signé", message=d2)
    assert "Bravo" in signed["text"] and button_texts(camille, signed) == ["↩️ Rouvrir"]
    [quote] = await quotes_of(engine, 331)
    assert (quote.status, quote.closed_on) == (QuoteStatus.SIGNED, date(2026, 12, 15))
    assert quote.followed_up_on == date(2026, 12, 15)
    assert await reminders_of(engine, quote.id, OutboxStatus.PENDING) == []
    for day in (17, 18):  # the expiry-day and day-after reminders never come
        assert await tick_at(bot, datetime(2026, 12, day, 8, 0, tzinfo=UTC), camille) is None
    stale = await tap(camille, sandbox, "❌ Perdu", message=d7)  # the older reminder's button
    assert stale["message_id"] == d7["message_id"]
    assert [q.answer_text for q in sandbox.callback_queries.values()][-1] == (
        "Ce devis est déjà clos."
    )
    assert (await quotes_of(engine, 331))[0].status == QuoteStatus.SIGNED


async def test_extend_moves_the_reminders(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    sam = sandbox.user(341, first_name="Sam", language_code="en")  # London, 09:00
    await say(sam, sandbox, "/quote Acme 1200 17/12/2026")
    listed = await say(sam, sandbox, "/quotes")
    asked = await tap(sam, sandbox, "⏳ 1", message=listed)
    assert "Extend Acme" in asked["text"]
    assert button_texts(sam, asked) == ["+15 days", "+30 days", "‹ Back"]
    extended = await tap(sam, sandbox, "+30 days")
    assert "Extended" in extended["text"] and "16 January 2027" in extended["text"]
    assert "1. Acme" in extended["text"]  # back on the list

    [quote] = await quotes_of(engine, 341)
    assert quote.expires_on == date(2027, 1, 16)
    pending = await reminders_of(engine, quote.id, OutboxStatus.PENDING)
    assert [utc(r.due_at) for r in pending] == [
        datetime(2027, 1, 8, 9, 0, tzinfo=UTC),  # Saturday 9 -> Friday 8
        datetime(2027, 1, 14, 9, 0, tzinfo=UTC),
        datetime(2027, 1, 15, 9, 0, tzinfo=UTC),  # Saturday 16 -> Friday 15
        datetime(2027, 1, 18, 9, 0, tzinfo=UTC),  # the day after: Monday 18
    ]

    # Renegotiated again, typed this time: three weeks from today.
    await tap(sam, sandbox, "⏳ 1", message=extended)
    typed = await say(sam, sandbox, "in 3 weeks")
    assert "now valid until 18 December 2026" in typed["text"]
    pending = await reminders_of(engine, quote.id, OutboxStatus.PENDING)
    assert utc(pending[0].due_at) == datetime(2026, 12, 11, 9, 0, tzinfo=UTC)
    reminder = await tick_at(bot, datetime(2026, 12, 11, 9, 0, tzinfo=UTC), sam)
    assert reminder is not None and "Acme, $1,200, expires in 7 days" in reminder["text"]

    # Extend from the reminder: that is a follow-up.
    await tap(sam, sandbox, "⏳ Extend", message=reminder)
    moved = await tap(sam, sandbox, "+15 days")
    assert "2 January 2027" in moved["text"] and button_texts(sam, moved) == []
    [quote] = await quotes_of(engine, 341)
    assert (quote.expires_on, quote.followed_up_on) == (date(2027, 1, 2), date(2026, 12, 11))
    pending = await reminders_of(engine, quote.id, OutboxStatus.PENDING)
    assert {r.dedupe_key.split(":")[2] for r in pending} == {"2027-01-02"}


# ---------------------------------------------------------------------------------------------
# Isolation and bad input


async def test_another_users_button_data_is_refused(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    owner = sandbox.user(351, first_name="Sam", language_code="en")
    intruder = sandbox.user(352, first_name="Eve", language_code="fr")
    await say(owner, sandbox, "/quote Acme 1200 30")
    listed = await say(owner, sandbox, "/quotes")
    [quote] = await quotes_of(engine, 351)
    planned = await reminders_of(engine, quote.id, OutboxStatus.PENDING)
    own = await say(intruder, sandbox, "/devis Martin 10")  # Eve's own message to press on

    for _, data in [b for row in owner.buttons(listed) for b in row]:
        assert data is not None and str(quote.id) in data
        query_id = await forge_press(sandbox, intruder, own, data)
        answered = await intruder.wait_for_answer(query_id)
        assert answered.answer_text == "Ce devis n'est pas disponible."
    for data in (f"quote:delok:{quote.id}|l0", f"quote:extby:{quote.id}|30|r"):
        answered = await intruder.wait_for_answer(await forge_press(sandbox, intruder, own, data))
        assert answered.answer_text == "Ce devis n'est pas disponible."
    # Forged data on Eve's own quote or out of range changes nothing either, and breaks nothing.
    [martin] = await quotes_of(engine, 352)
    for data, toast in [
        ("quote:sign:99999999999|l0", "Ce devis n'est pas disponible."),
        (f"quote:extby:{martin.id}|-400|l0", "Cette question a déjà sa réponse."),
        ("quote:page:x", "Cette question a déjà sa réponse."),
    ]:
        answered = await intruder.wait_for_answer(await forge_press(sandbox, intruder, own, data))
        assert answered.answer_text == toast
    await sandbox.wait_idle(timeout=5)
    assert (await quotes_of(engine, 352))[0].expires_on == martin.expires_on

    [untouched] = await quotes_of(engine, 351)
    assert (untouched.status, untouched.expires_on) == (QuoteStatus.OPEN, quote.expires_on)
    assert await reminders_of(engine, quote.id, OutboxStatus.PENDING) == planned
    assert "Acme" not in intruder.messages[-1]["text"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(Dialog.__table__))).all() == []


BAD_INPUTS = [
    # (language, what is typed, what the reply says)
    ("en", "/quote 4500 30d", "Who is the quote for?"),
    ("en", "/quote Dupont", "I need the amount"),
    ("en", "/quote Dupont 4x500", "as an amount"),
    ("fr", "/devis Dupont 0", "supérieur à zéro"),
    ("fr", "/devis Dupont -500", "supérieur à zéro"),
    ("en", "/quote Dupont 2000000000000", "too large"),
    ("en", "/quote Dupont 500 01/01/2020", "1 January 2020 has already passed"),
    ("fr", "/devis Dupont 500 € 400j", "plus d'un an"),
    ("en", "/quote Dupont 500 XYZ", "I don't know the currency “XYZ”"),
    ("fr", "/devis " + "A" * 101 + " 500", "trop long"),
    ("en", "/quote <b>Dupont & co</b> 500 someday", "“someday” as a validity"),
]


async def test_bad_inputs_get_a_clear_message_and_store_nothing(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    for n, (lang, typed, expected) in enumerate(BAD_INPUTS):
        user = sandbox.user(360 + n, first_name="Bo", language_code=lang)
        reply = await say(user, sandbox, typed)
        assert expected in reply["text"], (typed, reply["text"])
        example = "Rien n'a été enregistré. Essayez" if lang == "fr" else "Nothing was saved. Try"
        assert example in reply["text"]

    # Guided: a bad answer is re-asked with an example; Cancel stores nothing.
    guided = sandbox.user(359, first_name="Bo", language_code="fr")
    await say(guided, sandbox, "/devis")
    await say(guided, sandbox, "Dupont")
    reask = await say(guided, sandbox, "beaucoup")
    assert "comme un montant" in reask["text"] and "Par exemple" in reask["text"]
    assert "Quel est le montant" in reask["text"]  # the question again
    cancelled = await tap(guided, sandbox, "✖ Annuler")
    assert "rien n'a été enregistré" in cancelled["text"]

    async with engine.connect() as conn:
        assert (await conn.execute(select(Quote.__table__))).all() == []
        assert (await conn.execute(select(OutboxMessage.__table__))).all() == []
        assert (await conn.execute(select(Dialog.__table__))).all() == []


async def test_reminders_follow_a_new_checkin_time(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    sam = sandbox.user(351, first_name="Sam", language_code="en")
    await say(sam, sandbox, "/start")
    await tap(sam, sandbox, "09:00")
    await tap(sam, sandbox, "London")
    await tap(sam, sandbox, "Done ✓")
    await say(sam, sandbox, "/quote Acme 1200 17/12/2026")
    [quote] = await quotes_of(engine, 351)
    before = {r.dedupe_key: utc(r.due_at) for r in await reminders_of(engine, quote.id, "pending")}
    assert before and all(due.hour == 9 for due in before.values())  # 09:00 London is 09:00 UTC

    await say(sam, sandbox, "/settings")
    await tap(sam, sandbox, "⏰ Check-in time")
    await tap(sam, sandbox, "17:30")
    after = {r.dedupe_key: utc(r.due_at) for r in await reminders_of(engine, quote.id, "pending")}
    assert set(after) == set(before)
    assert all((due.hour, due.minute) == (17, 30) for due in after.values())
