"""What every handler shares: one database session and user per update, replies and keyboards."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.db.models import User
from bot.i18n import set_owner_timezone
from bot.logs import current_update_id, current_user_id
from bot.services import accounts

logger = logging.getLogger(__name__)

Button = tuple[str, str]  # (label, callback data)
Keyboard = Sequence[Sequence[Button]]


@dataclass
class Turn:
    """One update being handled: its transaction, its user, their language and the time."""

    session: AsyncSession
    user: User
    now: datetime

    @property
    def lang(self) -> str:
        return self.user.language


@asynccontextmanager
async def user_turn(update: Update, context: BotContext) -> AsyncIterator[Turn]:
    """Open the update's one transaction with its user row locked (created on first contact)."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    current_update_id.set(update.update_id)
    current_user_id.set(tg_user.id)
    now = context.bot_data.clock.now()
    async with context.bot_data.sessions.begin() as session:
        user = await accounts.get_or_create(
            session,
            telegram_id=tg_user.id,
            chat_id=chat.id,
            first_name=tg_user.first_name,
            language_code=tg_user.language_code,
            now=now,
        )
        set_owner_timezone(user.timezone)  # dates and times in the owner's locale
        yield Turn(session=session, user=user, now=now)


def keyboard(rows: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def reply(update: Update, text: str, rows: Keyboard | None = None) -> Message | None:
    """Answer in the update's chat: a new message under the user's message or button."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=keyboard(rows))


async def edit_or_reply(update: Update, text: str, rows: Keyboard | None = None) -> None:
    """Replace the message whose button was pressed (so old keyboards disappear), else reply."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        try:
            await query.edit_message_text(text, reply_markup=keyboard(rows))
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            logger.info("could not edit message, sending a new one: %s", exc)
    await reply(update, text, rows)


async def drop_keyboard(update: Update) -> None:
    """Remove the keyboard of the pressed message (an answered or stale question)."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    if query.message.reply_markup is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        logger.info("could not drop keyboard: %s", exc)
