"""Rules for a user's account: created on first contact, in their Telegram language."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import groups, users
from bot.db.models import User
from bot.i18n import pick_language
from bot.services.preferences import DEFAULT_CURRENCY, ZONE_CHOICES


class NotPrivateChat(Exception):
    """Owner data lives in private chats only."""


async def get_or_create(
    session: AsyncSession,
    *,
    telegram_id: int,
    chat_id: int,
    first_name: str,
    language_code: str | None,
    now: datetime,
) -> User:
    """The user's row, locked for this transaction; a new user gets defaults for their language."""
    if chat_id != telegram_id:
        # Only a private chat has the user's own id: a group or channel never opens or moves an
        # account (handlers/chats.py answers those before any handler gets here).
        raise NotPrivateChat(chat_id)
    user = await users.get_by_telegram_id(session, telegram_id, lock=True)
    if user is not None:
        if user.chat_id != chat_id or user.first_name != first_name[:255]:
            user.chat_id, user.first_name = chat_id, first_name[:255]
        return user
    lang = pick_language(language_code)
    user = User(
        telegram_id=telegram_id,
        chat_id=chat_id,
        first_name=first_name[:255],
        language=lang,
        timezone=ZONE_CHOICES[lang][0],
        currency=DEFAULT_CURRENCY[lang],
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        # Another replica created the same user a moment ago: use that row.
        found = await users.get_by_telegram_id(session, telegram_id, lock=True)
        assert found is not None
        return found
    return user


def reactivate(user: User, now: datetime) -> bool:
    """A user who blocked the bot and came back with /start is reachable again."""
    if user.blocked_at is None:
        return False
    user.blocked_at = None
    user.updated_at = now
    return True


async def find(session: AsyncSession, telegram_id: int, *, lock: bool = False) -> User | None:
    """The account of a Telegram user, without creating one (`lock`: one update at a time)."""
    return await users.get_by_telegram_id(session, telegram_id, lock=lock)


async def claim_group_notice(session: AsyncSession, chat_id: int, today: date) -> bool:
    """Whether a group may get its "I coach in private" line today (at most once a day)."""
    return await groups.claim_notice(session, chat_id, today)
