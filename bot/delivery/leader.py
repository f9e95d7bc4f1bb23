"""Which replica dispatches: one at a time, through a PostgreSQL advisory lock.

Only the leader sends scheduled messages, so its rate limiter sees every scheduled send and the
deployment as a whole stays under Telegram's limits. The lock belongs to the leader's database
connection: when that replica dies, PostgreSQL releases it and the next replica to tick takes over.
SQLite runs a single process (enforced at start), which always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

DISPATCH_LOCK_KEY = 0x50C0_ACE1  # any constant shared by every replica


class DispatchLeadership:
    """`await leadership.acquire()` is True while this process is the dispatching replica."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True
        try:
            if self._connection is not None:
                await self._connection.execute(text("SELECT 1"))  # still alive, still leading
                return True
            connection = await self._engine.connect()
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": DISPATCH_LOCK_KEY}
            )
            if got:
                await connection.commit()
                self._connection = connection
                logger.info("this replica now dispatches scheduled messages")
                return True
            await connection.close()
            return False
        except (OperationalError, DBAPIError, OSError):
            logger.warning("lost the dispatch lock's connection; will try again", exc_info=True)
            await self.release()
            return False

    async def release(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.close()
            except Exception:  # a dead connection cannot be closed cleanly; it is gone anyway
                logger.debug("closing the leader connection failed", exc_info=True)
            self._connection = None
