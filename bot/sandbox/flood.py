"""Flood control at least as strict as Telegram's documented limits, on sliding windows.

- overall: no more than ``global_limit`` (30) messages in any one-second window, no burst above
  it (a token bucket would let 30 saved tokens plus 30 refilled ones through in one second);
- a private chat: no more than ``per_chat_limit`` (1) message in any second;
- a group (negative chat id): no more than ``group_limit`` (20) in any minute;
- a paid broadcast (``allow_paid_broadcast``) is not counted against the overall 30 but against
  ``paid_limit`` (1,000) a second over all messages; the chat limits still hold.

The server counts edits like sends. The clock is injectable so tests can move time instead of
sleeping.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable

__all__ = ["FloodControl", "SlidingWindow", "max_in_window"]

Clock = Callable[[], float]


class SlidingWindow:
    """At most ``limit`` events in any ``seconds``-long window (events are kept until they age)."""

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("a window needs limit >= 1 and seconds > 0")
        self.limit = limit
        self.seconds = seconds
        self._times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0.0 if it fits now)."""
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._times.append(now)

    @property
    def idle(self) -> bool:
        return not self._times


class FloodControl:
    """Decides whether a message to a chat is allowed now, and how long to wait if not."""

    def __init__(
        self,
        per_chat_limit: int = 1,
        global_limit: int = 30,
        group_limit: int = 20,
        paid_limit: int = 1000,
        clock: Clock = time.monotonic,
    ) -> None:
        self.per_chat_limit = per_chat_limit
        self.global_limit = global_limit
        self.group_limit = group_limit
        self.paid_limit = paid_limit
        self.clock = clock
        self.reset()

    def _chat_window(self, chat_id: Hashable) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            if len(self._chats) > 50_000:  # forget the chats whose window has emptied
                now = self.clock()
                for key in [k for k, w in self._chats.items() if w.wait_time(now) == 0 and w.idle]:
                    del self._chats[key]
            is_group = isinstance(chat_id, int) and chat_id < 0
            window = self._chats[chat_id] = (
                SlidingWindow(self.group_limit, 60.0)
                if is_group
                else SlidingWindow(self.per_chat_limit, 1.0)
            )
        return window

    def acquire(self, chat_id: Hashable, *, paid: bool = False) -> int | None:
        """Count a message to ``chat_id`` and return None, or return retry_after (int >= 1)."""
        now = self.clock()
        windows = [self._chat_window(chat_id), self._all]
        if not paid:
            windows.append(self._free)
        wait = max(w.wait_time(now) for w in windows)
        if wait > 0.0:
            # Telegram's retry_after is whole seconds and never 0.
            return max(1, math.ceil(wait))
        for window in windows:
            window.record(now)
        return None

    def reset(self) -> None:
        """Forget every counted message (all windows empty again)."""
        self._free = SlidingWindow(self.global_limit, 1.0)
        self._all = SlidingWindow(self.paid_limit, 1.0)
        self._chats: dict[Hashable, SlidingWindow] = {}


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """Largest number of the given instants inside any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best
