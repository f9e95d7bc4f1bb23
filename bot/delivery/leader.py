"""Which replica dispatches: one at a time, through a PostgreSQL advisory lock, with a lease.

Only the leader sends scheduled messages, so its rate limiter sees every scheduled send and the
deployment as a whole stays under Telegram's limits. The lock belongs to the leader's database
connection: when that replica dies, or its connection is killed, PostgreSQL releases it and the
next replica to tick takes over. SQLite runs a single process (enforced at start), which always
leads.

Fencing, so two replicas never send at once: the leader checks its lock connection every
HEARTBEAT and may send only within LEASE of the last check that found it alive (a stalled or
cut-off leader stops by itself); a new leader waits TAKEOVER (longer than LEASE, plus a send's
worth of pacing) before its first send, by which time any previous leader has stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

DISPATCH_LOCK_KEY = 0x50C0_ACE1  # any constant shared by every replica
HEARTBEAT_SECONDS = 0.5
LEASE_SECONDS = 1.5
TAKEOVER_SECONDS = 2.5


class DispatchLeadership:
    """`await acquire()` is True while this process holds the lock; `may_send()` says whether a
    send may start right now (the lease is fresh and the takeover wait is over)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        lease: float = LEASE_SECONDS,
        takeover: float = TAKEOVER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._heartbeat, self._lease, self._takeover = heartbeat, lease, takeover
        self._clock = clock
        self._connection: AsyncConnection | None = None
        self._beating: asyncio.Task[None] | None = None
        self._acquired_at = 0.0
        self._confirmed_at = 0.0  # when a check that found the lock held was started

    @property
    def _exclusive(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def acquire(self) -> bool:
        if not self._exclusive:
            return True
        if self._connection is not None:
            if self._beating is not None and not self._beating.done():
                return True  # the heartbeat keeps checking the lock
            await self.release()
        started = self._clock()
        connection: AsyncConnection | None = None
        try:
            connection = await self._engine.connect()
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": DISPATCH_LOCK_KEY}
            )
            await connection.commit()
        except Exception:
            logger.warning("could not ask for the dispatch lock; will try again", exc_info=True)
            if connection is not None:
                await _close(connection)
            return False
        if not got:
            await _close(connection)
            return False
        self._connection = connection
        self._acquired_at = self._confirmed_at = started
        self._beating = asyncio.create_task(self._beat(connection), name="dispatch-lease")
        logger.info("this replica now dispatches scheduled messages")
        return True

    def may_send(self) -> bool:
        if not self._exclusive:
            return True
        if self._connection is None:
            return False
        now = self._clock()
        return self._acquired_at + self._takeover <= now < self._confirmed_at + self._lease

    async def ready(self) -> bool:
        """Wait out the takeover delay after acquiring; False if the lease is lost meanwhile."""
        while not self.may_send():
            if self._connection is None or self._clock() >= self._confirmed_at + self._lease:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _beat(self, connection: AsyncConnection) -> None:
        """Check the lock's connection again and again; on the first failure, give it up."""
        while True:
            await asyncio.sleep(self._heartbeat)
            started = self._clock()
            try:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), self._lease)
            except Exception:
                logger.warning("lost the dispatch lock's connection: sending stops", exc_info=True)
                self._connection = None
                await _close(connection)
                return
            self._confirmed_at = started

    async def release(self) -> None:
        beating, self._beating = self._beating, None
        if beating is not None:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close(connection)


async def _close(connection: AsyncConnection) -> None:
    try:
        await asyncio.wait_for(connection.close(), 5)
    except Exception:  # a dead connection cannot be closed cleanly; it is gone anyway
        logger.debug("closing the leader connection failed", exc_info=True)
