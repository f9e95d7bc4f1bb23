"""Retention: sent and cancelled scheduled messages, and handled webhook updates, are deleted
once older than their retention period (OUTBOX_RETENTION_DAYS, INBOX_RETENTION_DAYS).

Deleted in small chunks, one short transaction each, so a prune never holds the database's
write lock (SQLite) or many row locks (PostgreSQL) long enough to delay an owner's tap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import inbox, outbox
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

CHUNK = 500
INTERVAL_SECONDS = 600.0  # how often the retention job runs


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int


async def prune(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    outbox_days: float,
    inbox_days: float,
    chunk: int = CHUNK,
) -> Pruned:
    """Delete what is past retention, chunk by chunk; returns how many rows went."""
    sent = await _chunked(
        sessions, lambda s: outbox.prune(s, now - timedelta(days=outbox_days), limit=chunk), chunk
    )
    handled = await _chunked(
        sessions, lambda s: inbox.prune(s, now - timedelta(days=inbox_days), limit=chunk), chunk
    )
    METRICS.outbox_pruned.inc(sent)
    METRICS.inbox_pruned.inc(handled)
    if sent or handled:
        logger.info("retention: %s scheduled messages and %s updates deleted", sent, handled)
    return Pruned(outbox=sent, inbox=handled)


async def _chunked(
    sessions: async_sessionmaker[AsyncSession],
    step: Callable[[AsyncSession], Awaitable[int]],
    chunk: int,
) -> int:
    total = 0
    while True:
        async with sessions.begin() as session:
            deleted = await step(session)
        total += deleted
        if deleted < chunk:
            return total
        # Let other writers in between chunks (SQLite's waiting writers poll for the lock).
        await asyncio.sleep(0.1)
