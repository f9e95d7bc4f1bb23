"""The one thing kept about groups: the day each last got the "I coach in private" line."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import GroupNotice


async def claim_notice(session: AsyncSession, chat_id: int, today: date) -> bool:
    """True (and remembered) if the chat has not had its notice today; False otherwise."""
    row = await session.get(GroupNotice, chat_id, with_for_update=True)
    if row is not None:
        if row.notified_on >= today:
            return False
        row.notified_on = today
        return True
    try:
        async with session.begin_nested():
            session.add(GroupNotice(chat_id=chat_id, notified_on=today))
    except IntegrityError:
        return False  # another replica claimed it a moment ago
    return True
