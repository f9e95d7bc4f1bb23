"""Daily check-ins: when they are asked, the questions in order, answers stored once, the summary.

Rules:
- A check-in is asked at the user's local check-in time on their check-in days, unless paused,
  once a day (the next one is always pending: `bot.services.schedules`). One more than 3 hours
  late is skipped.
- Questions: new contacts, meetings, proposals, "did your prospecting block happen?", and "why?"
  only when prospecting was low (no new contact, the block did not happen, or under half the
  recent average). "Other" asks for a few words.
- One source of truth per number: what is already recorded for the day (quotes registered with
  /quote are proposals, /log entries) is shown with each question, and the answer stored is only
  what comes on top ("anything more?"). Day totals = check-in answers + recorded entries.
- Exact counts: buttons 0 1 2 3 4 and "5+", which asks for the number; a typed number is any
  count 0..MAX_PER_ENTRY. No stored value is a guess.
- The block question is asked only on a day with a block, after that day's last block has
  ended, and once: not when the block's own "did it happen?" was already sent; an answer given
  there is copied (a skipped block's reason too); the check-in's answer closes the block's
  pending question so it is not sent after.
  "Why?" is asked once a day: a reason already given (here or on the block) is not asked again.
- Corrections: a finished check-in of today can be corrected: its answers are cleared and asked
  again, and the new answers replace the old ones.
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
from bot.db import history as history_queries
from bot.db import outbox
from bot.db import planning as plan_queries
from bot.db.models import ActivityEntry, BlockSession, CheckIn, OutboxMessage, User
from bot.services import quiet_day, schedule, schedules, streaks
from bot.services.activity_input import MAX_PER_ENTRY, ActivityKind
from bot.services.preferences import local_today, zone
from bot.services.quote_input import QuoteInputError, parse_validity

CHECKIN_KIND = schedules.CHECKIN_KIND
FOLLOW_UP_KIND = "checkin_follow_up"
LATE_LIMIT = timedelta(hours=3)
FOLLOW_UP_AFTER = timedelta(hours=2)
LATER_DELAY = timedelta(hours=1)
LATER_KEY = "checkin_later:"
OPEN_FOR = timedelta(hours=36)  # typed numbers still answer a check-in asked yesterday
AVERAGE_WINDOW_DAYS = 14
OWN_BASELINE_DAYS = 5  # answered check-ins before the owner's own average replaces their word
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
COUNT_BUTTONS = (0, 1, 2, 3, 4)  # exact counts; "5+" (MORE) asks for the number
MORE = "more"


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


def next_checkin_day(user: User, after: date) -> date | None:
    """The owner's next check-in day after `after` (skipping a pause), None without check-in days.

    "See you tomorrow" names this day when it is not tomorrow (a Friday for a Monday–Friday owner
    says Monday)."""
    for ahead in range(1, 400):
        day = after + timedelta(days=ahead)
        if user.checkin_days >> day.weekday() & 1 and not is_paused(user, day):
            return day
    return None


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
    if checkin is None or checkin.step == Step.DONE:
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
        await _close_block_question(session, user, checkin, now)
    elif step == Step.REASON:
        checkin.reason = str(value)
    elif step == Step.REASON_TEXT:
        checkin.reason_text = str(value).strip()[:MAX_REASON_LENGTH]
    checkin.step = await _next_step(session, user, checkin, now)
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


async def answer_typed_reason(
    session: AsyncSession, user: User, day: date, code: str, text: str | None, now: datetime
) -> Answer:
    """A reason typed in words: its code, and the words themselves when no code fits ("other")."""
    checkin = await queries.get(session, user.id, day)
    if checkin is None or checkin.step != Step.REASON:
        return Answer(Outcome.STALE, checkin)
    if code not in Reason.__members__.values() or (code == Reason.OTHER and not text):
        return Answer(Outcome.INVALID, checkin)
    checkin.reason = code
    if text:
        checkin.reason_text = text.strip()[:MAX_REASON_LENGTH]
    checkin.step = Step.DONE  # the words are the reason: "other" needs no second question
    checkin.completed_at = now
    await outbox.cancel(session, user_id=user.id, kinds=[FOLLOW_UP_KIND])
    await session.flush()
    return Answer(Outcome.STORED, checkin)


async def _next_step(session: AsyncSession, user: User, checkin: CheckIn, now: datetime) -> Step:
    order = {
        Step.CONTACTS: Step.MEETINGS,
        Step.MEETINGS: Step.PROPOSALS,
    }
    current = Step(checkin.step)
    if current in order:
        return order[current]
    if current == Step.PROPOSALS:
        if await _block_to_ask(session, user, checkin, now):
            return Step.BLOCK
        current = Step.BLOCK  # no block question today: on to "why?" if it is needed
    if current == Step.BLOCK:
        if checkin.reason is not None:
            return Step.DONE  # the reason was already given (on the block's own question)
        average = await _baseline_contacts(session, user, checkin.local_date)
        logged = (await recorded(session, user, checkin.local_date)).get("contacts", 0)
        low = prospecting_was_low(checkin, average, logged)
        return Step.REASON if low else Step.DONE
    if current == Step.REASON and checkin.reason == Reason.OTHER:
        return Step.REASON_TEXT
    return Step.DONE


_FROM_BLOCK = {"done": BlockAnswer.YES, "skipped": BlockAnswer.NO}


async def _day_occurrences(
    session: AsyncSession, user: User, day: date
) -> tuple[list[BlockSession], bool, datetime | None]:
    """The day's block occurrences, whether the day has a block, and when its last block ends."""
    blocks = [b for b in await plan_queries.blocks(session, user.id) if b.weekday == day.weekday()]
    occurrences = await plan_queries.sessions_between(session, user.id, day, day)
    if not blocks and not occurrences:
        return occurrences, False, None
    tz = zone(user.timezone)
    ends = [
        schedule.local_moment(day, b.start_time, tz) + timedelta(minutes=b.duration_minutes)
        for b in blocks
    ]
    return occurrences, True, max(ends) if ends else None


async def _block_to_ask(session: AsyncSession, user: User, checkin: CheckIn, now: datetime) -> bool:
    """Whether the check-in asks about the block; copies an answer the block already got."""
    occurrences, has_block, ends_at = await _day_occurrences(session, user, checkin.local_date)
    if not has_block:
        return False
    answered = [o for o in occurrences if o.status in _FROM_BLOCK]
    if answered:
        last = answered[-1]
        checkin.block_done = _FROM_BLOCK[last.status]
        if last.reason is not None and checkin.reason is None:
            checkin.reason = last.reason
        return False
    if any(o.status == "moved" for o in occurrences):
        return False  # moved to another day: that day's question asks about it
    day_key = f"plan_end:{user.id}:{checkin.local_date.isoformat()}:"
    if await outbox.was_sent(session, user_id=user.id, key_prefix=day_key):
        return False  # the block's own message asked it already: asked once
    return ends_at is None or now >= ends_at  # during (or before) the block: its own ping asks


async def _close_block_question(
    session: AsyncSession, user: User, checkin: CheckIn, now: datetime
) -> None:
    """The check-in answered the block question: the block's own question is not asked again."""
    status = {BlockAnswer.YES: "done", BlockAnswer.NO: "skipped"}.get(
        BlockAnswer(checkin.block_done or BlockAnswer.NO_PLAN)
    )
    for occurrence in await plan_queries.sessions_between(
        session, user.id, checkin.local_date, checkin.local_date
    ):
        if occurrence.status == "pending" and status is not None:
            occurrence.status, occurrence.answered_at = status, now
        key = f"plan_end:{user.id}:{occurrence.local_date.isoformat()}:"
        await outbox.cancel(session, user_id=user.id, key_prefix=key)


async def _baseline_contacts(session: AsyncSession, user: User, day: date) -> float | None:
    """New contacts a day the owner's "why?" is measured against: their recent average once
    OWN_BASELINE_DAYS check-ins make one; before that, the usual week they gave at onboarding
    (per check-in day), so a slow first week is noticed, not taken as the norm."""
    first, last = day - timedelta(days=AVERAGE_WINDOW_DAYS), day - timedelta(days=1)
    answered = [c for c in await queries.between(session, user.id, first, last) if c.completed_at]
    if len(answered) < OWN_BASELINE_DAYS:
        pace = await history_queries.usual_pace(session, user.id)
        days = bin(user.checkin_days & schedule.ALL_DAYS_MASK).count("1")
        if pace is not None and days:
            return pace.weekly_contacts / days
    return (await _averages(session, user.id, day))[0]


def prospecting_was_low(
    checkin: CheckIn, average_contacts: float | None, recorded_contacts: int = 0
) -> bool:
    """No new contact, a skipped block, or under half the owner's own recent average (the day's
    contacts are the check-in's answer plus what /log already recorded)."""
    contacts = (checkin.contacts or 0) + recorded_contacts
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


async def recorded(session: AsyncSession, user: User, day: date) -> dict[str, int]:
    """What is already recorded for a day outside the check-in (quotes, /log), per kind."""
    totals = await queries.activity_totals(session, user.id, day, day)
    return {kind: n for (_, kind), n in totals.items()}


async def correct(session: AsyncSession, user: User, now: datetime) -> CheckIn | None:
    """Reopen today's finished check-in: its answers are asked again and replaced.

    None when there is nothing to correct (no check-in today, or one still being answered)."""
    checkin = await queries.get(session, user.id, local_today(user, now))
    if checkin is None or checkin.completed_at is None:
        return None
    checkin.contacts = checkin.meetings = checkin.proposals = None
    checkin.block_done = checkin.reason = checkin.reason_text = None
    checkin.step, checkin.completed_at = Step.CONTACTS, None
    await session.flush()
    return checkin


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


PAUSE_CHOICES = (3, 7, 14, 28)
MAX_PAUSE_DAYS = 365


def pause_end(text: str, today: date) -> date:
    """The last paused day for what the owner typed, read like a quote's validity.

    A duration ("2 weeks", "10", "3 semaines", "tomorrow") is that many days from today, today
    included (back on the day it names); a date ("until Jan 5", "jusqu'au 5 janvier",
    "vendredi") is paused through that day. Raises QuoteInputError when unreadable."""
    end = parse_validity(text, today)
    # A duration moves with today; a date does not: that tells them apart without a grammar.
    relative = parse_validity(text, today + timedelta(days=1)) == end + timedelta(days=1)
    last = end - timedelta(days=1) if relative else end
    if last < today:
        raise QuoteInputError("expiry_in_past", {"date": end.isoformat()})
    if (last - today).days + 1 > MAX_PAUSE_DAYS:
        raise QuoteInputError("validity_too_long", {"max_days": str(MAX_PAUSE_DAYS)})
    return last


async def pause_through(
    session: AsyncSession, user: User, last_day: date, now: datetime
) -> date | None:
    """No check-ins up to `last_day` included; returns the local day they resume (None: never)."""
    user.paused_until = last_day
    user.updated_at = now
    due = (await schedules.sync(session, user, now)).next_checkin
    return schedule.local_date(due, zone(user.timezone)) if due is not None else None


async def resume(session: AsyncSession, user: User, now: datetime) -> datetime | None:
    """Check-ins again from the next check-in time; returns when that is."""
    user.paused_until = None
    user.updated_at = now
    return (await schedules.sync(session, user, now)).next_checkin


async def of_day(session: AsyncSession, user_id: int, day: date) -> CheckIn | None:
    """The owner's check-in of a local day, if one was asked."""
    return await queries.get(session, user_id, day)
