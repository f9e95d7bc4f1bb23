"""Streaks that forgive: how many check-ins in a row the owner answered.

Rules:
- Only days the bot actually asked count. A day with no check-in asked (paused, not a check-in day,
  bot down) is neutral: it neither extends nor breaks the streak.
- Walk back from today over the asked days:
  - answered -> the streak grows by one;
  - missed (asked, never answered) -> forgiven if fewer than MISSES_FORGIVEN_PER_MONTH (2) misses
    of that day's calendar month were already forgiven in this walk; else the streak stops there.
- Today's check-in, if not answered yet, is pending, not missed: the day is not over.
- Days after `today` are ignored (a clock skew must not count the future).
- A miss is "inside" the streak only when an answered day older than it is in the streak. Misses
  older than the streak's oldest answer protected nothing, so they are not reported as forgiven.
  Hence `allowance_left` is exactly how many more misses this month the current streak survives
  without losing any answered day (a broken streak starts over with a fresh allowance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

MISSES_FORGIVEN_PER_MONTH = 2


@dataclass(frozen=True)
class Streak:
    length: int  # answered check-ins in the current streak
    forgiven: int  # missed days forgiven inside the current streak, in the current month
    allowance_left: int  # misses still forgiven this month (0..2)


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def compute_streak(asked: Mapping[date, bool], today: date) -> Streak:
    """The current streak as of `today`, from each asked day mapped to whether it was answered."""
    length = 0
    forgiven_per_month: dict[tuple[int, int], int] = {}
    not_yet_inside: list[date] = []  # forgiven misses with no older answer seen yet
    inside: list[date] = []
    for day in sorted((d for d in asked if d <= today), reverse=True):
        if asked[day]:
            length += 1
            inside.extend(not_yet_inside)
            not_yet_inside.clear()
        elif day == today:
            continue  # pending: today can still be answered
        else:
            month = _month(day)
            used = forgiven_per_month.get(month, 0)
            if used >= MISSES_FORGIVEN_PER_MONTH:
                break
            forgiven_per_month[month] = used + 1
            not_yet_inside.append(day)
    forgiven = sum(1 for day in inside if _month(day) == _month(today))
    return Streak(
        length=length,
        forgiven=forgiven,
        allowance_left=MISSES_FORGIVEN_PER_MONTH - forgiven,
    )
