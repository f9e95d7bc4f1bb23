"""A flooding user's updates queue behind each other, a few at most; other users go first."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Chat, Message, Update, User

from bot.fair_updates import FairUpdateProcessor


def text_update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "Owner", is_bot=False)
    chat = Chat(user_id, Chat.PRIVATE)
    message = Message(update_id, date=None, chat=chat, from_user=user, text="hello")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_a_flooder_is_capped_and_serialised_while_others_run() -> None:
    processor = FairUpdateProcessor(max_concurrent_updates=16, max_backlog=3)
    release = asyncio.Event()
    ran: list[tuple[int, int]] = []
    running_for: dict[int, int] = {}

    async def handle(update_id: int, user_id: int) -> None:
        running_for[user_id] = running_for.get(user_id, 0) + 1
        assert running_for[user_id] == 1, "one user's updates never overlap"
        if user_id == 1:
            await release.wait()
        ran.append((user_id, update_id))
        running_for[user_id] -= 1

    def submit(update_id: int, user_id: int) -> asyncio.Task[Any]:
        update = text_update(update_id, user_id)
        return asyncio.create_task(processor.process_update(update, handle(update_id, user_id)))

    flood = [submit(i, 1) for i in range(1, 11)]  # ten at once from user 1
    await asyncio.sleep(0)
    other = submit(100, 2)
    await asyncio.wait_for(other, 1)
    assert ran == [(2, 100)]  # user 2 did not wait for the flood
    assert processor.backlog(1) == 3

    release.set()
    await asyncio.gather(*flood)
    flooder = [update_id for user_id, update_id in ran if user_id == 1]
    assert flooder == [1, 2, 3]  # in order; the seven beyond the backlog were dropped
    assert processor.backlog(1) == 0
