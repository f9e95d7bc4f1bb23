"""The one error handler: log the traceback, apologise to the user in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.context import BotContext
from bot.i18n import pick_language, render

logger = logging.getLogger(__name__)


async def error_handler(update: object, context: BotContext) -> None:
    """Something broke while handling an update: the user hears a short apology, the bot goes on."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(context.error, Forbidden):
        return
    user = update.effective_user
    lang = pick_language(user.language_code if user else None)
    try:
        await update.effective_chat.send_message(render("errors/apology", lang))
    except TelegramError:
        logger.warning("could not apologise for update %s", update_id)
