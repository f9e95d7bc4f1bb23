"""The owner's data: what /export hands over, how /import merges a file, what /forget erases.

Rules:
- Export: everything the bot keeps about the owner (profile and settings, check-ins, logged
  activity, quotes, plan, goals, diagnoses) as one JSON file, plus the daily-activity CSV
  (see bot/services/data_format.py). Scheduled messages and an open dialog are not data the
  owner made: they are left out (they are rebuilt from the settings, quotes and plan).
- Import: the whole file is checked first; the owner sees what will be added and confirms.
  The pending import lives in the owner's dialog row (never in memory): the checked rows when
  they take at most MAX_INLINE_BYTES as JSON, else the Telegram file id and the file's SHA-256,
  downloaded again, checked again and compared on Confirm. A pending import expires after
  PENDING_TTL.
- The merge is idempotent (importing the same file twice changes nothing). A confirmed import
  is merged in slices, one short transaction each (a big file must not hold the database's
  write lock for long), cut so that each slice merges exactly what the whole would:
  * settings (JSON only): the file's language, zone, check-in time and days, currency and pause
    replace the current ones; an owner not set up yet is set up by them.
  * check-ins, one per day: a new day is added; on a day the bot already has, only answers it
    is missing are filled in (what the bot recorded is never overwritten).
  * logged activity (JSON): an entry is added unless the same (day, kind, count, source,
    logged_at) is already there.
  * days of a CSV: a day's totals are reached with activity entries of source "import", which
    replace the previous import of that day; an import never lowers what the bot recorded
    itself (check-ins, /log, signed quotes). The block answer and reason go to that day's
    check-in (made for them when there is none).
  * quotes: matched by (client, amount, currency, sent on); a match is kept as it is.
  * plan blocks: matched by (weekday, start); a block overlapping an existing one, or past the
    plan's limit of blocks, is skipped. Block occurrences: matched by (day, start).
  * goals: matched by (target, reward, start day); an imported goal is active only when the
    owner has no active goal. Diagnoses: matched by (day, type, source, confidence, created).
  Reminders follow: check-ins, quote reminders and block pings are rescheduled as needed.
  The coaching verdict is recomputed on the merged history, so /export shows the verdict of
  the imported weeks.
- Forget: after an explicit confirmation (FORGET_TTL), every row about the owner is deleted in
  one transaction, their scheduled messages with them; the next message starts a new account.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import outbox, users
from bot.db import privacy as queries
from bot.db import quotes as quote_queries
from bot.db.models import (
    ActivityEntry,
    BlockSession,
    CheckIn,
    Diagnosis,
    Dialog,
    DialogName,
    Goal,
    PlanBlock,
    Quote,
    QuoteStatus,
    User,
)
from bot.services import data_format as fmt
from bot.services import history, partners, planning, quotes, schedules
from bot.services.checkins import Step
from bot.services.data_format import ImportRefused, OwnerData, Payload
from bot.services.preferences import local_today, zone

PENDING_TTL = timedelta(hours=24)
FORGET_TTL = timedelta(minutes=30)
MAX_INLINE_BYTES = 256 * 1024
# Records merged per transaction when an import is confirmed: each is a fraction of a second.
IMPORT_CHUNK = 500
SQLITE_CHUNK_PAUSE = 0.1  # seconds: longer than SQLite's longest busy-wait poll
IMPORT_SOURCE = queries.IMPORT_SOURCE


class ImportStep(StrEnum):
    FILE = "file"  # waiting for the document
    CONFIRM = "confirm"  # checked, waiting for Confirm / Cancel


FORGET_STEP = "confirm"


@dataclass(frozen=True)
class ExportFiles:
    json_name: str
    json_bytes: bytes
    csv_name: str
    csv_bytes: bytes
    days: int
    quotes: int
    excel_name: str = ""  # the same CSV, `;`-separated, for a spreadsheet that splits on `;`
    excel_bytes: bytes = b""


@dataclass
class ImportSummary:
    """What an import adds (or added): shown before Confirm and after it."""

    days: int = 0  # days whose activity or check-in was added or completed
    quotes: int = 0
    blocks: int = 0
    sessions: int = 0
    goals: int = 0
    diagnoses: int = 0
    settings: bool = False
    skipped_blocks: int = 0

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "skipped_blocks")


@dataclass(frozen=True)
class PendingImport:
    """A checked import waiting for Confirm: its rows, or where to fetch the file again."""

    token: str
    filename: str
    payload: Payload | None
    file_id: str | None = None
    digest: str | None = None
    mime_type: str | None = None


# ---------------------------------------------------------------------------------------------
# Export


def owner_data(user: User, rows: queries.UserRows) -> OwnerData:
    return OwnerData(
        identity=fmt.Identity(
            first_name=user.first_name,
            telegram_id=user.telegram_id,
            chat_id=user.chat_id,
            created_at=user.created_at,
            onboarded_at=user.onboarded_at,
        ),
        profile=fmt.ProfileRecord(
            language=user.language,
            timezone=user.timezone,
            checkin_time=user.checkin_time,
            checkin_days=user.checkin_days,
            currency=user.currency,
            paused_until=user.paused_until,
            onboarded=user.onboarded_at is not None,
        ),
        checkins=[
            fmt.CheckInRecord(
                date=c.local_date, contacts=c.contacts, meetings=c.meetings,
                proposals=c.proposals, plan_block_done=c.block_done, reason=c.reason,
                reason_text=c.reason_text, asked_at=c.asked_at, completed_at=c.completed_at,
            )
            for c in rows.checkins
        ],
        activity=[
            fmt.ActivityRecord(
                date=a.local_date, kind=a.kind, count=a.count, source=a.source,
                logged_at=a.created_at,
            )
            for a in rows.activity
        ],
        quotes=[
            fmt.QuoteRecord(
                client=q.client, amount=q.amount, currency=q.currency, sent_on=q.sent_on,
                expires_on=q.expires_on, status=q.status, closed_on=q.closed_on,
                followed_up_on=q.followed_up_on, created_at=q.created_at,
            )
            for q in rows.quotes
        ],
        blocks=[
            fmt.BlockRecord(
                weekday=b.weekday, start_time=b.start_time, duration_minutes=b.duration_minutes
            )
            for b in rows.blocks
        ],
        block_sessions=[
            fmt.BlockSessionRecord(
                date=s.local_date, start_time=s.start_time, status=s.status, reason=s.reason,
                answered_at=s.answered_at,
            )
            for s in rows.block_sessions
        ],
        goals=[
            fmt.GoalRecord(
                weekly_contacts=g.weekly_contacts, reward=g.reward, started_on=g.started_on,
                active=g.active, celebrated_week=g.celebrated_week, created_at=g.created_at,
            )
            for g in rows.goals
        ],
        diagnoses=[
            fmt.DiagnosisRecord(
                date=d.on_date, type=d.verdict, source=d.source, confidence=d.confidence,
                evidence=d.evidence, created_at=d.created_at,
            )
            for d in rows.diagnoses
        ],
    )  # fmt: skip


async def export(session: AsyncSession, user: User, now: datetime) -> ExportFiles:
    """The two files of /export, named after the owner's local date."""
    data = await partners.with_records(
        session, user, owner_data(user, await queries.load(session, user.id))
    )
    days = fmt.daily_rows(data.checkins, data.activity)
    stamp = local_today(user, now).isoformat()
    return ExportFiles(
        json_name=f"prospect-coach-{stamp}.json",
        json_bytes=fmt.export_json(data, now),
        csv_name=f"prospect-coach-activity-{stamp}.csv",
        csv_bytes=fmt.export_csv(days),
        days=len(days),
        quotes=len(data.quotes),
        excel_name=f"prospect-coach-activity-{stamp}-excel.csv",
        excel_bytes=fmt.export_csv(days, delimiter=";"),
    )


# ---------------------------------------------------------------------------------------------
# Import: the merge


def _open_step(record: fmt.CheckInRecord) -> str:
    """The question an unfinished imported check-in stopped at."""
    if record.completed_at is not None:
        return Step.DONE
    for step, value in (
        (Step.CONTACTS, record.contacts),
        (Step.MEETINGS, record.meetings),
        (Step.PROPOSALS, record.proposals),
        (Step.BLOCK, record.plan_block_done),
    ):
        if value is None:
            return step
    return Step.REASON


_CHECKIN_FIELDS = {
    "contacts": "contacts",
    "meetings": "meetings",
    "proposals": "proposals",
    "plan_block_done": "block_done",
    "reason": "reason",
    "reason_text": "reason_text",
}


async def merge(
    session: AsyncSession, user: User, payload: Payload, now: datetime, *, apply: bool
) -> ImportSummary:
    """What the import adds; with `apply`, add it (the caller's transaction makes it atomic)."""
    rows = await queries.load(session, user.id)
    merged = await _merge_rows(session, user, rows, payload, now, apply=apply)
    if apply:
        await session.flush()
        waiting = await _reschedule(session, user, merged, had_blocks=bool(rows.blocks), now=now)
        await _replan_quote_reminders(session, user, waiting, now)
    return merged.summary


@dataclass
class _Merged:
    summary: ImportSummary
    settings_changed: bool = False
    added_open_quote: bool = False

    def add(self, other: _Merged) -> None:
        for name in ("days", "quotes", "blocks", "sessions", "goals", "diagnoses"):
            setattr(self.summary, name, getattr(self.summary, name) + getattr(other.summary, name))
        self.summary.skipped_blocks += other.summary.skipped_blocks
        self.summary.settings = self.summary.settings or other.summary.settings
        self.settings_changed = self.settings_changed or other.settings_changed
        self.added_open_quote = self.added_open_quote or other.added_open_quote


async def _merge_rows(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    now: datetime,
    *,
    apply: bool,
) -> _Merged:
    summary = ImportSummary()
    touched_days: set[date] = set()
    settings_changed = _merge_profile(user, payload, summary, now, apply=apply)
    _merge_checkins(session, user, rows, payload, touched_days, apply=apply)
    _merge_activity(session, user, rows, payload, touched_days, apply=apply)
    await _merge_days(session, user, rows, payload, touched_days, now, apply=apply)
    summary.days = len(touched_days)
    added_open_quote = _merge_quotes(session, user, rows, payload, summary, now, apply=apply)
    await _merge_plan(session, user, rows, payload, summary, now, apply=apply)
    _merge_goals(session, user, rows, payload, summary, now, apply=apply)
    _merge_diagnoses(session, user, rows, payload, summary, now, apply=apply)
    return _Merged(summary, settings_changed, added_open_quote)


async def _reschedule(
    session: AsyncSession, user: User, merged: _Merged, *, had_blocks: bool, now: datetime
) -> list[Quote]:
    """What is scheduled follows the merged data (see `bot.services.schedules`): check-ins, block
    pings and the review here; returns the quotes whose reminders must be planned again (see
    `_replan_quote_reminders`, set-based for a big import)."""
    if merged.settings_changed or merged.summary.blocks or merged.added_open_quote:
        series = (schedules.Series.CHECKIN, schedules.Series.BLOCKS, schedules.Series.REVIEW)
        await schedules.sync(session, user, now, series)
    if not (merged.settings_changed or merged.added_open_quote) or user.blocked_at is not None:
        return []  # an owner who blocked the bot gets their reminders back when they return
    return await quote_queries.open_since(
        session, user.id, quotes.lost_cutoff(quotes.local_today(user, now))
    )


async def _replan_quote_reminders(
    session: AsyncSession, user: User, waiting: list[Quote], now: datetime
) -> None:
    """What `schedules.sync` does for reminders, set-based: an import may bring thousands of
    quotes, and a statement per reminder would hold the write lock for minutes."""
    prefixes = tuple(quotes.key_prefix(quote.id) for quote in waiting)
    if not prefixes:
        return
    pending = await outbox.pending_keys(session, user.id, quotes.REMINDER_KIND)
    stale = [row_id for row_id, key in pending if key.startswith(prefixes)]
    await outbox.cancel_ids(session, stale)
    owner_zone = zone(user.timezone)
    planned = [
        {
            "user_id": user.id,
            "kind": quotes.REMINDER_KIND,
            "dedupe_key": quotes.reminder_key(quote, reminder.which),
            "due_at": reminder.due_at,
            "payload": quotes.reminder_payload(quote, reminder.which),
        }
        for quote in waiting
        for reminder in quotes.reminder_plan(
            quote.expires_on, now, user.checkin_time, user.checkin_days, owner_zone,
            catch_up=False,
        )
    ]  # fmt: skip
    await outbox.schedule_many(session, planned, now=now)


def _merge_profile(
    user: User, payload: Payload, summary: ImportSummary, now: datetime, *, apply: bool
) -> bool:
    profile = payload.profile
    if profile is None:
        return False
    wanted = {
        "language": profile.language,
        "timezone": profile.timezone,
        "checkin_time": profile.checkin_time,
        "checkin_days": profile.checkin_days,
        "currency": profile.currency,
        "paused_until": profile.paused_until,
    }
    changes = {name: value for name, value in wanted.items() if getattr(user, name) != value}
    newly_set_up = profile.onboarded and user.onboarded_at is None
    summary.settings = bool(changes) or newly_set_up
    if apply and summary.settings:
        for name, value in changes.items():
            setattr(user, name, value)
        if newly_set_up:
            user.onboarded_at = now
        user.updated_at = now
    return summary.settings


def _merge_checkins(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    touched: set[date],
    *,
    apply: bool,
) -> None:
    existing = {c.local_date: c for c in rows.checkins}
    for record in payload.checkins:
        current = existing.get(record.date)
        if current is None:
            touched.add(record.date)
            if apply:
                checkin = CheckIn(
                    user_id=user.id,
                    local_date=record.date,
                    step=_open_step(record),
                    contacts=record.contacts,
                    meetings=record.meetings,
                    proposals=record.proposals,
                    block_done=record.plan_block_done,
                    reason=record.reason,
                    reason_text=record.reason_text,
                    asked_at=record.asked_at,
                    completed_at=record.completed_at,
                )
                session.add(checkin)
                existing[record.date] = checkin
            continue
        fills = {
            column: getattr(record, name)
            for name, column in _CHECKIN_FIELDS.items()
            if getattr(current, column) is None and getattr(record, name) is not None
        }
        completes = current.completed_at is None and record.completed_at is not None
        if fills or completes:
            touched.add(record.date)
            if apply:
                for column, value in fills.items():
                    setattr(current, column, value)
                if completes:
                    current.completed_at = record.completed_at
                    current.step = Step.DONE


def _merge_activity(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    touched: set[date],
    *,
    apply: bool,
) -> None:
    present = Counter(
        (a.local_date, a.kind, a.count, a.source, a.created_at) for a in rows.activity
    )
    for record in payload.activity:
        key = (record.date, record.kind, record.count, record.source, record.logged_at)
        if present[key]:
            present[key] -= 1
            continue
        touched.add(record.date)
        if apply:
            session.add(
                ActivityEntry(
                    user_id=user.id,
                    local_date=record.date,
                    kind=record.kind,
                    count=record.count,
                    source=record.source,
                    created_at=record.logged_at,
                )
            )


async def _merge_days(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    touched: set[date],
    now: datetime,
    *,
    apply: bool,
) -> None:
    if not payload.days:
        return
    checkin_of = {c.local_date: c for c in rows.checkins}
    entries: dict[date, list[ActivityEntry]] = defaultdict(list)
    for entry in rows.activity:
        entries[entry.local_date].append(entry)
    replaced: list[date] = []
    additions: list[ActivityEntry] = []
    for day in payload.days:
        current = checkin_of.get(day.date)
        recorded = {kind: 0 for kind in fmt.KINDS}
        imported = {kind: 0 for kind in fmt.KINDS}
        if current is not None:
            for kind in fmt.CHECKIN_KINDS:
                recorded[kind] += getattr(current, kind) or 0
        for entry in entries[day.date]:
            if entry.kind in recorded:
                (imported if entry.source == IMPORT_SOURCE else recorded)[entry.kind] += entry.count
        wanted = {kind: max(0, day.count(kind) - recorded[kind]) for kind in fmt.KINDS}
        changed = False
        if wanted != imported:
            changed = True
            replaced.append(day.date)
            additions.extend(
                ActivityEntry(
                    user_id=user.id, local_date=day.date, kind=kind, count=count,
                    source=IMPORT_SOURCE, created_at=now,
                )
                for kind, count in wanted.items()
                if count
            )  # fmt: skip
        answers = {"block_done": day.plan_block_done, "reason": day.reason}
        if current is None and any(answers.values()):
            changed = True
            if apply:
                checkin = CheckIn(
                    user_id=user.id, local_date=day.date, step=Step.DONE, asked_at=now,
                    completed_at=now, **answers,
                )  # fmt: skip
                session.add(checkin)
                checkin_of[day.date] = checkin
        elif current is not None and current.completed_at is not None:
            fills = {k: v for k, v in answers.items() if v and getattr(current, k) is None}
            if fills:
                changed = True
                if apply:
                    for column, value in fills.items():
                        setattr(current, column, value)
        if changed:
            touched.add(day.date)
    if apply:
        await queries.delete_import_entries(session, user.id, replaced)
        session.add_all(additions)


def _merge_quotes(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    summary: ImportSummary,
    now: datetime,
    *,
    apply: bool,
) -> bool:
    present = {(q.client, q.amount.quantize(fmt.CENT), q.currency, q.sent_on) for q in rows.quotes}
    added_open = False
    for record in payload.quotes:
        if record.key in present:
            continue
        present.add(record.key)
        summary.quotes += 1
        added_open = added_open or record.status == QuoteStatus.OPEN
        if apply:
            session.add(
                Quote(
                    user_id=user.id,
                    client=record.client,
                    amount=record.amount,
                    currency=record.currency,
                    sent_on=record.sent_on,
                    expires_on=record.expires_on,
                    status=record.status,
                    closed_on=record.closed_on,
                    followed_up_on=record.followed_up_on,
                    created_at=record.created_at or now,
                    updated_at=now,
                )
            )
    return added_open


def _minutes(block: PlanBlock | fmt.BlockRecord) -> tuple[int, int]:
    start = block.start_time.hour * 60 + block.start_time.minute
    return start, start + block.duration_minutes


async def _merge_plan(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    summary: ImportSummary,
    now: datetime,
    *,
    apply: bool,
) -> None:
    blocks: list[PlanBlock | fmt.BlockRecord] = list(rows.blocks)
    added: list[PlanBlock] = []
    for record in payload.blocks:
        if any((b.weekday, b.start_time) == (record.weekday, record.start_time) for b in blocks):
            continue
        start, end = _minutes(record)
        overlaps = any(
            b.weekday == record.weekday and _minutes(b)[0] < end and start < _minutes(b)[1]
            for b in blocks
        )
        if overlaps or len(blocks) >= planning.MAX_BLOCKS:
            summary.skipped_blocks += 1
            continue
        blocks.append(record)
        summary.blocks += 1
        if apply:
            block = PlanBlock(
                user_id=user.id,
                weekday=record.weekday,
                start_time=record.start_time,
                duration_minutes=record.duration_minutes,
                created_at=now,
            )
            session.add(block)
            added.append(block)
    if apply and added:
        await session.flush()  # the new blocks' ids, for their occurrences below
    block_ids = {(b.weekday, b.start_time): b.id for b in [*rows.blocks, *added]}
    present = {(s.local_date, s.start_time) for s in rows.block_sessions}
    for occurrence in payload.block_sessions:
        key = (occurrence.date, occurrence.start_time)
        if key in present:
            continue
        present.add(key)
        summary.sessions += 1
        if apply:
            session.add(
                BlockSession(
                    user_id=user.id,
                    block_id=block_ids.get((occurrence.date.weekday(), occurrence.start_time)),
                    local_date=occurrence.date,
                    start_time=occurrence.start_time,
                    status=occurrence.status,
                    reason=occurrence.reason,
                    created_at=now,
                    answered_at=occurrence.answered_at,
                )
            )


def _merge_goals(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    summary: ImportSummary,
    now: datetime,
    *,
    apply: bool,
) -> None:
    present = {(g.weekly_contacts, g.reward, g.started_on) for g in rows.goals}
    has_active = any(g.active for g in rows.goals)
    for record in payload.goals:
        key = (record.weekly_contacts, record.reward, record.started_on)
        if key in present:
            continue
        present.add(key)
        summary.goals += 1
        active = record.active and not has_active
        has_active = has_active or active
        if apply:
            session.add(
                Goal(
                    user_id=user.id,
                    weekly_contacts=record.weekly_contacts,
                    reward=record.reward,
                    started_on=record.started_on,
                    active=active,
                    celebrated_week=record.celebrated_week,
                    created_at=record.created_at or now,
                )
            )


def _merge_diagnoses(
    session: AsyncSession,
    user: User,
    rows: queries.UserRows,
    payload: Payload,
    summary: ImportSummary,
    now: datetime,
    *,
    apply: bool,
) -> None:
    present: Counter[tuple[Any, ...]] = Counter(
        (d.on_date, d.verdict, d.source, d.confidence, d.created_at) for d in rows.diagnoses
    )
    for record in payload.diagnoses:
        key = (record.date, record.type, record.source, record.confidence, record.created_at)
        if present[key]:
            present[key] -= 1
            continue
        summary.diagnoses += 1
        if apply:
            session.add(
                Diagnosis(
                    user_id=user.id,
                    on_date=record.date,
                    source=record.source,
                    verdict=record.type,
                    confidence=record.confidence,
                    evidence=record.evidence,
                    created_at=record.created_at or now,
                )
            )


# ---------------------------------------------------------------------------------------------
# Import: the pending file, kept in the dialog row


def check_file(
    data: bytes, filename: str | None, mime_type: str | None, *, today: date, now: datetime
) -> Payload:
    """The file read and checked, `today` being the owner's (ImportRefused otherwise). CPU only:
    safe to run in a worker thread."""
    return fmt.parse_file(data, filename, mime_type, today=today, now=now)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def begin_import(session: AsyncSession, user: User, now: datetime) -> None:
    """/import: wait for the file (a pending import is dropped)."""
    await users.set_dialog(session, user, DialogName.IMPORT, ImportStep.FILE, now, data={})


async def import_dialog(session: AsyncSession, user: User) -> Dialog | None:
    dialog = await users.get_dialog(session, user)
    return dialog if dialog is not None and dialog.name == DialogName.IMPORT else None


async def preview(
    session: AsyncSession, user: User, payload: Payload, now: datetime
) -> ImportSummary:
    """What confirming would add, computed exactly as the merge will (nothing is changed)."""
    return await merge(session, user, payload, now, apply=False)


async def hold(
    session: AsyncSession,
    user: User,
    payload: Payload,
    now: datetime,
    *,
    filename: str,
    file_id: str,
    file_digest: str,
    mime_type: str | None,
) -> str:
    """Keep the checked import in the dialog row until Confirm; returns the Confirm token."""
    token = secrets.token_urlsafe(6)
    stored = fmt.to_storage(payload)
    data: dict[str, Any] = {"token": token, "filename": filename[:200]}
    if len(json.dumps(stored)) <= MAX_INLINE_BYTES:
        data["payload"] = stored
    else:
        data.update(file_id=file_id, digest=file_digest, mime_type=mime_type)
    await users.set_dialog(session, user, DialogName.IMPORT, ImportStep.CONFIRM, now, data=data)
    return token


async def pending_import(
    session: AsyncSession, user: User, token: str, now: datetime
) -> PendingImport | None:
    """The import waiting for this Confirm button, or None (none, another one, expired)."""
    dialog = await import_dialog(session, user)
    if dialog is None or dialog.step != ImportStep.CONFIRM or dialog.data.get("token") != token:
        return None
    if now - dialog.updated_at > PENDING_TTL:
        return None
    data = dialog.data
    payload = None
    if "payload" in data:
        try:
            payload = fmt.from_storage(data["payload"], today=local_today(user, now), now=now)
        except (ImportRefused, ValueError, TypeError, KeyError):
            return None
    elif not data.get("file_id"):
        return None
    return PendingImport(
        token=token,
        filename=str(data.get("filename", "")),
        payload=payload,
        file_id=data.get("file_id"),
        digest=data.get("digest"),
        mime_type=data.get("mime_type"),
    )


async def confirm_import(
    session: AsyncSession, user: User, token: str, payload: Payload, now: datetime
) -> ImportSummary | None:
    """Merge the confirmed import (None when the button is stale: nothing changes)."""
    dialog = await import_dialog(session, user)
    if dialog is None or dialog.step != ImportStep.CONFIRM or dialog.data.get("token") != token:
        return None
    await users.clear_dialog(session, user)
    summary = await merge(session, user, payload, now, apply=True)
    # the imported weeks are history the coach reads: the verdict /export shows follows them
    await session.flush()
    await history.refresh(session, user, now)
    return summary


async def confirm_import_in_chunks(
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    token: str,
    payload: Payload,
    now: datetime,
    *,
    chunk: int = IMPORT_CHUNK,
) -> ImportSummary | None:
    """Merge the confirmed import a slice at a time, one short transaction each, so a big file
    never holds the write lock long enough to delay another owner (None when the button is
    stale). The first slice clears the pending import, so a second tap merges nothing; a crash
    half-way leaves the slices already merged, and importing the file again completes it (the
    merge is idempotent)."""
    merged = _Merged(ImportSummary())
    had_blocks = False
    for n, part in enumerate(split_import(payload, chunk)):
        await _let_others_write(sessions, first=n == 0)
        async with sessions.begin() as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                return None
            if n == 0:
                dialog = await import_dialog(session, user)
                if (
                    dialog is None
                    or dialog.step != ImportStep.CONFIRM
                    or dialog.data.get("token") != token
                ):
                    return None
                await users.clear_dialog(session, user)
            rows = await queries.load_slice(
                session,
                user.id,
                days=_span(
                    [r.date for r in part.checkins]
                    + [r.date for r in part.activity]
                    + [r.date for r in part.days]
                ),
                quote_days=_span([r.sent_on for r in part.quotes]),
                everything=n == 0,
            )
            had_blocks = had_blocks or (n == 0 and bool(rows.blocks))
            merged.add(await _merge_rows(session, user, rows, part, now, apply=True))
    async with sessions.begin() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            return None
        waiting = await _reschedule(session, user, merged, had_blocks=had_blocks, now=now)
    for start in range(0, len(waiting), chunk // 4):  # about four reminders a quote
        await _let_others_write(sessions, first=False)
        async with sessions.begin() as session:
            await _replan_quote_reminders(session, user, waiting[start : start + chunk // 4], now)
    return merged.summary


async def _let_others_write(sessions: async_sessionmaker[AsyncSession], *, first: bool) -> None:
    """On SQLite, pause between chunks: a writer waiting for the lock polls for it, and would
    never get it if the next chunk began the moment the last one committed."""
    if not first and sessions.kw["bind"].dialect.name == "sqlite":
        await asyncio.sleep(SQLITE_CHUNK_PAUSE)


def _span(days: list[date]) -> tuple[date, date] | None:
    return (min(days), max(days)) if days else None


def split_import(payload: Payload, size: int = IMPORT_CHUNK) -> list[Payload]:
    """The import in slices of about `size` records, merged in order, one transaction each.

    The first slice holds the profile, plan, goals and diagnoses (small, and matched against
    everything). Check-ins, activity and CSV days are cut between days, never inside one, and
    quotes between sent days: records matched together (same day, same key) stay together, so
    slice by slice merges exactly what the whole would.
    """
    head = Payload(
        format=payload.format,
        profile=payload.profile,
        blocks=payload.blocks,
        block_sessions=payload.block_sessions,
        goals=payload.goals,
        diagnoses=payload.diagnoses,
    )
    slices = [head]
    by_day: dict[date, list[Any]] = defaultdict(list)
    dated: list[Any] = [*payload.checkins, *payload.activity, *payload.days]
    for record in dated:
        by_day[record.date].append(record)
    by_sent: dict[date, list[fmt.QuoteRecord]] = defaultdict(list)
    for quote in payload.quotes:
        by_sent[quote.sent_on].append(quote)
    current: list[Any] = []
    for groups in (by_day, by_sent):
        for day in sorted(groups):
            if current and len(current) + len(groups[day]) > size:
                slices.append(_slice(payload, current))
                current = []
            current.extend(groups[day])
        if current:
            slices.append(_slice(payload, current))
            current = []
    return slices


def _slice(payload: Payload, records: list[Any]) -> Payload:
    return Payload(
        format=payload.format,
        checkins=[r for r in records if isinstance(r, fmt.CheckInRecord)],
        activity=[r for r in records if isinstance(r, fmt.ActivityRecord)],
        days=[r for r in records if isinstance(r, fmt.DayRecord)],
        quotes=[r for r in records if isinstance(r, fmt.QuoteRecord)],
    )


async def cancel_import(session: AsyncSession, user: User) -> bool:
    """Drop the pending import (False when there was none)."""
    if await import_dialog(session, user) is None:
        return False
    await users.clear_dialog(session, user)
    return True


# ---------------------------------------------------------------------------------------------
# Forget


async def counts(session: AsyncSession, user: User) -> dict[str, int]:
    """How many rows of each kind the owner has (for the /forget question)."""
    return await queries.count(session, user.id)


async def begin_forget(session: AsyncSession, user: User, now: datetime) -> str:
    """/forget: ask for confirmation; returns the token its Erase button carries."""
    token = secrets.token_urlsafe(6)
    await users.set_dialog(
        session, user, DialogName.FORGET, FORGET_STEP, now, data={"token": token}
    )
    return token


async def _forget_dialog(session: AsyncSession, user: User, token: str, now: datetime) -> bool:
    dialog = await users.get_dialog(session, user)
    return (
        dialog is not None
        and dialog.name == DialogName.FORGET
        and dialog.data.get("token") == token
        and now - dialog.updated_at <= FORGET_TTL
    )


async def forget(
    session: AsyncSession, user: User, token: str, now: datetime
) -> dict[str, int] | None:
    """Erase everything about the owner (None when the button is stale: nothing is erased)."""
    if not await _forget_dialog(session, user, token, now):
        return None
    await partners.before_forget(session, user, now)
    return await queries.erase(session, user)


async def keep(session: AsyncSession, user: User) -> bool:
    """The owner changed their mind: close the question (False when it was not open)."""
    dialog = await users.get_dialog(session, user)
    if dialog is None or dialog.name != DialogName.FORGET:
        return False
    await users.clear_dialog(session, user)
    return True
