"""Every kind of scheduled message and how it is rendered when the outbox finds it due."""

from __future__ import annotations

from bot.delivery.outgoing import ScheduledKind
from bot.services import checkins, quotes
from handlers import checkin
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
    }
