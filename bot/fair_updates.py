"""Updates run side by side, each user's in order, and one flooding user cannot starve the rest.

python-telegram-bot runs concurrent updates in first-come order under one pool of slots. A user
sending 50 messages a second would fill that pool with updates whose replies wait for their
chat's one-message-a-second pace, and every other user would queue behind them. Here each user
gets a lock (their updates run one at a time, in order, holding no shared slot while they wait)
and a short backlog: beyond it, that user's extra updates are dropped, not queued, so a flooder
holds at most a handful of the shared slots.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.metrics import METRICS

logger = logging.getLogger(__name__)

MAX_BACKLOG_PER_USER = 5  # one running, four waiting: about five seconds of paced replies


def sender_of(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class FairUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential per user, with a bounded backlog per user."""

    def __init__(self, max_concurrent_updates: int = 256, max_backlog: int = MAX_BACKLOG_PER_USER):
        super().__init__(max_concurrent_updates)
        self._max_backlog = max_backlog
        self._locks: dict[int, asyncio.Lock] = {}
        self._backlog: Counter[int] = Counter()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def backlog(self, user_id: int) -> int:
        return self._backlog[user_id]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # Runs inside PTB's pool of slots; a user holds at most `max_backlog` of them.
        user_id = sender_of(update)
        if user_id is None:
            await coroutine
            return
        if self._backlog[user_id] >= self._max_backlog:
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never run: the user is sending faster than we answer
            METRICS.updates_dropped.inc()
            logger.info("dropped an update from user %s: %s waiting", user_id, self._max_backlog)
            return
        self._backlog[user_id] += 1
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            self._backlog[user_id] -= 1
            if not self._backlog[user_id]:
                del self._backlog[user_id]
                self._locks.pop(user_id, None)
