"""Queries about users and their open dialog. They never commit: the caller's transaction does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Dialog, OutboxMessage, OutboxStatus, User


async def get_by_telegram_id(
    session: AsyncSession, telegram_id: int, *, lock: bool = False
) -> User | None:
    """The user with this Telegram id; `lock` serialises concurrent updates of one user."""
    query = select(User).where(User.telegram_id == telegram_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_dialog(session: AsyncSession, user: User) -> Dialog | None:
    return await session.get(Dialog, user.id)


async def set_dialog(
    session: AsyncSession,
    user: User,
    name: str,
    step: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> Dialog:
    """Start or move the user's one open dialog (a user answers one question at a time)."""
    dialog = await session.get(Dialog, user.id)
    if dialog is None:
        dialog = Dialog(user_id=user.id, name=name, step=step, data=data or {}, updated_at=now)
        session.add(dialog)
    else:
        dialog.name, dialog.step, dialog.updated_at = name, step, now
        if data is not None:
            dialog.data = data
    await session.flush()
    return dialog


async def clear_dialog(session: AsyncSession, user: User) -> None:
    dialog = await session.get(Dialog, user.id)
    if dialog is not None:
        await session.delete(dialog)
        await session.flush()


async def ids_after(session: AsyncSession, after_id: int, limit: int) -> list[int]:
    """Ids of set-up, unblocked users after `after_id`, in order (a sweep's next batch)."""
    query = (
        select(User.id)
        .where(User.id > after_id, User.onboarded_at.is_not(None), User.blocked_at.is_(None))
        .order_by(User.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def ids_without_pending(session: AsyncSession, kind: str, limit: int) -> list[int]:
    """Set-up, unblocked users with no row of this kind pending or being sent."""
    waiting = select(OutboxMessage.id).where(
        OutboxMessage.user_id == User.id,
        OutboxMessage.kind == kind,
        OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.CLAIMED]),
    )
    query = (
        select(User.id)
        .where(User.onboarded_at.is_not(None), User.blocked_at.is_(None), ~waiting.exists())
        .order_by(User.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
