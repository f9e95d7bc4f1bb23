"""Flood control like Telegram's: token buckets per chat and for the whole bot.

A bucket of ``burst`` tokens refills at ``rate`` tokens per second; a send takes one token from
its chat's bucket and one from the global bucket, or neither. The clock is injectable so tests
can move time instead of sleeping. Note that a token bucket admits up to
``burst + rate * window`` sends in a window, so "at most N per second in every window" is a
property to check on the bot's own limiter (see ``max_in_window``), not one this class enforces.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterable

__all__ = ["FloodControl", "TokenBucket", "max_in_window"]

Clock = Callable[[], float]


class TokenBucket:
    """Holds at most ``burst`` tokens and gains ``rate`` tokens per second."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(now - self._updated, 0.0)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._updated = max(now, self._updated)

    def wait_time(self, now: float) -> float:
        """Seconds until one whole token is available (0.0 if one is available now)."""
        self._refill(now)
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def take(self, now: float) -> None:
        """Remove one token; the caller has checked ``wait_time(now) == 0``."""
        self._refill(now)
        self._tokens -= 1.0


class FloodControl:
    """Decides whether a send to a chat is allowed now, and how long to wait if not."""

    def __init__(
        self,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        global_rate: float = 30.0,
        global_burst: int = 30,
        clock: Clock = time.monotonic,
    ) -> None:
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.clock = clock
        self._global = TokenBucket(global_rate, global_burst, clock())
        self._chats: dict[Hashable, TokenBucket] = {}

    def acquire(self, chat_id: Hashable) -> int | None:
        """Take a token for ``chat_id`` and return None, or return retry_after (int >= 1)."""
        now = self.clock()
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = TokenBucket(
                self.per_chat_rate, self.per_chat_burst, now
            )
        wait = max(bucket.wait_time(now), self._global.wait_time(now))
        if wait > 0.0:
            # Telegram's retry_after is whole seconds and never 0.
            return max(1, math.ceil(wait))
        bucket.take(now)
        self._global.take(now)
        return None

    def reset(self) -> None:
        """Forget all spent tokens (every bucket full again)."""
        now = self.clock()
        self._global = TokenBucket(self._global.rate, self._global.burst, now)
        self._chats.clear()


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
