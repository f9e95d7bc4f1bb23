"""/help: the commands, in the user's language."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import command_name, label, render
from handlers.common import reply, user_turn

# The command menu, in the order users see it (descriptions in messages/<lang>/commands/).
COMMANDS = (
    "checkin",
    "log",
    "quote",
    "quotes",
    "plan",
    "goal",
    "partner",
    "stats",
    "diagnose",
    "settings",
    "pause",
    "resume",
    "export",
    "import",
    "forget",
    "privacy",
    "help",
)


async def cmd_help(update: Update, context: BotContext) -> None:
    """Lists what the coach can do."""
    async with user_turn(update, context) as turn:
        commands = [
            (command_name(key, turn.lang), label(f"commands/{key}", turn.lang))
            for key in COMMANDS
        ]
        text = render("help/help", turn.lang, commands=commands)
    await reply(update, text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler(["help", "aide"], cmd_help)]
