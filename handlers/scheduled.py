"""Every kind of scheduled message and how it is rendered when the outbox finds it due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, User
from bot.delivery.outgoing import Compose, Outgoing, ScheduledKind
from bot.i18n import set_owner_timezone
from bot.services import checkins, planning, quotes, reports
from handlers import checkin, coaching
from handlers import partners as partner_handlers
from handlers import planning as plan_handlers
from handlers import quotes as quote_handlers


def _in_owner_locale(compose: Compose) -> Compose:
    """Render a scheduled message with the dates and times of its owner's locale."""

    async def composed(
        session: AsyncSession, row: OutboxMessage, user: User, now: datetime
    ) -> Outgoing | None:
        set_owner_timezone(user.timezone)
        return await compose(session, row, user, now)

    return composed


def scheduled_kinds() -> dict[str, ScheduledKind]:
    kinds = _kinds()
    return {
        name: ScheduledKind(_in_owner_locale(kind.compose), kind.after_sent)
        for name, kind in kinds.items()
    }


def _kinds() -> dict[str, ScheduledKind]:
    return {
        quotes.REMINDER_KIND: ScheduledKind(quote_handlers.compose_reminder),
        checkins.CHECKIN_KIND: ScheduledKind(
            checkin.compose_scheduled, checkin.after_scheduled_sent
        ),
        checkins.FOLLOW_UP_KIND: ScheduledKind(
            checkin.compose_follow_up, checkin.after_scheduled_sent
        ),
        planning.BLOCK_START_KIND: ScheduledKind(
            plan_handlers.compose_block_start, plan_handlers.after_block_start_sent
        ),
        planning.BLOCK_END_KIND: ScheduledKind(plan_handlers.compose_block_end),
        coaching.NUDGE_KIND: ScheduledKind(coaching.compose_nudge),
        reports.WEEKLY_REVIEW_KIND: ScheduledKind(coaching.compose_weekly_review),
        reports.WEEKLY_DETAILS_KIND: ScheduledKind(coaching.compose_weekly_details),
        **partner_handlers.scheduled_kinds(),
    }
