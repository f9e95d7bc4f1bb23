"""Every kind of scheduled message and how it is rendered when the outbox finds it due."""

from __future__ import annotations

from bot.delivery.outgoing import ScheduledKind
from bot.services import checkins, planning, quotes, reports
from handlers import checkin, coaching
from handlers import partners as partner_handlers
from handlers import planning as plan_handlers
from handlers import quotes as quote_handlers


def scheduled_kinds() -> dict[str, ScheduledKind]:
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
