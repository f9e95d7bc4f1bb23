"""The preference questions: asked in order during onboarding, one at a time from /settings."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import users
from bot.db.models import Dialog, DialogName, User
from bot.i18n import LANGUAGES


class PrefStep(StrEnum):
    TIME = "time"
    TIMEZONE = "timezone"
    DAYS = "days"
    LANGUAGE = "language"
    CURRENCY = "currency"


ONBOARDING_ORDER = (PrefStep.TIME, PrefStep.TIMEZONE, PrefStep.DAYS)
PREFERENCE_DIALOGS = (DialogName.ONBOARDING, DialogName.SETTINGS)


def is_onboarded(user: User) -> bool:
    return user.onboarded_at is not None


async def begin_onboarding(session: AsyncSession, user: User, now: datetime) -> PrefStep:
    """Resume onboarding at the step the user was on, or start it at the first question."""
    dialog = await users.get_dialog(session, user)
    if dialog is not None and dialog.name == DialogName.ONBOARDING:
        return PrefStep(dialog.step)
    await users.set_dialog(session, user, DialogName.ONBOARDING, PrefStep.TIME, now)
    return PrefStep.TIME


async def begin_setting(session: AsyncSession, user: User, step: PrefStep, now: datetime) -> Dialog:
    """Open one settings question; the days question starts from the current days."""
    data = {"days": user.checkin_days} if step == PrefStep.DAYS else {}
    name = DialogName.ONBOARDING if not is_onboarded(user) else DialogName.SETTINGS
    return await users.set_dialog(session, user, name, step, now, data=data)


def pending_days(dialog: Dialog, user: User) -> int:
    """The days ticked so far on the days question."""
    return int(dialog.data.get("days", user.checkin_days))


async def toggle_day(session: AsyncSession, dialog: Dialog, user: User, day: int) -> int:
    days = pending_days(dialog, user) ^ (1 << day)
    dialog.data = {**dialog.data, "days": days}
    await session.flush()
    return days


async def answer(
    session: AsyncSession,
    user: User,
    dialog: Dialog,
    value: time | str | int,
    now: datetime,
) -> PrefStep | None:
    """Store the answer to the dialog's question; return the next question, or None when done."""
    step = PrefStep(dialog.step)
    if step == PrefStep.TIME:
        assert isinstance(value, time)
        user.checkin_time = value
    elif step == PrefStep.TIMEZONE:
        assert isinstance(value, str)
        user.timezone = value
    elif step == PrefStep.DAYS:
        assert isinstance(value, int) and 0 < value < 128
        user.checkin_days = value
    elif step == PrefStep.LANGUAGE:
        assert value in LANGUAGES
        user.language = str(value)
    elif step == PrefStep.CURRENCY:
        assert isinstance(value, str)
        user.currency = value
    user.updated_at = now
    if dialog.name == DialogName.ONBOARDING and step in ONBOARDING_ORDER:
        position = ONBOARDING_ORDER.index(step)
        if position + 1 < len(ONBOARDING_ORDER):
            following = ONBOARDING_ORDER[position + 1]
            await users.set_dialog(session, user, DialogName.ONBOARDING, following, now, data={})
            return following
        user.onboarded_at = now
    await users.clear_dialog(session, user)
    return None
