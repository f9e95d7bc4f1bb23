"""A quiet day: how many messages an owner gets from the bot without asking, at most.

Rules:
- Every message the outbox sends counts for the owner's local day it was sent on: the check-in
  (with the quote reminders due at that moment in it), each block's start ping and end question,
  quote reminders on their own, the Monday review (its chart and its details), the gentle
  follow-up and the coaching nudge.
- Promises always go: the check-in, block pings and questions, quote reminders, the review and
  anything the owner asked for ("⏳ Later").
- Extras — the gentle follow-up of an unanswered check-in and the coaching nudge — go only while
  the owner has had fewer than MAX_UNPROMPTED_A_DAY messages that day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import outbox
from bot.db.models import User
from bot.services import schedule
from bot.services.preferences import zone

MAX_UNPROMPTED_A_DAY = 4


async def sent_today(session: AsyncSession, user: User, now: datetime) -> int:
    """How many scheduled messages the owner got on their local day so far."""
    tz = zone(user.timezone)
    today = schedule.local_date(now, tz)
    start = schedule.local_moment(today, datetime.min.time(), tz)
    end = schedule.local_moment(today + timedelta(days=1), datetime.min.time(), tz)
    return await outbox.sent_between(session, user.id, start, end)


async def room_for_an_extra(session: AsyncSession, user: User, now: datetime) -> bool:
    """Whether an extra (a follow-up, a nudge) still fits in the owner's day."""
    return await sent_today(session, user, now) < MAX_UNPROMPTED_A_DAY
