"""Every handler of the bot, in the order they are tried."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from handlers import (
    activity,
    chats,
    checkin,
    coaching,
    data,
    edits,
    goals,
    help,
    media,
    partners,
    planning,
    preferences,
    quotes,
    text,
)

# The update types the bot asks Telegram for (polling and webhook): exactly what it handles.
# Groups and channels come only to be told "I coach in private"; edits only to correct.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.CHANNEL_POST,
]


def all_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        # First: groups, channels and anonymous senders, before anything opens an account.
        *chats.handlers(),
        # Then input no handler may see (characters the database cannot keep).
        *text.guards(),
        # Edits correct what their message created, or are ignored: never counted twice.
        *edits.handlers(),
        *preferences.handlers(),
        *help.handlers(),
        *checkin.handlers(),
        *activity.handlers(),
        *quotes.handlers(),
        *planning.handlers(),
        *goals.handlers(),
        *partners.handlers(),
        *coaching.handlers(),
        # A file outside /import (not an export file) gets the "what I read" line.
        MessageHandler(
            filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE
            & filters.Document.ALL
            & ~filters.Document.FileExtension("csv")
            & ~filters.Document.FileExtension("json"),
            media.on_media,
        ),
        *data.handlers(),
        # Last: free text and unknown commands, once every command had its chance.
        *text.handlers(),
        *media.handlers(),
    ]
