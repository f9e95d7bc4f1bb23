"""Every kind of scheduled message and how it is rendered when the outbox finds it due."""

from __future__ import annotations

from bot.delivery.outgoing import ScheduledKind
from bot.services import checkins
from handlers import checkin


def scheduled_kinds() -> dict[str, ScheduledKind]:
    return {
        checkins.CHECKIN_KIND: ScheduledKind(
            checkin.compose_scheduled, checkin.after_scheduled_sent
        ),
        checkins.FOLLOW_UP_KIND: ScheduledKind(
            checkin.compose_follow_up, checkin.after_scheduled_sent
        ),
    }
