"""/goal: a weekly target of new contacts and the reward the owner picked for reaching it.

Rules:
- One active goal per user: a number of new contacts a week (1 to MAX_TARGET) and a reward (free
  text, 1 to MAX_REWARD characters, kept exactly as typed apart from surrounding blanks).
- Typed in one line: "10 dinner out", "10 contacts: a dinner out", "15 par semaine — un resto".
  A number alone asks for the reward; no number, 0, a negative or too big a number is refused.
- Weeks run Monday to Sunday in the user's zone. Progress counts the week's new contacts from
  check-ins and /log (the whole week, even when the goal was set mid-week).
- The week the target is reached is celebrated once (`Goal.celebrated_week` holds its Monday), in
  whichever check-in summary or /log reply first sees it reached, with a next goal to aim for
  (+20 %, rounded, at least one more, at most MAX_TARGET).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import goals as queries
from bot.db import users
from bot.db.models import Dialog, DialogName, Goal, User
from bot.services import partners
from bot.services.dialogs import GUIDED_TTL
from bot.services.preferences import local_today

TARGET_CHOICES = (5, 10, 15, 20)
MAX_TARGET = 1000
MAX_REWARD = 200
MAX_INPUT_LENGTH = 400
BAR_SLOTS = 10
RAISE = 1.2
DIALOG_TTL = GUIDED_TTL


class GoalInputError(Exception):
    """Typed goal that cannot be stored; `code` says why.

    Codes: "not_a_number", "zero", "negative", "too_many", "no_reward", "reward_too_long".
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class GoalStep(StrEnum):
    TARGET = "target"
    REWARD = "reward"


@dataclass(frozen=True)
class GoalProgress:
    """Where this week stands against the goal."""

    target: int
    reward: str
    contacts: int
    week_start: date  # Monday
    just_reached: bool = False  # reached and celebrated by the reply that carries this

    @property
    def reached(self) -> bool:
        return self.contacts >= self.target

    @property
    def left(self) -> int:
        return max(0, self.target - self.contacts)

    @property
    def bar(self) -> str:
        """A text progress bar: '▰▰▰▱▱▱▱▱▱▱'."""
        filled = (
            BAR_SLOTS if self.reached else min(BAR_SLOTS, self.contacts * BAR_SLOTS // self.target)
        )
        return "▰" * filled + "▱" * (BAR_SLOTS - filled)

    @property
    def next_target(self) -> int:
        return suggest_next(self.target)


def suggest_next(target: int) -> int:
    """The goal to aim for after reaching `target`: about 20 % more."""
    return min(MAX_TARGET, max(target + 1, round(target * RAISE)))


# ----------------------------------------------------------------------------- parsing

_NUMBER = re.compile(r"^(?P<sign>[-−–]?)\s*(?P<number>\d{1,3}(?:[ ,.\u00a0\u202f]\d{3})+|\d+)")
_UNITS = re.compile(
    r"^\s*(?:(?:new\s+)?contacts?|nouveaux\s+contacts|prospects?)?"
    r"\s*(?:(?:per|a|each|every|/)\s*week|par\s+semaine|/\s*sem(?:aine)?|chaque\s+semaine)?"
    r"\s*[:,;=\-–—>→]*\s*",
    re.IGNORECASE,
)


def parse_target(text: str) -> int:
    """The weekly number of new contacts at the start of `text`; raises GoalInputError."""
    return _split(text)[0]


def parse_reward(text: str) -> str:
    """The reward as typed (outer blanks removed); raises GoalInputError."""
    reward = text.strip()
    if not reward:
        raise GoalInputError("no_reward")
    if len(reward) > MAX_REWARD:
        raise GoalInputError("reward_too_long")
    return reward


def parse_goal(text: str) -> tuple[int, str | None]:
    """A target and maybe a reward from "10 dinner out"; raises GoalInputError."""
    target, rest = _split(text)
    return target, parse_reward(rest) if rest.strip() else None


def _split(text: str) -> tuple[int, str]:
    if len(text) > MAX_INPUT_LENGTH:
        raise GoalInputError("reward_too_long")
    value = text.strip()
    match = _NUMBER.match(value)
    if match is None:
        raise GoalInputError("not_a_number")
    rest = value[match.end() :]
    if re.match(r"[.,]\d", rest):
        raise GoalInputError("not_a_number")  # "2.5": contacts come whole
    if rest and rest[0].isalnum() and not rest[0].isspace():
        raise GoalInputError("not_a_number")  # "10x", "5k"
    number = int(re.sub(r"\D", "", match.group("number")))
    if match.group("sign"):
        raise GoalInputError("negative" if number else "zero")
    if number == 0:
        raise GoalInputError("zero")
    if number > MAX_TARGET:
        raise GoalInputError("too_many")
    unit = _UNITS.match(rest)
    return number, rest[unit.end() :] if unit else rest


# ----------------------------------------------------------------------------- rules


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def current(session: AsyncSession, user: User) -> Goal | None:
    return await queries.active(session, user.id)


async def set_goal(
    session: AsyncSession, user: User, target: int, reward: str, now: datetime
) -> Goal:
    """Replace the user's goal (a new goal is celebrated afresh when reached)."""
    if not 1 <= target <= MAX_TARGET:
        raise GoalInputError("too_many" if target > MAX_TARGET else "zero")
    reward = parse_reward(reward)
    await queries.deactivate_all(session, user.id)
    goal = Goal(
        user_id=user.id,
        weekly_contacts=target,
        reward=reward,
        started_on=local_today(user, now),
        active=True,
        created_at=now,
    )
    session.add(goal)
    await session.flush()
    dialog = await open_dialog(session, user)
    if dialog is not None:
        await users.clear_dialog(session, user)
    return goal


async def stop(session: AsyncSession, user: User) -> bool:
    """No more goal (False when there was none)."""
    return bool(await queries.deactivate_all(session, user.id))


async def progress(
    session: AsyncSession, user: User, now: datetime, *, day: date | None = None
) -> GoalProgress | None:
    """This week's progress (or the week of `day`), or None without a goal. Changes nothing."""
    goal = await queries.active(session, user.id)
    if goal is None:
        return None
    return await _progress(session, user, goal, day or local_today(user, now))


async def celebrate(
    session: AsyncSession, user: User, now: datetime, *, day: date | None = None
) -> GoalProgress | None:
    """Progress for a reply about new contacts; the first one to see the target reached that week
    gets `just_reached` (and the week is marked celebrated)."""
    goal = await queries.active(session, user.id)
    if goal is None:
        return None
    found = await _progress(session, user, goal, day or local_today(user, now))
    if not found.reached or (
        goal.celebrated_week is not None and goal.celebrated_week >= found.week_start
    ):
        return found
    goal.celebrated_week = found.week_start
    await partners.on_goal_reached(session, user, found.week_start, now)
    await session.flush()
    return GoalProgress(
        target=found.target,
        reward=found.reward,
        contacts=found.contacts,
        week_start=found.week_start,
        just_reached=True,
    )


async def _progress(session: AsyncSession, user: User, goal: Goal, day: date) -> GoalProgress:
    monday = week_start(day)
    contacts = await queries.contacts_between(session, user.id, monday, monday + timedelta(days=6))
    return GoalProgress(
        target=goal.weekly_contacts, reward=goal.reward, contacts=contacts, week_start=monday
    )


# ----------------------------------------------------------------------------- guided /goal


async def begin_guided(session: AsyncSession, user: User, now: datetime) -> Dialog:
    """Open the guided /goal (target, then reward); survives restarts."""
    return await users.set_dialog(session, user, DialogName.GOAL, GoalStep.TARGET, now, {})


async def open_dialog(session: AsyncSession, user: User) -> Dialog | None:
    dialog = await users.get_dialog(session, user)
    return dialog if dialog is not None and dialog.name == DialogName.GOAL else None


async def choose_target(session: AsyncSession, user: User, target: int, now: datetime) -> Dialog:
    """The target is known: ask for the reward next."""
    return await users.set_dialog(
        session, user, DialogName.GOAL, GoalStep.REWARD, now, {"target": target}
    )


def pending_target(dialog: Dialog) -> int | None:
    value = dialog.data.get("target")
    return int(value) if value is not None else None
