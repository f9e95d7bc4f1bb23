"""Free text: it answers whatever question is open (a preference, a check-in), else a hint."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from bot.db.models import DialogName
from bot.i18n import pick_language, render
from bot.services import checkins, dialogs, edits, onboarding
from handlers import activity, checkin, coaching, data, goals, planning, preferences, quotes
from handlers.common import Keyboard, reply, user_turn

MAX_TEXT = 4096
# NUL and lone surrogates: no keyboard types them, PostgreSQL cannot store them.
UNREADABLE = re.compile("[\x00\ud800-\udfff]")


async def on_text(update: Update, context: BotContext) -> None:
    """Routes a typed answer to the question the user was asked."""
    assert update.effective_message is not None
    typed = (update.effective_message.text or "")[:MAX_TEXT]
    message_id = update.effective_message.message_id
    rows: Keyboard | None = None
    after: planning.AfterReply | None = None
    async with user_turn(update, context) as turn:
        dialog = await dialogs.current(turn.session, turn.user)
        open_checkin = await checkins.open_for_typing(turn.session, turn.user, turn.now)

        def guided(name: DialogName) -> bool:
            return dialogs.takes_typed_text(dialog, name, open_checkin, turn.now)

        if dialog is not None and dialog.name in onboarding.PREFERENCE_DIALOGS:
            text, rows = await preferences.on_typed_answer(turn, dialog, typed)
        elif dialog is not None and guided(DialogName.QUOTE):
            text, rows = await quotes.on_typed_answer(turn, dialog, typed)
        elif dialog is not None and guided(DialogName.PLAN):
            text, rows, after = await planning.on_typed_answer(update, turn, dialog, typed)
        elif dialog is not None and guided(DialogName.GOAL):
            text, rows = await goals.on_typed_answer(turn, dialog, typed)
        elif activity.waits_for_pause(dialog, turn.now) and (
            open_checkin is None or dialog is None or open_checkin.asked_at <= dialog.updated_at
        ):
            text, rows = await activity.on_typed_pause(turn, typed)
        elif open_checkin is not None:
            asked = open_checkin.step
            text, rows = await checkin.on_typed_answer(turn, open_checkin, typed)
            if open_checkin.step != asked:  # answered: an edit of this message corrects it
                await edits.remember_answer(
                    turn.session, turn.user, message_id, open_checkin, asked
                )
        elif dialog is not None and dialog.name == DialogName.DIAGNOSE:
            text, rows = coaching.on_typed_text(turn, dialog)
        elif dialog is not None and dialog.name == DialogName.IMPORT:
            text, rows = data.on_typed_text(turn, dialog)  # /import waits for a file
        else:
            text = render("help/not_understood", turn.lang)
    await reply(update, text, rows)
    if after is not None:
        await after()  # the plan's calendar file, right after its confirmation


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have."""
    async with user_turn(update, context) as turn:
        text = render("help/unknown_command", turn.lang)
    await reply(update, text)


def _unreadable(update: Update) -> bool:
    message, user = update.effective_message, update.effective_user
    texts = [message.text, message.caption] if message is not None else []
    if user is not None:
        texts += [user.first_name, user.last_name, user.username]
    if update.callback_query is not None:
        texts.append(update.callback_query.data)
    return any(text and UNREADABLE.search(text) for text in texts)


class UnreadableInput(BaseHandler[Update, BotContext, None]):
    """Matches an update carrying characters no database keeps, before any handler stores them."""

    def check_update(self, update: object) -> bool:
        return isinstance(update, Update) and _unreadable(update)


async def on_unreadable(update: Update, context: BotContext) -> None:
    """Refuses the message (nothing is stored): "I did not understand"."""
    user = update.effective_user
    if update.callback_query is not None:
        await update.callback_query.answer()
        return
    lang = pick_language(user.language_code if user is not None else None)
    await reply(update, render("help/not_understood", lang))


def guards() -> list[BaseHandler[Update, BotContext, None]]:
    """First of all handlers: input that must not reach the others."""
    return [UnreadableInput(on_unreadable)]


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_text),
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, on_unknown_command),
    ]
