"""Edited messages correct what they created or are ignored; media gets one helpful line."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import ActivityEntry, CheckIn, OutboxMessage, OutboxStatus, Quote, User
from bot.sandbox import BotApiSandbox
from bot.sandbox.media import MediaKind
from tests.e2e.conftest import Bot, say


async def logged(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(ActivityEntry.kind, ActivityEntry.count).order_by(ActivityEntry.id)
        )
        return [(row.kind, row.count) for row in rows]


async def quiet(sandbox: BotApiSandbox) -> None:
    await sandbox.wait_idle(timeout=5, settle=0.5)


async def test_an_edited_log_corrects_its_entry_and_says_so(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(6101, first_name="Léa", language_code="en")
    sent = await user.send_command("/log", "3 calls")
    assert "+3 new contacts" in (await user.next_message(timeout=10))["text"]
    await user.edit_text(sent, "/log 4 calls")
    corrected = await user.next_message(timeout=10)
    assert "Corrected: 4 new contacts instead of 3 new contacts" in corrected["text"]
    assert "That day: 4 new contacts" in corrected["text"]
    assert await logged(engine) == [("contacts", 4)]
    # Edited again, to two kinds; then to nonsense (kept as it was, and said so).
    await user.edit_text(sent, "/log 2 calls 1 meeting")
    await user.next_message(timeout=10)
    assert sorted(await logged(engine)) == [("contacts", 2), ("meetings", 1)]
    await user.edit_text(sent, "/log banana")
    await user.next_message(timeout=10)
    assert sorted(await logged(engine)) == [("contacts", 2), ("meetings", 1)]
    # Another /log is a new entry; its edit corrects only it.
    other = await user.send_command("/log", "1 call")
    await user.next_message(timeout=10)
    await user.edit_text(other, "/log 5 calls")
    await user.next_message(timeout=10)
    assert sorted(await logged(engine)) == [("contacts", 2), ("contacts", 5), ("meetings", 1)]


async def test_an_edited_quote_corrects_it_and_its_reminders(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(6201, first_name="Marc", language_code="fr")
    sent = await user.send_command("/devis", "Dupont SARL 4000 € 30j")
    await user.next_message(timeout=10)
    await user.edit_text(sent, "/devis Dupont SA 4500 € 15j")
    corrected = await user.next_message(timeout=10)
    assert "Corrigé\u00a0: Dupont SA" in corrected["text"]
    assert "au lieu de Dupont SARL" in corrected["text"]
    async with engine.connect() as conn:
        quotes = (await conn.execute(select(Quote.client, Quote.amount, Quote.expires_on))).all()
        reminders = (
            await conn.execute(
                select(OutboxMessage.payload).where(
                    OutboxMessage.kind == "quote_reminder",
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
            )
        ).all()
    assert [(q.client, q.amount) for q in quotes] == [("Dupont SA", Decimal("4500.00"))]
    assert {r.payload["expires_on"] for r in reminders} == {quotes[0].expires_on.isoformat()}


async def test_other_edits_are_ignored_and_never_stored_twice(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(6301, first_name="Zoé", language_code="en")
    hello = await user.send_text("hello")
    await user.next_message(timeout=10)
    await user.edit_text(hello, "/log 3 calls")  # an edit never creates a record
    await user.edit_text(hello, "/quote Acme 100 € 30j")
    invalid = await user.send_command("/log", "banana")
    await user.next_message(timeout=10)
    await user.edit_text(invalid, "/log 2 calls")  # created nothing: nothing to correct
    await quiet(sandbox)
    assert len(user.messages) == 2
    assert await logged(engine) == []
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Quote)) == 0


async def test_an_edited_checkin_answer_corrects_it_and_never_answers_the_next_question(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(6401, first_name="Ana", language_code="en")
    await say(user, sandbox, "/checkin")
    first = await user.send_text("3")
    assert "meetings" in (await user.next_message(timeout=10))["text"]
    await user.edit_text(first, "5")
    corrected = await user.next_message(timeout=10)
    assert "Corrected: 5 new contacts instead of 3" in corrected["text"]
    async with engine.connect() as conn:
        row = (await conn.execute(select(CheckIn.contacts, CheckIn.meetings))).one()
    assert (row.contacts, row.meetings) == (5, None)  # corrected; "meetings?" still open
    await user.edit_text(first, "lots")  # unreadable: nothing changes, nothing said
    second = await user.send_text("2")
    assert "proposals" in (await user.next_message(timeout=10))["text"]
    await user.edit_text(second, "1")
    await user.next_message(timeout=10)
    await quiet(sandbox)
    async with engine.connect() as conn:
        row = (await conn.execute(select(CheckIn.contacts, CheckIn.meetings))).one()
    assert (row.contacts, row.meetings) == (5, 1)


MEDIA: list[MediaKind] = [
    "photo", "sticker", "voice", "video", "video_note", "audio", "animation", "location", "contact",
]  # fmt: skip


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_media_gets_a_helpful_line_and_nothing_is_stored(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, language: str
) -> None:
    user = sandbox.user(6500 + len(language), first_name="Media", language_code=language)
    for kind in MEDIA:
        await user.send_media(kind)
        line = await user.next_message(timeout=10)
        help_, import_ = ("/help", "/import") if language == "en" else ("/aide", "/importer")
        assert help_ in line["text"] and import_ in line["text"], kind
    await user.send_document("proposal.pdf", b"%PDF-1.4 nothing", "application/pdf")
    line = await user.next_message(timeout=10)
    assert ("files" if language == "en" else "fichiers") in line["text"]
    await quiet(sandbox)
    assert len(user.messages) == len(MEDIA) + 1
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(User)) == 0
    # An export file is still read as an import (and /import still takes any file).
    await say(user, sandbox, "/import")
    await user.send_document("proposal.pdf", b"%PDF-1.4 nothing", "application/pdf")
    refused = await user.next_message(timeout=10)
    assert "proposal.pdf" in refused["text"]
    await asyncio.sleep(0)
