"""/plan: weekly prospecting blocks treated as sacred appointments, their pings and adherence.

Rules:
- A block is a weekday (Monday 0), a local start time and a duration (15 to 240 minutes, not past
  midnight). A user has at most MAX_BLOCKS blocks. A new block replaces any block of the same
  weekday it overlaps, so "/plan tue 10h-11h" moves Tuesday's 9–10 block instead of doubling it.
- Typed forms, French or English, one or more segments separated by ";":
  "tue thu 9:00-10:00", "mardi jeudi 9h-10h", "lun 14h 90min", "mon-fri 8h30 45 min",
  "every wednesday from 2pm to 3:30pm", "les mardis de 9h à 10h30". No end and no duration
  means DEFAULT_DURATION (an hour).
- Pings go through the outbox, one row per occurrence, in the user's zone (DST-correct through
  `schedule.local_moment`): "plan:<user>:<date>:<HHMM>" at the block's start. Each block always has
  its NEXT occurrence pending (derived by `bot.services.schedules` from the plan and the
  occurrences already pinged), whatever changes and whatever fails.
- No ping on a paused day. A start ping is dropped when it would arrive after the block ended, or
  when their zone changed and the block is still ahead. Blocked users get nothing.
- After a ping is sent, the occurrence is recorded as a BlockSession (pending) and a second message,
  "plan_end:<user>:<date>:<HHMM>", asks at the block's end whether it happened: done, moved or
  skipped (then why, with the check-in's reason codes). An answer counts once.
- Adherence over a date range counts the occurrences that were pinged: done / planned, with moved,
  skipped (and their reasons) and unanswered beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import outbox, users
from bot.db import planning as queries
from bot.db.models import BlockSession, Dialog, DialogName, OutboxMessage, PlanBlock, User
from bot.services import schedule, schedules
from bot.services.checkins import Reason
from bot.services.dialogs import GUIDED_TTL
from bot.services.preferences import local_today, parse_days, parse_time, zone
from bot.services.text_folding import fold

BLOCK_START_KIND = schedules.BLOCK_START_KIND
BLOCK_END_KIND = "plan_block_end"
DURATION_CHOICES = (30, 45, 60, 90)
START_CHOICES = (time(8, 0), time(9, 0), time(10, 0), time(14, 0), time(16, 0))
DEFAULT_DURATION = 60
MIN_DURATION = 15
MAX_DURATION = 240
MAX_BLOCKS = 14
MAX_INPUT_LENGTH = 200
ADHERENCE_WEEKS = 4
DIALOG_TTL = GUIDED_TTL


class BlockStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    MOVED = "moved"
    SKIPPED = "skipped"


class Outcome(StrEnum):
    STORED = "stored"
    STALE = "stale"  # already answered (double tap, old keyboard) or not this user's


class PlanInputError(Exception):
    """Typed plan that cannot be stored; `code` says why (the message explains it with an example).

    Codes: "unreadable" (no days + time found), "no_days", "bad_time", "end_before_start",
    "too_short", "too_long", "past_midnight", "too_many_blocks".
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class BlockSpec:
    weekday: int  # Monday is 0
    start: time
    duration: int  # minutes

    @property
    def end(self) -> time:
        return end_of(self.start, self.duration)


@dataclass
class Adherence:
    """What happened to the blocks pinged between two dates."""

    planned: int = 0
    done: int = 0
    moved: int = 0
    skipped: int = 0
    unanswered: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # skipped, by reason code

    @property
    def rate(self) -> float | None:
        """Done / planned, or None when nothing was planned."""
        return self.done / self.planned if self.planned else None


# ----------------------------------------------------------------------------- parsing

_TIME = r"\d{3,4}|\d{1,2}(?:\s*[:h.]\s*\d{2}|\s*h(?![a-z]))?(?:\s*[ap]m)?"
_UNIT_HOURS = r"h(?:eures?|ours?|rs?)?"
_DURATION = (
    rf"\d{{1,2}}\s*{_UNIT_HOURS}\s*(?:\d{{1,2}})?(?:\s*(?:min|mn|m))?"
    rf"|\d[.,]\d{{1,2}}\s*{_UNIT_HOURS}"
    r"|\d{1,3}\s*(?:minutes?|mins?|mn|m)?"
)
_SEGMENT = re.compile(
    rf"^(?P<days>.+?)\s+(?:(?:de|des|from|at|a|starting)\s+)?(?P<start>{_TIME})"
    rf"(?:\s*(?:-|to|a|until|till|jusqu'?a)\s*(?P<end>{_TIME})"
    rf"|\s+(?:(?:for|pour|pendant|during)\s+)?(?P<duration>{_DURATION}))?$"
)
_FILLERS = {"every", "each", "on", "the", "chaque", "le", "les", "tous", "toutes"}


def _plain(text: str) -> str:
    """Lower case, no accents, one space between words, plain dashes."""
    value = fold(text.strip()).replace("–", "-").replace("—", "-")
    return re.sub(r"\s+", " ", value).strip(" .!")


def parse_duration(text: str) -> int | None:
    """Minutes from '90', '90min', '45 mn', '1h', '1h30', '1 hour', '1.5h', '2 heures'."""
    value = _plain(text).replace(" ", "")
    hours = re.fullmatch(rf"(\d{{1,2}}){_UNIT_HOURS}(\d{{1,2}})?(?:min|mn|m)?", value)
    if hours:
        return int(hours.group(1)) * 60 + int(hours.group(2) or 0)
    decimal = re.fullmatch(rf"(\d)[.,](\d{{1,2}}){_UNIT_HOURS}", value)
    if decimal:
        return round(float(f"{decimal.group(1)}.{decimal.group(2)}") * 60)
    minutes = re.fullmatch(r"(\d{1,3})(?:minutes?|mins?|mn|m)?", value)
    return int(minutes.group(1)) if minutes else None


def parse_plan_days(text: str) -> int | None:
    """A weekday mask from the days part of a plan: 'tue thu', 'les mardis et jeudis', 'mon-fri'."""
    value = _plain(text)
    mask = parse_days(value)
    if mask is not None:
        return mask
    words = []
    for word in re.split(r"\s+", value):
        if word in _FILLERS:
            continue
        if parse_days(word) is None and word.endswith("s") and parse_days(word[:-1]) is not None:
            word = word[:-1]  # plurals: "tuesdays", "mardis"
        words.append(word)
    return parse_days(" ".join(words)) if words else None


def _clock(text: str, *, afternoon: bool = False) -> time | None:
    moment = parse_time(text)
    if moment is not None and afternoon and moment.hour < 12:
        moment = moment.replace(hour=moment.hour + 12)
    return moment


def parse_plan(text: str) -> list[BlockSpec]:
    """Blocks from a typed plan (see the module rules); raises PlanInputError."""
    if len(text) > MAX_INPUT_LENGTH:
        raise PlanInputError("unreadable")
    specs: list[BlockSpec] = []
    segments = [s for s in re.split(r"[;\n]", text) if s.strip()]
    if not segments:
        raise PlanInputError("unreadable")
    for segment in segments:
        specs.extend(_parse_segment(segment))
    # The same day and start typed twice: keep the last one.
    unique = {(s.weekday, s.start): s for s in specs}
    return sorted(unique.values(), key=lambda s: (s.weekday, s.start))


def _parse_segment(segment: str) -> list[BlockSpec]:
    value = _plain(segment)
    match = _SEGMENT.match(value)
    if match is None:
        words = value.split()
        has_days = any(parse_plan_days(" ".join(words[:n])) for n in range(1, len(words) + 1))
        raise PlanInputError("unreadable" if has_days else "no_days")
    mask = parse_plan_days(match.group("days"))
    if mask is None:
        raise PlanInputError("no_days")
    start_text, end_text = match.group("start"), match.group("end")
    # "2-3pm": the start is in the afternoon too.
    afternoon = (
        end_text is not None
        and end_text.replace(" ", "").endswith("pm")
        and not re.search(r"[ap]m", start_text)
    )
    start = _clock(start_text)
    if start is None:
        raise PlanInputError("bad_time")
    if end_text is not None:
        end = parse_time(end_text)
        if end is None:
            raise PlanInputError("bad_time")
        if afternoon and start.hour < 12 and start.hour + 12 <= end.hour:
            start = start.replace(hour=start.hour + 12)
        duration = _minutes(end) - _minutes(start)
        if duration <= 0:
            raise PlanInputError("end_before_start")
    elif match.group("duration") is not None:
        parsed = parse_duration(match.group("duration"))
        if parsed is None:
            raise PlanInputError("unreadable")
        duration = parsed
    else:
        duration = DEFAULT_DURATION
    check_block(start, duration)
    return [BlockSpec(day, start, duration) for day in range(7) if mask & (1 << day)]


def check_block(start: time, duration: int) -> None:
    """Raises PlanInputError when a block is too short, too long or runs past midnight."""
    if duration < MIN_DURATION:
        raise PlanInputError("too_short")
    if duration > MAX_DURATION:
        raise PlanInputError("too_long")
    if _minutes(start) + duration > 24 * 60:
        raise PlanInputError("past_midnight")


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def end_of(start: time, duration: int) -> time:
    """The wall-clock end of a block (a block never runs past midnight)."""
    total = min(_minutes(start) + duration, 24 * 60 - 1)
    return time(total // 60, total % 60)


def _overlaps(block: PlanBlock, spec: BlockSpec) -> bool:
    if block.weekday != spec.weekday:
        return False
    start, other = _minutes(block.start_time), _minutes(spec.start)
    return start < other + spec.duration and other < start + block.duration_minutes


def plan_end_key(user_id: int, day: date, start: time) -> str:
    return f"plan_end:{user_id}:{day.isoformat()}:{start.strftime('%H%M')}"


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Saved:
    added: int
    replaced: int


async def blocks(session: AsyncSession, user: User) -> list[PlanBlock]:
    return await queries.blocks(session, user.id)


async def add_blocks(
    session: AsyncSession, user: User, specs: list[BlockSpec], now: datetime
) -> Saved:
    """Store new blocks (replacing the ones they overlap) and schedule their pings."""
    existing = await queries.blocks(session, user.id)
    replaced = [b for b in existing if any(_overlaps(b, s) for s in specs)]
    if len(existing) - len(replaced) + len(specs) > MAX_BLOCKS:
        raise PlanInputError("too_many_blocks")
    for block in replaced:
        await session.delete(block)
    for spec in specs:
        session.add(
            PlanBlock(
                user_id=user.id,
                weekday=spec.weekday,
                start_time=spec.start,
                duration_minutes=spec.duration,
                created_at=now,
            )
        )
    await session.flush()
    await replan(session, user, now)
    return Saved(added=len(specs), replaced=len(replaced))


async def remove_block(session: AsyncSession, user: User, block_id: int, now: datetime) -> bool:
    """Delete one of the user's blocks (False when it is not theirs or already gone)."""
    removed = await queries.delete_block(session, user.id, block_id)
    if removed:
        await replan(session, user, now)
    return removed


async def clear(session: AsyncSession, user: User, now: datetime) -> int:
    """Delete every block of the user and their planned pings."""
    count = await queries.delete_blocks(session, user.id)
    await replan(session, user, now)
    return count


async def replan(session: AsyncSession, user: User, now: datetime) -> None:
    """The next ping of every block, as the plan now is (idempotent)."""
    await schedules.sync(session, user, now, (schedules.Series.BLOCKS,))


@dataclass(frozen=True)
class Occurrence:
    block: PlanBlock
    day: date


async def begin_block(
    session: AsyncSession, user: User, row: OutboxMessage, now: datetime
) -> Occurrence | None:
    """The occurrence a due start ping announces, or None to drop it."""
    block = await queries.get_block(session, user.id, int(row.payload["block_id"]))
    if block is None or block.start_time.strftime("%H:%M") != row.payload["start"]:
        return None  # the plan changed since: its own pings are already scheduled
    day = date.fromisoformat(row.payload["date"])
    expected = schedule.local_moment(day, block.start_time, zone(user.timezone))
    if abs(expected - row.due_at) > timedelta(minutes=1) and expected > now:
        return None  # the zone changed since: never ring at the wrong time
    if user.paused_until is not None and day <= user.paused_until:
        return None
    if now >= row.due_at + timedelta(minutes=block.duration_minutes):
        return None  # the block is over: a "starts now" would be wrong
    return Occurrence(block, day)


async def after_block_started(
    session: AsyncSession, user: User, row: OutboxMessage, now: datetime
) -> BlockSession | None:
    """Record the pinged occurrence and ask, at its end, whether it happened."""
    block = await queries.get_block(session, user.id, int(row.payload["block_id"]))
    day = date.fromisoformat(row.payload["date"])
    start = time.fromisoformat(row.payload["start"])
    occurrence = await queries.session_at(session, user.id, day, start)
    if occurrence is None:
        occurrence = BlockSession(
            user_id=user.id,
            block_id=block.id if block else None,
            local_date=day,
            start_time=start,
            status=BlockStatus.PENDING,
            created_at=now,
        )
        session.add(occurrence)
        await session.flush()
    duration = block.duration_minutes if block else DEFAULT_DURATION
    await outbox.schedule(
        session,
        user_id=user.id,
        kind=BLOCK_END_KIND,
        dedupe_key=plan_end_key(user.id, day, start),
        due_at=row.due_at + timedelta(minutes=duration),
        now=now,
        payload={"session_id": occurrence.id},
    )
    return occurrence


async def pending_question(
    session: AsyncSession, user: User, row: OutboxMessage
) -> tuple[BlockSession, PlanBlock | None] | None:
    """The still-unanswered occurrence an end-of-block question is about, or None to drop it."""
    occurrence = await queries.get_session(session, user.id, int(row.payload["session_id"]))
    if occurrence is None or occurrence.status != BlockStatus.PENDING:
        return None
    block = (
        await queries.get_block(session, user.id, occurrence.block_id)
        if occurrence.block_id is not None
        else None
    )
    return occurrence, block


async def answer(
    session: AsyncSession, user: User, session_id: int, status: BlockStatus, now: datetime
) -> tuple[Outcome, BlockSession | None]:
    """Whether the block happened; only an unanswered occurrence of this user's is changed."""
    occurrence = await queries.get_session(session, user.id, session_id)
    if (
        occurrence is None
        or occurrence.status != BlockStatus.PENDING
        or status == BlockStatus.PENDING
    ):
        return Outcome.STALE, occurrence
    occurrence.status = status
    occurrence.answered_at = now
    await outbox.cancel(
        session,
        user_id=user.id,
        key_prefix=plan_end_key(user.id, occurrence.local_date, occurrence.start_time),
    )
    await session.flush()
    return Outcome.STORED, occurrence


async def give_reason(
    session: AsyncSession, user: User, session_id: int, reason: str, now: datetime
) -> tuple[Outcome, BlockSession | None]:
    """Why a skipped block did not happen (once; a check-in reason code)."""
    occurrence = await queries.get_session(session, user.id, session_id)
    if (
        occurrence is None
        or occurrence.status != BlockStatus.SKIPPED
        or occurrence.reason is not None
        or reason not in Reason.__members__.values()
    ):
        return Outcome.STALE, occurrence
    occurrence.reason = reason
    occurrence.answered_at = now
    await session.flush()
    return Outcome.STORED, occurrence


# ----------------------------------------------------------------------------- guided /plan


class PlanStep(StrEnum):
    DAYS = "days"
    START = "start"
    DURATION = "duration"


async def begin_guided(session: AsyncSession, user: User, now: datetime) -> Dialog:
    """Open the guided /plan (days, then start time, then duration); survives restarts."""
    return await users.set_dialog(session, user, DialogName.PLAN, PlanStep.DAYS, now, {"days": 0})


async def open_dialog(session: AsyncSession, user: User) -> Dialog | None:
    """The user's guided /plan in progress, if that is their open dialog."""
    dialog = await users.get_dialog(session, user)
    return dialog if dialog is not None and dialog.name == DialogName.PLAN else None


def pending_days(dialog: Dialog) -> int:
    return int(dialog.data.get("days", 0))


def pending_start(dialog: Dialog) -> time | None:
    value = dialog.data.get("start")
    return time.fromisoformat(value) if value else None


async def toggle_day(session: AsyncSession, dialog: Dialog, day: int, now: datetime) -> int:
    days = pending_days(dialog) ^ (1 << (day % 7))
    dialog.data = {**dialog.data, "days": days}
    dialog.updated_at = now
    await session.flush()
    return days


async def choose_days(session: AsyncSession, dialog: Dialog, mask: int, now: datetime) -> None:
    dialog.data = {**dialog.data, "days": mask & schedule.ALL_DAYS_MASK}
    dialog.step, dialog.updated_at = PlanStep.START, now
    await session.flush()


async def choose_start(session: AsyncSession, dialog: Dialog, start: time, now: datetime) -> None:
    dialog.data = {**dialog.data, "start": start.strftime("%H:%M")}
    dialog.step, dialog.updated_at = PlanStep.DURATION, now
    await session.flush()


async def choose_duration(
    session: AsyncSession, user: User, dialog: Dialog, duration: int, now: datetime
) -> Saved:
    """The last answer: store the blocks and close the dialog; raises PlanInputError."""
    start = pending_start(dialog)
    mask = pending_days(dialog)
    if start is None or not mask:
        raise PlanInputError("unreadable")
    check_block(start, duration)
    specs = [BlockSpec(day, start, duration) for day in range(7) if mask & (1 << day)]
    saved = await add_blocks(session, user, specs, now)
    await users.clear_dialog(session, user)
    return saved


async def save_typed(
    session: AsyncSession, user: User, specs: list[BlockSpec], now: datetime
) -> Saved:
    """A whole plan typed in one line: stored, and any guided /plan in progress closed."""
    saved = await add_blocks(session, user, specs, now)
    if await open_dialog(session, user) is not None:
        await users.clear_dialog(session, user)
    return saved


# ----------------------------------------------------------------------------- adherence


def tally(occurrences: list[BlockSession]) -> Adherence:
    """Adherence of a list of occurrences (pure; see `adherence`)."""
    result = Adherence(planned=len(occurrences))
    for occurrence in occurrences:
        if occurrence.status == BlockStatus.DONE:
            result.done += 1
        elif occurrence.status == BlockStatus.MOVED:
            result.moved += 1
        elif occurrence.status == BlockStatus.SKIPPED:
            result.skipped += 1
            reason = occurrence.reason or Reason.OTHER
            result.reasons[reason] = result.reasons.get(reason, 0) + 1
        else:
            result.unanswered += 1
    return result


async def adherence(session: AsyncSession, user_id: int, first: date, last: date) -> Adherence:
    """Blocks pinged between two local dates (inclusive): done, moved, skipped with reasons."""
    return tally(await queries.sessions_between(session, user_id, first, last))


async def recent_adherence(session: AsyncSession, user: User, now: datetime) -> Adherence:
    """Adherence over the last four weeks, today included."""
    today = local_today(user, now)
    return await adherence(
        session, user.id, today - timedelta(weeks=ADHERENCE_WEEKS, days=-1), today
    )
