"""Photos, stickers, voice, video, places, contacts: one helpful line, nothing kept."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import pick_language, render
from bot.services import accounts, privacy
from handlers import data
from handlers.common import reply

KINDS = (
    "photo",
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "location",
    "contact",
    "document",
)


def kind_of(message: Message) -> str:
    for kind in KINDS:
        if getattr(message, kind, None):
            return "animation" if kind == "document" and message.animation else kind
    return "other"


async def on_media(update: Update, context: BotContext) -> None:
    """Says what the bot reads. Read-only: a first-time sender gets no account from it."""
    message = update.effective_message
    tg_user = update.effective_user
    assert message is not None and tg_user is not None
    async with context.bot_data.sessions() as session:
        user = await accounts.find(session, tg_user.id)
        importing = user is not None and await privacy.import_dialog(session, user) is not None
    if message.document is not None and importing:
        await data.on_document(update, context)  # the file /import is waiting for
        return
    lang = user.language if user is not None else pick_language(tg_user.language_code)
    await reply(update, render("updates/media", lang, kind=kind_of(message)))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    # After every other handler: only new private messages with no text nobody else took.
    return [
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT, on_media
        )
    ]
