"""The repair sweep: every owner's scheduled messages are checked against what should be pending.

In a healthy system it changes nothing. Each owner it had to fix is counted in /metrics
(`prospect_coach_schedule_repairs`) and logged at WARNING with what changed: a repair is a bug
report about whatever let the schedule drift.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import users
from bot.metrics import METRICS
from bot.services import checkins, schedules

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class SweepReport:
    checked: int = 0
    repaired: int = 0


class ScheduleSweep:
    """Checks owners in bounded batches: those missing a check-in first, then everyone in turn."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._batch_size = batch_size
        self._cursor = 0  # where the round of everyone goes on; a restart just starts again

    async def run(self) -> SweepReport:
        report = SweepReport()
        async with self._sessions() as session:
            missing = await users.ids_without_pending(
                session, checkins.CHECKIN_KIND, self._batch_size
            )
            in_turn = await users.ids_after(session, self._cursor, self._batch_size)
        self._cursor = in_turn[-1] if len(in_turn) == self._batch_size else 0
        for user_id in dict.fromkeys([*missing, *in_turn]):
            report.checked += 1
            if await self._check(user_id):
                report.repaired += 1
        return report

    async def _check(self, user_id: int) -> bool:
        """One short transaction per owner, so no tap waits behind the sweep."""
        async with self._sessions.begin() as session:
            user = await users.get_by_id(session, user_id)
            if user is None:
                return False
            result = await schedules.sync(session, user, self._clock.now())
        if not result.changes:
            return False
        METRICS.schedule_repairs.inc()
        logger.warning(
            "schedule of user %s repaired: added or moved %s, cancelled %s",
            user_id,
            result.added,
            result.cancelled,
        )
        return True
