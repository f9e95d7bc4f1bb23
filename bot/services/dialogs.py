"""The owner's one open dialog (a guided /quote, /plan, /goal, settings...), and when typed text
answers it rather than a check-in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import users
from bot.db.models import CheckIn, Dialog, User

# A guided dialog left for a day no longer takes typed text: it would swallow unrelated input.
GUIDED_TTL = timedelta(hours=24)


def takes_typed_text(
    dialog: Dialog | None, name: str, open_checkin: CheckIn | None, now: datetime
) -> bool:
    """The dialog `name` is open, recent, and was asked after any check-in still open."""
    if dialog is None or dialog.name != name or now - dialog.updated_at > GUIDED_TTL:
        return False
    return open_checkin is None or open_checkin.asked_at <= dialog.updated_at


async def current(session: AsyncSession, user: User) -> Dialog | None:
    """The owner's open dialog, if any."""
    return await users.get_dialog(session, user)


async def begin(
    session: AsyncSession,
    user: User,
    name: str,
    step: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> Dialog:
    """Open (or move) the owner's dialog: one question at a time."""
    return await users.set_dialog(session, user, name, step, now, data)


async def close(session: AsyncSession, user: User) -> None:
    """The owner's dialog is over (finished, cancelled or replaced by a command)."""
    await users.clear_dialog(session, user)
