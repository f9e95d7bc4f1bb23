"""A quiet check-in hour: what is due at the check-in's moment goes into the check-in.

Rules:
- Quote reminders and block start pings due within FOLD_WINDOW of the check-in being sent are
  not sent on their own: the check-in carries them as sections (one message, not three), and
  their rows are settled as folded into it (sent, but not a message of their own). A block ping
  folded in records the occurrence, so the "did it happen?" question still comes at its end.
- Each folded message is checked exactly as if it were sent alone (the quote still open with the
  same expiry, the block still planned and not over); one that no longer makes sense is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import outbox
from bot.db.models import OutboxMessage, OutboxStatus, Quote, User
from bot.services import planning, quotes

FOLD_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class FoldedBlock:
    start: time
    end: time


@dataclass
class Extras:
    reminders: list[tuple[Quote, int]] = field(default_factory=list)  # (quote, days left)
    blocks: list[FoldedBlock] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.reminders or self.blocks)


async def fold_into_checkin(
    session: AsyncSession, user: User, checkin_row: OutboxMessage, now: datetime, today: date
) -> Extras:
    """Take the reminders and block pings due with this check-in into it."""
    extras = Extras()
    rows = await outbox.due_around(
        session,
        user.id,
        (quotes.REMINDER_KIND, planning.BLOCK_START_KIND),
        checkin_row.due_at - FOLD_WINDOW,
        checkin_row.due_at + FOLD_WINDOW,
    )
    for row in rows:
        folded = False
        if row.kind == quotes.REMINDER_KIND:
            quote = await quotes.due_reminder(session, user, row, now)
            if quote is not None:
                extras.reminders.append((quote, (quote.expires_on - today).days))
                folded = True
        else:
            occurrence = await planning.begin_block(session, user, row, now)
            if occurrence is not None:
                await planning.after_block_started(session, user, row, now)
                block = occurrence.block
                end = planning.end_of(block.start_time, block.duration_minutes)
                extras.blocks.append(FoldedBlock(block.start_time, end))
                folded = True
        row.status = OutboxStatus.FOLDED if folded else OutboxStatus.CANCELLED
        row.sent_at = now if folded else None
    extras.reminders.sort(key=lambda item: (item[1], item[0].client))
    return extras
