"""Paces outgoing messages under Telegram's limits, edits included.

Telegram allows about 30 messages a second overall, 1 a second in a private chat and 20 a
minute in a group, and counts edits like sends. PTB's AIORateLimiter has no per-chat limit for
private chats and ignores edits, so a burst of replies or taps gets 429s. Here every send and
edit waits for its chat's window, then takes the next overall slot (first come, first served),
and a 429 pauses every send for its `retry_after` before retrying.

The windows are sliding, and a send counts from the moment its answer came back: Telegram
received it at that moment at the latest, so however late a request travels (a busy machine,
network jitter), the next one cannot reach Telegram less than a window after it. A late event
loop only delays sends; it never lets the ones that waited leave together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
MARGIN_SECONDS = 0.01  # added to every window, for clock rounding
IN_FLIGHT_POLL = 0.005  # seconds between looks at a window whose oldest send is still out


class Sent:
    """One counted send: when it started, and when its answer came back (None: still out)."""

    __slots__ = ("done", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.done: float | None = None


class Window:
    """At most `limit` sends in any `seconds` (counted from their answers) and `spacing`
    seconds between two starts."""

    def __init__(self, limit: int, seconds: float, spacing: float = 0.0) -> None:
        self.limit = limit
        self.seconds = seconds
        self.spacing = spacing
        self.sends: deque[Sent] = deque(maxlen=limit)

    def wait_time(self, now: float) -> float:
        """Seconds until a send may start (0.0 now); nothing is taken."""
        wait = 0.0
        if self.sends:
            wait = self.sends[-1].start + self.spacing - now
            if len(self.sends) == self.limit:
                oldest = self.sends[0].done
                window = IN_FLIGHT_POLL if oldest is None else oldest + self.seconds - now
                wait = max(wait, window)
        return max(wait, 0.0)

    def record(self, now: float) -> Sent:
        sent = Sent(now)
        self.sends.append(sent)
        return sent


class Lane:
    """An overall window and the queue in front of it: waiters take its slots in turn."""

    def __init__(self, limit: int, seconds: float, *, smooth: bool) -> None:
        # Smoothing spreads the free 30 over the second (a reply never waits behind a burst of
        # 30); a paid lane of hundreds is not smoothed, a sleep per send would cost more.
        self.window = Window(limit, seconds, spacing=seconds / limit if smooth else 0.0)
        self.queue = asyncio.Lock()  # FIFO: no thundering herd when a slot frees


class ChatPacer:
    """One chat's window and a lock so its messages leave one after the other."""

    def __init__(self, window: Window, now: float) -> None:
        self.window = window
        self.lock = asyncio.Lock()
        self.used = now


class PacedRateLimiter(BaseRateLimiter[None]):
    """Rate limiter for the whole bot: per-chat and overall windows, and 429 handling.

    `overall_limit` messages a second without `allow_paid_broadcast`; with a `paid_limit`, paid
    broadcasts go through their own lane of that many a second (Telegram: up to 1,000), which
    free messages count against too.
    """

    def __init__(
        self,
        *,
        overall_limit: int = 30,
        paid_limit: int | None = None,
        chat_limit: int = 1,
        group_limit: int = 20,
        group_seconds: float = 60.0,
        margin: float = MARGIN_SECONDS,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._margin = margin
        self._free = Lane(overall_limit, 1.0 + margin, smooth=True)
        self._paid = Lane(paid_limit, 1.0 + margin, smooth=False) if paid_limit else None
        self._chat_limit, self._group_limit = chat_limit, group_limit
        self._group_seconds = group_seconds
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
            window = (
                Window(self._group_limit, self._group_seconds + self._margin)
                if is_group
                else Window(self._chat_limit, 1.0 + self._margin)
            )
            pacer = self._chats[chat_id] = ChatPacer(window, self._clock())
        return pacer

    def _forget_idle(self) -> None:
        now = self._clock()
        for chat_id, pacer in list(self._chats.items()):
            if not pacer.lock.locked() and now - pacer.used > self._group_seconds + 1:
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
        # Telegram counts messages and their edits; chat actions and callback answers are free.
        counted = (
            endpoint.startswith(("send", "edit"))
            and endpoint != "sendChatAction"
            and "chat_id" in data
        )
        for attempt in range(self._max_retries + 1):
            await self._wait_for_pause()
            try:
                if not counted:
                    return await callback(*args, **kwargs)
                if data.get("allow_paid_broadcast") and self._paid is not None:
                    return await self._paced(data["chat_id"], callback, args, kwargs, paid=True)
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

    async def _slot(self, lanes: list[Lane], chat: Window) -> list[Sent]:
        """Queue in each lane until every window has room, then count the send in all of them."""
        async with contextlib.AsyncExitStack() as queues:
            for lane in lanes:
                await queues.enter_async_context(lane.queue)
            # Re-checked after every sleep: a loop that wakes late only waits less, and sends
            # that waited never leave together.
            while True:
                now = self._clock()
                wait = max(chat.wait_time(now), *(lane.window.wait_time(now) for lane in lanes))
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            return [lane.window.record(now) for lane in lanes] + [chat.record(now)]

    async def _paced(
        self,
        chat_id: int | str,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        *,
        paid: bool = False,
    ) -> JSONResult:
        pacer = self._pacer(chat_id)
        async with pacer.lock:
            # The chat's wait first, outside the overall queue, so one busy chat never holds
            # up the others; then the overall slot, taken just before sending.
            while (wait := pacer.window.wait_time(self._clock())) > 0:  # noqa: ASYNC110 - time
                await asyncio.sleep(wait)
            if paid:
                assert self._paid is not None
                lanes = [self._paid]
            else:
                lanes = [self._free, self._paid] if self._paid is not None else [self._free]
            sends = await self._slot(lanes, pacer.window)
            try:
                return await callback(*args, **kwargs)
            finally:
                pacer.used = self._clock()
                for sent in sends:
                    sent.done = pacer.used
