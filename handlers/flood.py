"""The one line an owner gets after a flood was shed: how many messages were not read, and when."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram.error import TelegramError

from bot.context import BotApplication
from bot.fair_updates import Shed
from bot.i18n import pick_language, render
from bot.services import accounts
from bot.services.preferences import zone

logger = logging.getLogger(__name__)


async def tell_what_was_not_read(application: BotApplication, shed: Shed) -> None:
    """Read-only: in the owner's language and time zone (Telegram's language if new)."""
    data = application.bot_data
    async with data.sessions() as session:
        user = await accounts.find(session, shed.user_id)
    lang = user.language if user is not None else pick_language(shed.language_code)
    where = zone(user.timezone) if user is not None else UTC
    first = (shed.first or datetime.now(UTC)).astimezone(where)
    last = (shed.last or first).astimezone(where)
    text = render(
        "updates/slow_down", lang, skipped=shed.skipped, first=first.time(), last=last.time()
    )
    try:
        await application.bot.send_message(shed.chat_id, text)
    except TelegramError as exc:
        logger.info("could not tell user %s what was not read: %s", shed.user_id, exc)
