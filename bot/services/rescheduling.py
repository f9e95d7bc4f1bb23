"""Everything a user has scheduled follows their check-in time, days and zone, and their return.

Check-ins, quote reminders (sent at the check-in time on check-in days), plan-block pings (in the
user's zone) and the weekly review are planned ahead in the outbox; when the preferences behind
them change, or a user who had blocked the bot comes back, they are planned again here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import User
from bot.services import checkins, planning, quotes


async def reschedule_all(session: AsyncSession, user: User, now: datetime) -> datetime | None:
    """Plan every scheduled message of the user again; returns the next check-in's time."""
    next_checkin = await checkins.reschedule(session, user, now)
    await quotes.reschedule_all(session, user, now)
    await planning.reschedule(session, user, now)
    return next_checkin
