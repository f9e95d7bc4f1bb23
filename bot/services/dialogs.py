"""When typed text answers a guided dialog (/quote, /plan, /goal) rather than a check-in."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db.models import CheckIn, Dialog

# A guided dialog left for a day no longer takes typed text: it would swallow unrelated input.
GUIDED_TTL = timedelta(hours=24)


def takes_typed_text(
    dialog: Dialog | None, name: str, open_checkin: CheckIn | None, now: datetime
) -> bool:
    """The dialog `name` is open, recent, and was asked after any check-in still open."""
    if dialog is None or dialog.name != name or now - dialog.updated_at > GUIDED_TTL:
        return False
    return open_checkin is None or open_checkin.asked_at <= dialog.updated_at
