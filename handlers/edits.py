"""Edited messages: a correction of what the message created, or nothing (see services/edits)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import render
from bot.services import edits, quotes
from bot.services.activity_input import ActivityInputError, parse_count, parse_log
from bot.services.quote_input import QuoteInputError, parse_quote_line
from handlers.common import reply, user_turn

LOG_COMMANDS = ("/log", "/noter")
QUOTE_COMMANDS = ("/quote", "/devis")


def _command_and_rest(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head.split("@", 1)[0].lower(), rest.strip()


async def on_edited(update: Update, context: BotContext) -> None:
    """Every edited private message ends here, so no other handler ever counts it again."""
    message = update.edited_message
    if message is None or not message.text or update.effective_user is None:
        return
    command, rest = _command_and_rest(message.text)
    if command in LOG_COMMANDS:
        await _correct_log(update, context, message.message_id, rest)
    elif command in QUOTE_COMMANDS:
        await _correct_quote(update, context, message.message_id, rest)
    elif not command.startswith("/"):
        await _correct_answer(update, context, message.message_id, message.text)
    # Anything else edited is ignored: it was answered as first read.


async def _correct_answer(
    update: Update, context: BotContext, message_id: int, typed: str
) -> None:
    """A typed check-in number, edited: that answer changes (an unreadable edit changes nothing)."""
    try:
        value = parse_count(typed)
    except ActivityInputError:
        return
    async with user_turn(update, context) as turn:
        done = await edits.correct_answer(turn.session, turn.user, message_id, value, turn.now)
        if done is None or done.before == done.after:
            return
        text = render(
            "edits/answer_corrected",
            turn.lang,
            field=done.field,
            before=done.before,
            after=done.after,
            day=done.day,
        )
    await reply(update, text)


async def _correct_log(update: Update, context: BotContext, message_id: int, rest: str) -> None:
    text = None
    async with user_turn(update, context) as turn:
        try:
            entries = parse_log(rest)
        except ActivityInputError as error:
            # Only worth saying if that message did log something: it stays as it was.
            if await edits.logged_by(turn.session, turn.user, message_id):
                text = render("activity/log_invalid", turn.lang, code=error.code, word=error.word)
        else:
            done = await edits.correct_log(turn.session, turn.user, message_id, entries)
            if done is not None:
                text = render(
                    "edits/log_corrected",
                    turn.lang,
                    before=done.before,
                    after=done.after,
                    totals=done.totals,
                )
    if text is not None:
        await reply(update, text)


async def _correct_quote(update: Update, context: BotContext, message_id: int, rest: str) -> None:
    text = None
    async with user_turn(update, context) as turn:
        quote = await edits.quote_to_correct(turn.session, turn.user, message_id)
        if quote is None:
            return
        try:
            draft = parse_quote_line(rest, quote.sent_on)
        except QuoteInputError:
            return  # the quote stays as it was; the owner can still use /quotes
        before = await edits.correct_quote(turn.session, turn.user, quote, draft, turn.now)
        text = render(
            "edits/quote_corrected",
            turn.lang,
            quote=quote,
            before=before,
            today=quotes.local_today(turn.user, turn.now),
        )
    await reply(update, text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, on_edited)]
