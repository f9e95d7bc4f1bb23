"""Leader fencing on PostgreSQL: a leader whose lock connection dies stops sending at once, and
the next one starts only after the old one's lease has run out."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.leader import DISPATCH_LOCK_KEY, DispatchLeadership

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
# The lease has no event to wait on: these tests poll it, as the dispatcher does.
# ruff: noqa: ASYNC110


async def kill_lock_holder(engine: AsyncEngine) -> int:
    """Terminate the backend holding the dispatch lock, as an admin or a network cut would."""
    async with engine.connect() as conn:
        pid = await conn.scalar(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objid = :key AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())"
            ),
            {"key": DISPATCH_LOCK_KEY},
        )
        assert pid is not None
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await conn.commit()
    return int(pid)


async def test_a_leader_that_loses_its_lock_stops_before_the_next_one_starts(
    engine: AsyncEngine,
) -> None:
    first, second = DispatchLeadership(engine), DispatchLeadership(engine)
    try:
        assert await first.acquire()
        assert not first.may_send(), "a new leader waits out the takeover delay"
        assert await first.ready() and first.may_send()
        assert not await second.acquire()

        await kill_lock_holder(engine)
        killed = time.monotonic()
        while first.may_send():
            await asyncio.sleep(0.01)
        stopped = time.monotonic()
        assert stopped - killed < 1.5, "the cut-off leader stops within a second or so"

        while not await second.acquire():
            await asyncio.sleep(0.05)
        took_over = time.monotonic()
        assert not second.may_send()
        assert await second.ready()
        started = time.monotonic()
        assert started - took_over >= 2.0 and started > stopped + 1.0
        assert not first.may_send()
        assert not await first.acquire(), "the old leader cannot take the lock back"
    finally:
        await first.release()
        await second.release()


async def test_a_stalled_leader_stops_when_its_lease_runs_out(engine: AsyncEngine) -> None:
    now = [0.0]
    leader = DispatchLeadership(engine, heartbeat=3600, clock=lambda: now[0])
    try:
        assert await leader.acquire()
        now[0] = 2.6  # takeover delay over, last check 2.6 s ago: longer than the lease
        assert not leader.may_send()
        now[0] = 2.5
        leader._confirmed_at = 1.5  # a heartbeat a second ago
        assert leader.may_send()
    finally:
        await leader.release()
