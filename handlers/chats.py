"""Private chats only: groups, channels and anonymous senders never reach an owner's data.

Matched before every other handler. Nothing here opens an account: a group, supergroup or
channel gets at most one short line a day ("I coach in private", with a button to the private
chat) when someone sends a command there or adds the bot; everything else in it is ignored.
The bot stays in the groups it is added to (leaving would need an admin to re-add it to ever
show the line again) and reads only what Telegram gives bots there: commands and replies.
"""

from __future__ import annotations

import logging

from telegram import (
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler

from bot.context import BotContext
from bot.i18n import label, pick_language, render
from bot.services import accounts

logger = logging.getLogger(__name__)

# Every anonymous group admin writes as this one Telegram user, whatever the group.
ANONYMOUS_ADMIN_ID = 1087968824
START_PAYLOAD = "from_group"
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR)


def outside_private(update: Update) -> bool:
    """Anything but a person writing in their own private chat with the bot."""
    if update.channel_post is not None or update.edited_channel_post is not None:
        return True
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return True
    user = update.effective_user
    return user is not None and (user.id == ANONYMOUS_ADMIN_ID or user.is_bot)


class OutsidePrivateChat(BaseHandler[Update, BotContext, None]):
    def check_update(self, update: object) -> bool:
        return isinstance(update, Update) and outside_private(update)


def _command_for_us(message: Message | None, username: str) -> bool:
    """A /command at the start of a new message, not addressed to another bot."""
    if message is None or not message.text or not message.entities:
        return False
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return False
    command = message.text[: first.length]
    _, _, addressee = command.partition("@")
    return not addressee or addressee.lower() == username.lower()


def _bot_joined(update: Update) -> bool:
    change = update.my_chat_member
    if change is None:
        return False
    return change.new_chat_member.status in PRESENT and change.old_chat_member.status not in PRESENT


async def on_outside_private(update: Update, context: BotContext) -> None:
    """Stores nothing; at most one "I coach in private" line a day in that chat."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        return
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return  # a private message "as a channel": nothing to say, nothing to store
    username = context.bot.username
    asked = _command_for_us(update.message or update.channel_post, username)
    if not (asked or _bot_joined(update)):
        return
    data = context.bot_data
    async with data.sessions.begin() as session:
        if not await accounts.claim_group_notice(session, chat.id, data.clock.now().date()):
            return
    # A group has no language of its own: the sender's, unless they are anonymous.
    sender = update.effective_user
    known = sender is not None and sender.id != ANONYMOUS_ADMIN_ID
    lang = pick_language(sender.language_code if known and sender is not None else None)
    button = InlineKeyboardButton(
        label("buttons/open_private_chat", lang),
        url=f"https://t.me/{username}?start={START_PAYLOAD}",
    )
    try:
        await context.bot.send_message(
            chat.id,
            render("groups/private_only", lang),
            reply_markup=InlineKeyboardMarkup([[button]]),
        )
    except TelegramError as exc:  # no right to post there: the line is not owed
        logger.info("could not post the private-chat notice in chat %s: %s", chat.id, exc)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [OutsidePrivateChat(on_outside_private)]
