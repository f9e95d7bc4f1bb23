"""Every handler of the bot, in the order they are tried."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import BotContext
from handlers import (
    activity,
    checkin,
    coaching,
    data,
    goals,
    help,
    partners,
    planning,
    preferences,
    quotes,
    text,
)


def all_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        # First: input no handler may see (characters the database cannot keep).
        *text.guards(),
        *preferences.handlers(),
        *help.handlers(),
        *checkin.handlers(),
        *activity.handlers(),
        *quotes.handlers(),
        *planning.handlers(),
        *goals.handlers(),
        *partners.handlers(),
        *coaching.handlers(),
        *data.handlers(),
        # Last: free text and unknown commands, once every command had its chance.
        *text.handlers(),
    ]
