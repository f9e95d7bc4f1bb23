"""An account is opened and kept only from its owner's private chat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import User
from bot.services import accounts

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def test_a_group_or_channel_never_opens_or_moves_an_account(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await accounts.get_or_create(
            session, telegram_id=42, chat_id=42, first_name="Ana", language_code="fr", now=NOW
        )
        assert user.chat_id == 42
    for chat_id in (-1001234, -42, 1087968824):
        with pytest.raises(accounts.NotPrivateChat):
            async with sessions.begin() as session:
                await accounts.get_or_create(
                    session, telegram_id=42, chat_id=chat_id, first_name="Ana",
                    language_code="fr", now=NOW,
                )  # fmt: skip
    with pytest.raises(accounts.NotPrivateChat):
        async with sessions.begin() as session:
            await accounts.get_or_create(
                session, telegram_id=1087968824, chat_id=-100999, first_name="Group",
                language_code=None, now=NOW,
            )  # fmt: skip
    async with sessions() as session:
        assert (await session.execute(select(User.telegram_id, User.chat_id))).all() == [(42, 42)]
        assert await session.scalar(select(func.count()).select_from(User)) == 1
