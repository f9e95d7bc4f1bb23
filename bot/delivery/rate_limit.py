"""Paces outgoing messages under Telegram's limits: ~30 a second overall, ~1 a second per chat.

PTB's AIORateLimiter holds the overall limit but has no limit per private chat, so a burst of
replies or a reminder right after a check-in gets 429s. Here each chat's sends go one at a time
through that chat's token bucket, then through the bot's global bucket, and a 429 pauses every
send for its `retry_after` before retrying.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up; a taken token may be owed (queued)."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is free, without taking it."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def reserve(self, now: float) -> float:
        """Take the next token (queueing behind earlier ones); return the wait before using it."""
        self._refill(now)
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class ChatPacer:
    """One chat's bucket and a lock so its messages leave one after the other."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.bucket = TokenBucket(rate, capacity, now)
        self.lock = asyncio.Lock()
        self.used = now


class PacedRateLimiter(BaseRateLimiter[None]):
    """Rate limiter for the whole bot: global and per-chat buckets, and 429 handling.

    A bucket allows `burst + rate` sends in any one-second window, so the overall bucket keeps
    a burst of one: 28.5 a second then never reaches Telegram's 30, even with timing jitter.
    """

    def __init__(
        self,
        *,
        overall_rate: float = 28.5,
        overall_burst: float = 1,
        chat_rate: float = 1.0,
        chat_burst: float = 2,
        group_rate: float = 20 / 60,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._overall = TokenBucket(overall_rate, overall_burst, clock())
        self._chat_rate, self._chat_burst, self._group_rate = chat_rate, chat_burst, group_rate
        self._chats: dict[int | str, ChatPacer] = {}
        self._max_retries = max_retries
        self._paused_until = 0.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        self._chats.clear()

    def _pacer(self, chat_id: int | str) -> ChatPacer:
        pacer = self._chats.get(chat_id)
        if pacer is None:
            if len(self._chats) > 10_000:
                self._forget_idle()
            is_group = isinstance(chat_id, str) or chat_id < 0
            rate = self._group_rate if is_group else self._chat_rate
            pacer = self._chats[chat_id] = ChatPacer(rate, self._chat_burst, self._clock())
        return pacer

    def _forget_idle(self) -> None:
        now = self._clock()
        for chat_id, pacer in list(self._chats.items()):
            if not pacer.lock.locked() and now - pacer.used > 60:
                del self._chats[chat_id]

    async def _wait_for_pause(self) -> None:
        # The deadline can move while we sleep (another 429), hence a loop, not an Event.
        while (delay := self._paused_until - self._clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSONResult:
        counted = endpoint.startswith("send") and endpoint != "sendChatAction" and "chat_id" in data
        for attempt in range(self._max_retries + 1):
            await self._wait_for_pause()
            try:
                if not counted:
                    return await callback(*args, **kwargs)
                return await self._paced(data["chat_id"], callback, args, kwargs)
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                delay = (
                    exc.retry_after
                    if isinstance(exc.retry_after, int | float)
                    else exc.retry_after.total_seconds()
                )
                self._paused_until = max(self._paused_until, self._clock() + delay)
                logger.warning(
                    "flood control: every send waits %.1f s (attempt %s)", delay, attempt + 1
                )
        raise AssertionError("unreachable")

    async def _paced(
        self,
        chat_id: int | str,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> JSONResult:
        pacer = self._pacer(chat_id)
        async with pacer.lock:
            # The chat's wait first, then a global slot taken just before sending: a slot is
            # never held while waiting on the chat, so sends cannot bunch up after the wait.
            await asyncio.sleep(pacer.bucket.wait_time(self._clock()))
            await asyncio.sleep(self._overall.reserve(self._clock()))
            pacer.bucket.reserve(self._clock())
            pacer.used = self._clock()
            return await callback(*args, **kwargs)
