"""Daily check-ins: when they are asked, the questions in order, answers stored once, the summary.

Rules:
- A check-in is asked at the user's local check-in time on their check-in days, unless paused,
  once a day (the next one is always pending: `bot.services.schedules`). One more than 3 hours
  late is skipped.
- Questions: new contacts, meetings, proposals, "did your prospecting block happen?", and "why?"
  only when prospecting was low (no new contact, the block did not happen, or under half the
  recent average). "Other" asks for a few words.
- An answer counts once: a tap on an old keyboard or a double tap finds the question already
  answered and changes nothing. An answer given the next morning counts for the day it asked about.
- An unanswered check-in gets at most one gentle follow-up, about two hours later, never after
  21:00 local; "later" asks the same question again in an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkins as queries
from bot.db import outbox
from bot.db.models import ActivityEntry, CheckIn, OutboxMessage, User
from bot.services import quiet_day, schedule, schedules, streaks
from bot.services.activity_input import MAX_PER_ENTRY, ActivityKind
from bot.services.preferences import zone

CHECKIN_KIND = schedules.CHECKIN_KIND
FOLLOW_UP_KIND = "checkin_follow_up"
LATE_LIMIT = timedelta(hours=3)
FOLLOW_UP_AFTER = timedelta(hours=2)
LATER_DELAY = timedelta(hours=1)
LATER_KEY = "checkin_later:"
OPEN_FOR = timedelta(hours=36)  # typed numbers still answer a check-in asked yesterday
AVERAGE_WINDOW_DAYS = 14
MAX_REASON_LENGTH = 500


class Step(StrEnum):
    CONTACTS = "contacts"
    MEETINGS = "meetings"
    PROPOSALS = "proposals"
    BLOCK = "block"
    REASON = "reason"
    REASON_TEXT = "reason_text"
    DONE = "done"


NUMERIC_STEPS = (Step.CONTACTS, Step.MEETINGS, Step.PROPOSALS)
BUCKETS = ((0, "0"), (1, "1–2"), (3, "3–5"), (6, "6+"))  # stored as the low end: never overstated


class BlockAnswer(StrEnum):
    YES = "yes"
    NO = "no"
    NO_PLAN = "no_plan"


class Reason(StrEnum):
    BUSY = "busy"
    PIPELINE_FULL = "pipeline_full"
    NO_TIME_SET_ASIDE = "no_time_set_aside"
    NO_NEED = "no_need"
    OTHER = "other"


class Outcome(StrEnum):
    STORED = "stored"
    STALE = "stale"  # the question was already answered (double tap, old keyboard)
    INVALID = "invalid"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    checkin: CheckIn | None = None


@dataclass(frozen=True)
class DaySummary:
    day: date
    contacts: int
    meetings: int
    proposals: int
    average_contacts: float | None
    average_meetings: float | None
    average_proposals: float | None
    streak: streaks.Streak


def local_today(user: User, now: datetime) -> date:
    return schedule.local_date(now, zone(user.timezone))


def is_paused(user: User, day: date) -> bool:
    return user.paused_until is not None and day <= user.paused_until


async def begin_scheduled(
    session: AsyncSession, user: User, row: OutboxMessage, now: datetime
) -> CheckIn | None:
    """The check-in a due outbox row asks, or None when it should be skipped."""
    day = date.fromisoformat(row.payload["date"])
    if now - row.due_at > LATE_LIMIT or is_paused(user, day) or user.onboarded_at is None:
        return None
    existing = await queries.get(session, user.id, day)
    if existing is not None:
        # Asked already (through /checkin, or sent before a retry): ask once. A row made by an
        # earlier attempt whose send failed has no message yet: that one is asked again.
        unsent = existing.message_id is None and existing.step == Step.CONTACTS
        return existing if unsent and existing.asked_at >= row.created_at else None
    checkin = CheckIn(user_id=user.id, local_date=day, step=Step.CONTACTS, asked_at=now)
    session.add(checkin)
    await session.flush()
    return checkin


async def after_asked(
    session: AsyncSession, user: User, checkin: CheckIn, message_id: int, now: datetime
) -> None:
    """Remember the question's message and plan one gentle follow-up (never in quiet hours)."""
    checkin.message_id = message_id
    follow_up_at = now + FOLLOW_UP_AFTER
    if not schedule.is_quiet_hour(follow_up_at, zone(user.timezone)):
        await outbox.schedule(
            session,
            user_id=user.id,
            kind=FOLLOW_UP_KIND,
            dedupe_key=f"{FOLLOW_UP_KIND}:{user.id}:{checkin.local_date.isoformat()}",
            due_at=follow_up_at,
            now=now,
            payload={"date": checkin.local_date.isoformat()},
        )


async def ask_later(session: AsyncSession, user: User, day: date, now: datetime) -> datetime | None:
    """Snooze the open check-in by an hour; None when it is already answered."""
    checkin = await queries.get(session, user.id, day)
    if checkin is None or checkin.completed_at is not None:
        return None
    due_at = now + LATER_DELAY
    await outbox.schedule(
        session,
        user_id=user.id,
        kind=FOLLOW_UP_KIND,
        dedupe_key=f"{LATER_KEY}{user.id}:{day.isoformat()}:{checkin.step}",
        due_at=due_at,
        now=now,
        payload={"date": day.isoformat()},
    )
    return due_at


async def pending_follow_up(
    session: AsyncSession, user: User, row: OutboxMessage, now: datetime
) -> CheckIn | None:
    """The still-unanswered check-in a follow-up is about, or None to drop the follow-up."""
    checkin = await queries.get(session, user.id, date.fromisoformat(row.payload["date"]))
    if checkin is None or checkin.completed_at is not None or is_paused(user, checkin.local_date):
        return None
    if schedule.is_quiet_hour(now, zone(user.timezone)) or now - row.due_at > LATE_LIMIT:
        return None
    asked_for = row.dedupe_key.startswith(LATER_KEY)  # "⏳ Later": the owner asked for it
    if not asked_for and not await quiet_day.room_for_an_extra(session, user, now):
        return None
    return checkin


async def start_now(session: AsyncSession, user: User, now: datetime) -> CheckIn:
    """Today's check-in for /checkin: the one in progress, the finished one, or a new one."""
    day = local_today(user, now)
    checkin = await queries.get(session, user.id, day)
    if checkin is None:
        checkin = CheckIn(user_id=user.id, local_date=day, step=Step.CONTACTS, asked_at=now)
        session.add(checkin)
        await session.flush()
        # Asked now: today's scheduled check-in is spoken for, the next one is another day's.
        await schedules.sync(session, user, now, (schedules.Series.CHECKIN,))
    return checkin


async def open_for_typing(session: AsyncSession, user: User, now: datetime) -> CheckIn | None:
    """The check-in a typed answer goes to: recent, unfinished, on a question that takes text."""
    checkin = await queries.latest_open(session, user.id, now - OPEN_FOR)
    if checkin is None or checkin.step not in (*NUMERIC_STEPS, Step.REASON_TEXT):
        return None
    return checkin


async def answer(
    session: AsyncSession, user: User, day: date, step: Step, value: int | str, now: datetime
) -> Answer:
    """Store one answer if that question is the one open; move to the next question."""
    checkin = await queries.get(session, user.id, day)
    if checkin is None or checkin.step != step:
        return Answer(Outcome.STALE, checkin)
    if not _valid(step, value):
        return Answer(Outcome.INVALID, checkin)
    if step in NUMERIC_STEPS:
        setattr(checkin, step.value, int(value))
    elif step == Step.BLOCK:
        checkin.block_done = str(value)
    elif step == Step.REASON:
        checkin.reason = str(value)
    elif step == Step.REASON_TEXT:
        checkin.reason_text = str(value).strip()[:MAX_REASON_LENGTH]
    checkin.step = await _next_step(session, user, checkin)
    if checkin.step == Step.DONE:
        checkin.completed_at = now
        await outbox.cancel(session, user_id=user.id, kinds=[FOLLOW_UP_KIND])
    await session.flush()
    return Answer(Outcome.STORED, checkin)


def _valid(step: Step, value: int | str) -> bool:
    if step in NUMERIC_STEPS:
        return isinstance(value, int) and 0 <= value <= MAX_PER_ENTRY
    if step == Step.BLOCK:
        return value in BlockAnswer.__members__.values()
    if step == Step.REASON:
        return value in Reason.__members__.values()
    return step == Step.REASON_TEXT and isinstance(value, str) and bool(value.strip())


async def _next_step(session: AsyncSession, user: User, checkin: CheckIn) -> Step:
    order = {
        Step.CONTACTS: Step.MEETINGS,
        Step.MEETINGS: Step.PROPOSALS,
        Step.PROPOSALS: Step.BLOCK,
    }
    current = Step(checkin.step)
    if current in order:
        return order[current]
    if current == Step.BLOCK:
        averages = await _averages(session, user.id, checkin.local_date)
        return Step.REASON if prospecting_was_low(checkin, averages[0]) else Step.DONE
    if current == Step.REASON and checkin.reason == Reason.OTHER:
        return Step.REASON_TEXT
    return Step.DONE


def prospecting_was_low(checkin: CheckIn, average_contacts: float | None) -> bool:
    """No new contact, a skipped block, or under half the owner's own recent average."""
    contacts = checkin.contacts or 0
    if contacts == 0 or checkin.block_done == BlockAnswer.NO:
        return True
    return (
        average_contacts is not None and average_contacts >= 2 and contacts < average_contacts / 2
    )


async def _averages(
    session: AsyncSession, user_id: int, day: date
) -> tuple[float | None, float | None, float | None]:
    """Mean contacts, meetings and proposals a day over answered check-ins of the 14 days before."""
    first, last = day - timedelta(days=AVERAGE_WINDOW_DAYS), day - timedelta(days=1)
    answered = [c for c in await queries.between(session, user_id, first, last) if c.completed_at]
    if not answered:
        return None, None, None
    logged = await queries.activity_totals(session, user_id, first, last)
    days = {c.local_date for c in answered}

    def mean(kind: str) -> float:
        from_checkins = sum(getattr(c, kind) or 0 for c in answered)
        from_log = sum(n for (d, k), n in logged.items() if k == kind and d in days)
        return (from_checkins + from_log) / len(answered)

    return mean("contacts"), mean("meetings"), mean("proposals")


async def summary(session: AsyncSession, user: User, day: date, now: datetime) -> DaySummary:
    """A day's numbers (check-in plus /log) against the recent average, and the streak."""
    checkin = await queries.get(session, user.id, day)
    logged = await queries.activity_totals(session, user.id, day, day)

    def total(kind: str) -> int:
        return (getattr(checkin, kind) or 0 if checkin else 0) + logged.get((day, kind), 0)

    averages = await _averages(session, user.id, day)
    asked = await queries.asked_days(session, user.id, day - timedelta(days=400))
    return DaySummary(
        day=day,
        contacts=total("contacts"),
        meetings=total("meetings"),
        proposals=total("proposals"),
        average_contacts=averages[0],
        average_meetings=averages[1],
        average_proposals=averages[2],
        streak=streaks.compute_streak(asked, local_today(user, now)),
    )


async def log_activity(
    session: AsyncSession, user: User, entries: list[tuple[ActivityKind, int]], now: datetime
) -> dict[str, int]:
    """Record /log entries for the user's today; return today's totals per kind from /log."""
    day = local_today(user, now)
    for kind, count in entries:
        session.add(
            ActivityEntry(
                user_id=user.id,
                local_date=day,
                kind=kind,
                count=count,
                source="log",
                created_at=now,
            )
        )
    await session.flush()
    totals = await queries.activity_totals(session, user.id, day, day)
    return {kind: n for (_, kind), n in totals.items()}


async def pause(session: AsyncSession, user: User, days: int, now: datetime) -> date:
    """No check-ins for `days` days from today; returns the last paused day."""
    user.paused_until = local_today(user, now) + timedelta(days=days - 1)
    user.updated_at = now
    await schedules.sync(session, user, now)
    return user.paused_until


async def resume(session: AsyncSession, user: User, now: datetime) -> datetime | None:
    """Check-ins again from the next check-in time; returns when that is."""
    user.paused_until = None
    user.updated_at = now
    return (await schedules.sync(session, user, now)).next_checkin
