"""The owner's data as files: the JSON export, the daily-activity CSV, and checking imports.

Pure: bytes and plain values in, bytes and records out (no database, no Telegram).

Export
- JSON (`schema_version` 1): profile and settings, check-ins, logged activity (/log, signed
  quotes, imports: one entry per log), quotes, plan (weekly blocks and their occurrences), goals,
  diagnoses. Dates are ISO `YYYY-MM-DD`, times `HH:MM`, moments ISO 8601 in UTC, amounts strings
  ("4500.00") so no cent is lost to floating point. The README documents every field.
- CSV of daily activity: exactly the columns `CSV_COLUMNS`, one row per day that has a check-in
  or logged activity, oldest first; numbers are the day's totals (check-in answers plus logged
  activity). UTF-8 with a byte-order mark (so Excel reads it as UTF-8), comma-separated, CRLF
  line ends (RFC 4180).

Import
- A file is the JSON export or a CSV with those columns (any order; `;` separators and a BOM,
  as Excel writes them, are fine; empty number cells are 0). Files over MAX_FILE_BYTES,
  other types, broken JSON, wrong columns, dates in the future (after today in the owner's zone,
  or in the zone the export names), dates before MIN_DATE, negative or fractional counts, unknown
  codes are refused: `ImportRefused` lists the first problems with their line and column (the
  JSON path for JSON values), and nothing is imported.
- Every value is checked before anything is kept: a file either parses into a `Payload`
  entirely or is refused entirely.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from bot.i18n import LANGUAGES
from bot.services.preferences import parse_currency, parse_timezone, zone

SCHEMA_VERSION = 1
APP_NAME = "prospect-coach"
MAX_FILE_BYTES = 5 * 1024 * 1024
CSV_COLUMNS = ("date", "contacts", "meetings", "proposals", "deals", "plan_block_done", "reason")
KINDS = ("contacts", "meetings", "proposals", "deals")
CHECKIN_KINDS = ("contacts", "meetings", "proposals")
# Activity entries in the JSON: the CSV kinds plus follow-ups (not a CSV column, kept as is).
ACTIVITY_KINDS = (*KINDS, "follow_ups")
BLOCK_ANSWERS = ("yes", "no", "no_plan")
REASONS = ("busy", "pipeline_full", "no_time_set_aside", "no_need", "other")
DIAGNOSIS_TYPES = ("unaware", "intentional", "comfortable", "on_track", "not_enough_data")
QUOTE_STATUSES = ("open", "signed", "lost")
BLOCK_STATUSES = ("pending", "done", "moved", "skipped", "missed")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MIN_DATE = date(2000, 1, 1)
MAX_ANSWER = 500  # a check-in answer, as in the check-in itself
MAX_DAILY = 10_000  # one day's total of one kind, or one logged entry
MAX_ITEMS = 100_000  # entries in one list of a file
MAX_BLOCKS = 14
MAX_CLIENT = 100
MAX_REWARD = 200
MAX_REASON_TEXT = 500
MAX_TARGET = 1000
MAX_AMOUNT = Decimal(10**12)
MAX_EVIDENCE_CHARS = 20_000
MAX_DURATION = 240
MAX_AHEAD_DAYS = 400  # a quote is valid a year at most; a pause is shorter
MIN_DURATION = 15
MAX_PROBLEMS_KEPT = 20
FUTURE_TOLERANCE = timedelta(days=1)  # clocks differ: a moment up to a day ahead is accepted

# Every code a Problem can carry (each has its sentence in messages/<lang>/data/import_invalid).
PROBLEM_CODES = (
    # the file
    "too_big", "wrong_type", "empty", "not_text", "not_json", "too_deep", "not_export",
    "newer_version", "bad_csv", "unknown_column", "duplicate_column", "missing_column",
    "field_count",
    # one value
    "required", "not_a_date", "too_old", "future_date", "not_a_moment", "not_a_number",
    "not_whole", "negative", "too_small", "too_large", "not_allowed", "not_a_string",
    "invalid_character", "too_long", "not_a_time", "not_an_amount", "unknown_currency",
    "unknown_timezone", "not_true_false", "not_an_object", "not_a_list", "too_many", "duplicate",
    "before_sent", "past_midnight", "two_active_goals",
)  # fmt: skip
Format = Literal["json", "csv"]
JsonPath = tuple[str | int, ...]

_TOKEN = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")
_FORBIDDEN_TEXT = re.compile(
    r"[\x00\ud800-\udfff]"
)  # NUL and lone surrogates: no database keeps them
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_WS = re.compile(r"[ \t\n\r]*")
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Records: one owner's data as plain values (what an export holds and an import brings)


@dataclass(frozen=True)
class ProfileRecord:
    language: str
    timezone: str
    checkin_time: time
    checkin_days: int  # bit mask, Monday is bit 0
    currency: str
    paused_until: date | None
    onboarded: bool


@dataclass(frozen=True)
class CheckInRecord:
    date: date
    contacts: int | None
    meetings: int | None
    proposals: int | None
    plan_block_done: str | None
    reason: str | None
    reason_text: str | None
    asked_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class ActivityRecord:
    date: date
    kind: str
    count: int
    source: str
    logged_at: datetime


@dataclass(frozen=True)
class DayRecord:
    """One CSV row: a day's totals and the check-in's block answer and reason."""

    date: date
    contacts: int
    meetings: int
    proposals: int
    deals: int
    plan_block_done: str | None
    reason: str | None

    def count(self, kind: str) -> int:
        return int(getattr(self, kind))


@dataclass(frozen=True)
class QuoteRecord:
    client: str
    amount: Decimal
    currency: str
    sent_on: date
    expires_on: date
    status: str
    closed_on: date | None
    followed_up_on: date | None
    created_at: datetime | None

    @property
    def key(self) -> tuple[str, Decimal, str, date]:
        return (self.client, self.amount.quantize(CENT), self.currency, self.sent_on)


@dataclass(frozen=True)
class BlockRecord:
    weekday: int
    start_time: time
    duration_minutes: int


@dataclass(frozen=True)
class BlockSessionRecord:
    date: date
    start_time: time
    status: str
    reason: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class GoalRecord:
    weekly_contacts: int
    reward: str
    started_on: date
    active: bool
    celebrated_week: date | None
    created_at: datetime | None


@dataclass(frozen=True)
class DiagnosisRecord:
    date: date
    type: str
    source: str
    confidence: float
    evidence: dict[str, Any]
    created_at: datetime | None


@dataclass(frozen=True)
class PartnerRecord:
    """A partnership: `role` "partner" (they see my week) or "owner" (I see theirs). Shown in an
    export, never imported: a link needs the other person's consent."""

    role: str
    name: str
    level: str
    show_clients: bool
    notify_reached: bool
    notify_missed: bool
    muted: bool
    since: datetime


@dataclass(frozen=True)
class ShareRecord:
    """What was sent to a partner: `direction` "sent" (about me) or "received" (about them)."""

    direction: str
    name: str
    kind: str
    week: date
    level: str
    show_clients: bool
    shared_at: datetime


@dataclass(frozen=True)
class Identity:
    """Who the export belongs to, as Telegram knows them (shown in an export, never imported)."""

    first_name: str
    telegram_id: int
    chat_id: int
    created_at: datetime
    onboarded_at: datetime | None


@dataclass(frozen=True)
class OwnerData:
    """Everything the bot keeps about one owner, in export order."""

    identity: Identity
    profile: ProfileRecord
    checkins: list[CheckInRecord] = field(default_factory=list)
    activity: list[ActivityRecord] = field(default_factory=list)
    quotes: list[QuoteRecord] = field(default_factory=list)
    blocks: list[BlockRecord] = field(default_factory=list)
    block_sessions: list[BlockSessionRecord] = field(default_factory=list)
    goals: list[GoalRecord] = field(default_factory=list)
    diagnoses: list[DiagnosisRecord] = field(default_factory=list)
    partners: list[PartnerRecord] = field(default_factory=list)
    shared: list[ShareRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Payload:
    """A checked import: from a JSON export (profile, check-ins, ...) or a CSV (days)."""

    format: Format
    profile: ProfileRecord | None = None
    checkins: list[CheckInRecord] = field(default_factory=list)
    activity: list[ActivityRecord] = field(default_factory=list)
    days: list[DayRecord] = field(default_factory=list)
    quotes: list[QuoteRecord] = field(default_factory=list)
    blocks: list[BlockRecord] = field(default_factory=list)
    block_sessions: list[BlockSessionRecord] = field(default_factory=list)
    goals: list[GoalRecord] = field(default_factory=list)
    diagnoses: list[DiagnosisRecord] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file. `where` is a CSV column name or a JSON path; `value` is raw
    file text (escape it when shown); `hint` is what is expected (allowed values, a limit...)."""

    code: str
    line: int | None = None
    column: int | None = None
    where: str | None = None
    value: str | None = None
    hint: str | None = None


class ImportRefused(Exception):
    """The file cannot be imported; `problems` are the first ones found, `total` all of them."""

    def __init__(self, problems: Sequence[Problem], total: int | None = None) -> None:
        super().__init__(", ".join(p.code for p in problems[:3]))
        self.problems = list(problems)
        self.total = total if total is not None else len(problems)


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:200]
    text = _CONTROL.sub("�", text)
    return text if len(text) <= 40 else text[:39] + "…"


class _Problems:
    """Collects problems (keeping the first few) while the whole file is checked."""

    def __init__(self) -> None:
        self.kept: list[tuple[Problem, JsonPath | None]] = []
        self.total = 0

    def add(self, problem: Problem, path: JsonPath | None = None) -> None:
        self.total += 1
        if len(self.kept) < MAX_PROBLEMS_KEPT:
            self.kept.append((problem, path))

    def __bool__(self) -> bool:
        return self.total > 0


# ---------------------------------------------------------------------------------------------
# Export


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _clock(value: time) -> str:
    return value.strftime("%H:%M") if value.second == 0 else value.strftime("%H:%M:%S")


def days_of(mask: int) -> list[str]:
    return [name for n, name in enumerate(WEEKDAYS) if mask & (1 << n)]


def export_document(data: OwnerData, now: datetime) -> dict[str, Any]:
    """The JSON export as a dict (see the README for each field)."""
    identity, profile = data.identity, data.profile
    return {
        "schema_version": SCHEMA_VERSION,
        "app": APP_NAME,
        "exported_at": _moment(now),
        "profile": {
            "first_name": identity.first_name,
            "telegram_id": identity.telegram_id,
            "chat_id": identity.chat_id,
            "created_at": _moment(identity.created_at),
            "onboarded_at": _moment(identity.onboarded_at),
            "language": profile.language,
            "timezone": profile.timezone,
            "checkin_time": _clock(profile.checkin_time),
            "checkin_days": days_of(profile.checkin_days),
            "currency": profile.currency,
            "paused_until": _day(profile.paused_until),
        },
        "checkins": [
            {
                "date": _day(c.date),
                "contacts": c.contacts,
                "meetings": c.meetings,
                "proposals": c.proposals,
                "plan_block_done": c.plan_block_done,
                "reason": c.reason,
                "reason_text": c.reason_text,
                "asked_at": _moment(c.asked_at),
                "completed_at": _moment(c.completed_at),
            }
            for c in sorted(data.checkins, key=lambda c: c.date)
        ],
        "activity": [
            {
                "date": _day(a.date),
                "kind": a.kind,
                "count": a.count,
                "source": a.source,
                "logged_at": _moment(a.logged_at),
            }
            for a in sorted(data.activity, key=lambda a: (a.date, a.logged_at, a.kind, a.source))
        ],
        "quotes": [
            {
                "client": q.client,
                "amount": str(q.amount.quantize(CENT)),
                "currency": q.currency,
                "sent_on": _day(q.sent_on),
                "expires_on": _day(q.expires_on),
                "status": q.status,
                "closed_on": _day(q.closed_on),
                "followed_up_on": _day(q.followed_up_on),
                "created_at": _moment(q.created_at),
            }
            for q in data.quotes
        ],
        "plan": {
            "blocks": [
                {
                    "weekday": WEEKDAYS[b.weekday],
                    "start_time": _clock(b.start_time),
                    "duration_minutes": b.duration_minutes,
                }
                for b in sorted(data.blocks, key=lambda b: (b.weekday, b.start_time))
            ],
            "sessions": [
                {
                    "date": _day(s.date),
                    "start_time": _clock(s.start_time),
                    "status": s.status,
                    "reason": s.reason,
                    "answered_at": _moment(s.answered_at),
                }
                for s in sorted(data.block_sessions, key=lambda s: (s.date, s.start_time))
            ],
        },
        "goals": [
            {
                "weekly_contacts": g.weekly_contacts,
                "reward": g.reward,
                "started_on": _day(g.started_on),
                "active": g.active,
                "celebrated_week": _day(g.celebrated_week),
                "created_at": _moment(g.created_at),
            }
            for g in data.goals
        ],
        "diagnoses": [
            {
                "date": _day(d.date),
                "type": d.type,
                "source": d.source,
                "confidence": d.confidence,
                "evidence": d.evidence,
                "created_at": _moment(d.created_at),
            }
            for d in data.diagnoses
        ],
        "partners": [
            {
                "role": p.role, "name": p.name, "level": p.level, "show_clients": p.show_clients,
                "notify_reached": p.notify_reached, "notify_missed": p.notify_missed,
                "muted": p.muted, "since": _moment(p.since),
            }
            for p in data.partners
        ],
        "shares": [
            {
                "direction": x.direction, "name": x.name, "kind": x.kind, "week": _day(x.week),
                "level": x.level, "show_clients": x.show_clients, "shared_at": _moment(x.shared_at),
            }
            for x in data.shared
        ],
    }  # fmt: skip


def _pretty(value: object, depth: int = 0) -> str:
    """JSON a person can read that stays small: the top two levels of objects spread over
    lines, every record of a list on one line."""
    pad = "  " * (depth + 1)
    if isinstance(value, dict) and value and depth < 2:
        inner = ",\n".join(
            f"{pad}{json.dumps(key)}: {_pretty(item, depth + 1)}" for key, item in value.items()
        )
        return "{\n" + inner + "\n" + "  " * depth + "}"
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        inner = ",\n".join(pad + json.dumps(item, ensure_ascii=False) for item in value)
        return "[\n" + inner + "\n" + "  " * depth + "]"
    return json.dumps(value, ensure_ascii=False)


def export_json(data: OwnerData, now: datetime) -> bytes:
    return (_pretty(export_document(data, now)) + "\n").encode()


def daily_rows(
    checkins: Iterable[CheckInRecord], activity: Iterable[ActivityRecord]
) -> list[DayRecord]:
    """Each day's totals: the check-in's answers plus every logged entry of that day."""
    totals: dict[date, dict[str, int]] = {}
    answers: dict[date, tuple[str | None, str | None]] = {}
    for c in checkins:
        day = totals.setdefault(c.date, dict.fromkeys(KINDS, 0))
        for kind in CHECKIN_KINDS:
            day[kind] += getattr(c, kind) or 0
        answers[c.date] = (c.plan_block_done, c.reason)
    for a in activity:
        day = totals.setdefault(a.date, dict.fromkeys(KINDS, 0))
        if a.kind in day:
            day[a.kind] += a.count
    found = []
    for day_date in sorted(totals):
        counts = totals[day_date]
        block, reason = answers.get(day_date, (None, None))
        found.append(
            DayRecord(
                date=day_date,
                contacts=counts["contacts"],
                meetings=counts["meetings"],
                proposals=counts["proposals"],
                deals=counts["deals"],
                plan_block_done=block,
                reason=reason,
            )
        )
    return found


def export_csv(days: Iterable[DayRecord], delimiter: str = ",") -> bytes:
    """The daily-activity CSV: UTF-8 with BOM, comma-separated, CRLF, the exact CSV_COLUMNS.

    With `delimiter=";"` it is the same file as a French Excel opens in columns (Excel splits
    on `;` where the decimal mark is a comma); the import reads both."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in days:
        writer.writerow(
            [
                d.date.isoformat(), d.contacts, d.meetings, d.proposals, d.deals,
                d.plan_block_done or "", d.reason or "",
            ]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode()


# ---------------------------------------------------------------------------------------------
# Import: which format


def detect_format(filename: str | None, mime_type: str | None, data: bytes) -> Format:
    """JSON or CSV from the content first (a JSON export renamed .txt still imports), then the
    name and type; anything else is refused as the wrong type."""
    name = (filename or "").lower()
    mime = (mime_type or "").lower()
    extension = name.rsplit(".", 1)[1] if "." in name else ""
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if extension in ("json", "csv", "txt") or mime in (
        "application/json", "text/json", "text/csv", "text/plain", "application/csv",
        "text/comma-separated-values", "application/vnd.ms-excel", "application/octet-stream", "",
    ):  # fmt: skip
        if head.startswith((b"{", b"[")):
            return "json"
        if extension == "json" or "json" in mime:
            return "json"
        if (
            extension in ("csv", "txt")
            or mime.startswith("text/")
            or "csv" in mime
            or "excel" in mime
        ):
            return "csv"
        if head[:4].lower() == b"date" or b"contacts" in head.lower():
            return "csv"
    raise ImportRefused([Problem("wrong_type", value=_shown(filename or mime or "?"))])


def parse_file(
    data: bytes,
    filename: str | None,
    mime_type: str | None,
    *,
    today: date,
    now: datetime,
) -> Payload:
    """The whole file checked and read, or ImportRefused naming the first problems."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused([Problem("too_big", hint=str(MAX_FILE_BYTES // (1024 * 1024)))])
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise ImportRefused([Problem("empty")])
    kind = detect_format(filename, mime_type, data)
    text = _decode(data, kind)
    if kind == "json":
        return parse_json(text, today=today, now=now)
    return parse_csv(text, today=today)


def _decode(data: bytes, kind: Format) -> str:
    if b"\x00" in data:
        raise ImportRefused([Problem("not_text")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if kind == "csv":
            try:
                return data.decode("cp1252")  # Excel on Windows saves CSV in its code page
            except UnicodeDecodeError:
                pass
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportRefused([Problem("not_text", line=line)]) from None


# ---------------------------------------------------------------------------------------------
# Import: values


class _Bad(Exception):
    """One value is wrong: the caller records it with its place in the file."""

    def __init__(self, code: str, value: object = None, hint: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.value = None if value is None else _shown(value)
        self.hint = hint


def _date_value(raw: object, *, today: date | None) -> date:
    """An ISO date, not before MIN_DATE and (when `today` is given) not after it."""
    if not isinstance(raw, str) or not _ISO_DATE.match(raw.strip()):
        raise _Bad("not_a_date", raw)
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise _Bad("not_a_date", raw) from None
    if value < MIN_DATE:
        raise _Bad("too_old", raw, MIN_DATE.isoformat())
    if today is not None and value > today:
        raise _Bad("future_date", raw, today.isoformat())
    return value


def _ahead(raw: object, today: date) -> date:
    """A date that may be in the future, but not past what the product plans for (a pause or a
    quote's expiry at most MAX_AHEAD_DAYS away): 9999-12-31 is refused here, not at Confirm."""
    value = _date_value(raw, today=None)
    latest = today + timedelta(days=MAX_AHEAD_DAYS)
    if value > latest:
        raise _Bad("too_far", raw, latest.isoformat())
    return value


def _optional_date(raw: object, *, today: date | None) -> date | None:
    return None if raw is None else _date_value(raw, today=today)


def _moment_value(raw: object, *, now: datetime) -> datetime:
    if not isinstance(raw, str) or len(raw) > 40:
        raise _Bad("not_a_moment", raw)
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _Bad("not_a_moment", raw) from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value.date() < MIN_DATE:
        raise _Bad("too_old", raw, MIN_DATE.isoformat())
    if value > now + FUTURE_TOLERANCE:
        raise _Bad("future_date", raw, now.date().isoformat())
    return value


def _optional_moment(raw: object, *, now: datetime) -> datetime | None:
    return None if raw is None else _moment_value(raw, now=now)


def _whole(raw: object, *, maximum: int, minimum: int = 0) -> int:
    """A whole number from a JSON number or a CSV cell."""
    if isinstance(raw, bool):
        raise _Bad("not_a_number", raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise _Bad("not_a_number", raw)
        if not raw.is_integer():
            raise _Bad("not_whole", raw)
        raw = int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"[+-]?\d{1,12}", text):
            raw = int(text)
        elif re.fullmatch(r"[+-]?\d{1,12}[.,]0*", text):
            raw = int(re.split(r"[.,]", text)[0])
        elif re.fullmatch(r"[+-]?\d*[.,]\d+", text):
            raise _Bad("negative" if text.startswith("-") else "not_whole", raw)
        elif re.fullmatch(r"[+-]?\d+", text):
            raise _Bad("negative" if text.startswith("-") else "too_large", raw, str(maximum))
        else:
            raise _Bad("not_a_number", raw)
    if not isinstance(raw, int):
        raise _Bad("not_a_number", raw)
    if raw < 0:
        raise _Bad("negative", raw)
    if raw < minimum:
        raise _Bad("too_small", raw, str(minimum))
    if raw > maximum:
        raise _Bad("too_large", raw, str(maximum))
    return raw


def _optional_whole(raw: object, *, maximum: int) -> int | None:
    return None if raw is None else _whole(raw, maximum=maximum)


def _choice(raw: object, options: Sequence[str], *, optional: bool = True) -> str | None:
    if raw is None or (optional and isinstance(raw, str) and not raw.strip()):
        if optional:
            return None
        raise _Bad("required", hint=", ".join(options))
    if not isinstance(raw, str) or raw.strip().lower() not in options:
        raise _Bad("not_allowed", raw, ", ".join(options))
    return raw.strip().lower()


def _token(raw: object) -> str:
    if not isinstance(raw, str) or not _TOKEN.match(raw):
        raise _Bad("not_allowed", raw, "a-z, 0-9, _")
    return raw


def _text(raw: object, *, maximum: int, no_control: bool = False) -> str:
    if not isinstance(raw, str):
        raise _Bad("not_a_string", raw)
    if not raw.strip():
        raise _Bad("required")
    if (_CONTROL if no_control else _FORBIDDEN_TEXT).search(raw):
        raise _Bad("invalid_character", raw)
    if len(raw) > maximum:
        raise _Bad("too_long", raw, str(maximum))
    return raw


def _optional_text(raw: object, *, maximum: int) -> str | None:
    return None if raw is None else _text(raw, maximum=maximum)


def _clock_value(raw: object) -> time:
    match = _CLOCK.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise _Bad("not_a_time", raw)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        raise _Bad("not_a_time", raw)
    return time(hours, minutes, seconds)


def _amount(raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Bad("not_an_amount", raw)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise _Bad("not_an_amount", raw) from None
    if not value.is_finite():
        raise _Bad("not_an_amount", raw)
    if value <= 0:
        raise _Bad("negative" if value < 0 else "too_small", raw, "0.01")
    if value > MAX_AMOUNT:
        raise _Bad("too_large", raw, str(MAX_AMOUNT))
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if value <= 0:
        raise _Bad("too_small", raw, "0.01")
    return value


def _currency(raw: object) -> str:
    if not isinstance(raw, str) or parse_currency(raw) != raw:
        raise _Bad("unknown_currency", raw)
    return raw


def _weekday(raw: object) -> int:
    if isinstance(raw, str) and raw.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(raw.strip().lower())
    raise _Bad("not_allowed", raw, ", ".join(WEEKDAYS))


def _boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise _Bad("not_true_false", raw)
    return raw


def _evidence(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Bad("not_an_object", raw)

    def check(value: object, depth: int) -> None:
        if depth > 8:
            raise _Bad("too_deep")
        if isinstance(value, str):
            if _FORBIDDEN_TEXT.search(value):
                raise _Bad("invalid_character", value)
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise _Bad("not_a_number", value)
        elif isinstance(value, dict):
            for key, item in value.items():
                check(key, depth + 1)
                check(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                check(item, depth + 1)
        elif not (value is None or isinstance(value, bool | int)):
            raise _Bad("not_allowed", value)

    check(raw, 0)
    if len(json.dumps(raw, ensure_ascii=False)) > MAX_EVIDENCE_CHARS:
        raise _Bad("too_long", hint=str(MAX_EVIDENCE_CHARS))
    return raw


# ---------------------------------------------------------------------------------------------
# Import: JSON


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def locate(text: str, path: JsonPath) -> int:
    """The offset in `text` of the value at `path` (as deep as the path can be followed).

    Only runs for the few problems shown, so values on the way are skipped by the C decoder.
    """
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    try:
        for step in path:
            if pos >= len(text):
                break
            if text[pos] == "{" and isinstance(step, str):
                found: int | None = None
                pos = _skip(text, pos + 1)
                while pos < len(text) and text[pos] == '"':
                    key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
                    pos = _skip(text, _skip(text, pos) + 1)
                    if key == step:
                        found = pos  # keep going: the last duplicate key is the one read
                    pos = _skip(text, decoder.raw_decode(text, pos)[1])
                    if pos < len(text) and text[pos] == ",":
                        pos = _skip(text, pos + 1)
                if found is None:
                    break
                pos = found
            elif text[pos] == "[" and isinstance(step, int):
                start = pos
                pos = _skip(text, pos + 1)
                for _ in range(step):
                    pos = _skip(text, decoder.raw_decode(text, pos)[1])
                    if pos < len(text) and text[pos] == ",":
                        pos = _skip(text, pos + 1)
                    else:
                        pos = start
                        break
            else:
                break
    except (ValueError, RecursionError, IndexError):
        pass
    return min(pos, len(text))


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of an offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _path_text(path: JsonPath) -> str:
    out = ""
    for step in path:
        out += f"[{step + 1}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_problem(text: str, error: ValueError) -> Problem:
    if isinstance(error, json.JSONDecodeError):
        return Problem("not_json", line=error.lineno, column=error.colno, hint=error.msg)
    return Problem("not_json", hint=str(error)[:80])


class _JsonReader:
    """Walks the decoded document, recording each wrong value with its JSON path."""

    def __init__(self, text: str, today: date, now: datetime) -> None:
        self.text = text
        self.today = today
        self.now = now
        self.problems = _Problems()

    def value(self, path: JsonPath, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except _Bad as bad:
            where = _path_text(path)
            self.problems.add(Problem(bad.code, where=where, value=bad.value, hint=bad.hint), path)
            return _INVALID

    def bad(self, path: JsonPath, code: str, value: object = None, hint: str | None = None) -> Any:
        """Record a problem found while reading the value at `path`."""
        shown = None if value is None else _shown(value)
        self.problems.add(Problem(code, where=_path_text(path), value=shown, hint=hint), path)
        return _INVALID

    def items(
        self, doc: Mapping[str, Any], path: JsonPath, *, limit: int = MAX_ITEMS
    ) -> list[tuple[JsonPath, Mapping[str, Any]]]:
        """The objects of a list at `path` (missing or null: none)."""
        raw: Any = doc
        for step in path:
            raw = raw.get(step) if isinstance(raw, dict) else None
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.bad(path, "not_a_list", raw)
            return []
        if len(raw) > limit:
            self.bad(path, "too_many", hint=str(limit))
            return []
        found: list[tuple[JsonPath, Mapping[str, Any]]] = []
        for n, item in enumerate(raw):
            if isinstance(item, dict):
                found.append(((*path, n), item))
            else:
                self.bad((*path, n), "not_an_object", item)
        return found

    def field(
        self,
        item: Mapping[str, Any],
        path: JsonPath,
        name: str,
        read: Callable[[Any], Any],
        *,
        required: bool = True,
    ) -> Any:
        if name not in item or item[name] is None:
            if required:
                return self.bad((*path, name), "required")
            return None
        return self.value((*path, name), lambda: read(item[name]))

    def refused(self) -> ImportRefused:
        shown = []
        for problem, path in self.problems.kept:
            if path is not None:
                line, column = line_column(self.text, locate(self.text, path))
                problem = replace(problem, line=line, column=column)
            shown.append(problem)
        return ImportRefused(shown, self.problems.total)


class _Invalid:
    def __repr__(self) -> str:
        return "<invalid>"


_INVALID: Any = _Invalid()


def _latest_day(today: date, now: datetime, timezone: object) -> date:
    """Today in the owner's zone, or in the zone the export names when that one is ahead."""
    if isinstance(timezone, str) and parse_timezone(timezone) == timezone:
        return max(today, now.astimezone(zone(timezone)).date())
    return today


def parse_json(text: str, *, today: date, now: datetime) -> Payload:
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ImportRefused([Problem("too_deep")]) from None
    except ValueError as error:
        raise ImportRefused([_json_problem(text, error)]) from None
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise ImportRefused([Problem("not_export", line=1, column=1)])
    version = doc["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        offset = locate(text, ("schema_version",))
        line, column = line_column(text, offset)
        code = (
            "newer_version"
            if isinstance(version, int) and version > SCHEMA_VERSION
            else "not_export"
        )
        raise ImportRefused([Problem(code, line=line, column=column, value=_shown(version))])
    profile_raw = doc.get("profile")
    latest = _latest_day(
        today, now, profile_raw.get("timezone") if isinstance(profile_raw, dict) else None
    )
    reader = _JsonReader(text, latest, now)
    payload = Payload(
        format="json",
        profile=_read_profile(reader, doc),
        checkins=_read_checkins(reader, doc),
        activity=_read_activity(reader, doc),
        quotes=_read_quotes(reader, doc),
        blocks=_read_blocks(reader, doc),
        block_sessions=_read_sessions(reader, doc),
        goals=_read_goals(reader, doc),
        diagnoses=_read_diagnoses(reader, doc),
    )
    if reader.problems:
        raise reader.refused()
    return payload


def _read_profile(r: _JsonReader, doc: Mapping[str, Any]) -> ProfileRecord | None:
    raw = doc.get("profile")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        r.bad(("profile",), "not_an_object", raw)
        return None
    path: JsonPath = ("profile",)

    def days(value: object) -> int:
        if not isinstance(value, list) or not value:
            raise _Bad("not_allowed", value, ", ".join(WEEKDAYS))
        mask = 0
        for name in value:
            mask |= 1 << _weekday(name)
        return mask

    def language(value: object) -> str:
        return str(_choice(value, LANGUAGES, optional=False))

    def timezone(value: object) -> str:
        if not isinstance(value, str) or parse_timezone(value) != value:
            raise _Bad("unknown_timezone", value)
        return value

    values = {
        "language": r.field(raw, path, "language", language),
        "timezone": r.field(raw, path, "timezone", timezone),
        "checkin_time": r.field(raw, path, "checkin_time", _clock_value),
        "checkin_days": r.field(raw, path, "checkin_days", days),
        "currency": r.field(raw, path, "currency", _currency),
        "paused_until": r.field(
            raw, path, "paused_until", lambda v: _ahead(v, r.today), required=False
        ),
        "onboarded": r.field(
            raw, path, "onboarded_at", lambda v: _moment_value(v, now=r.now), required=False
        ),
    }
    if any(v is _INVALID for v in values.values()):
        return None
    values["onboarded"] = values["onboarded"] is not None
    return ProfileRecord(**values)


def _read_checkins(r: _JsonReader, doc: Mapping[str, Any]) -> list[CheckInRecord]:
    found: list[CheckInRecord] = []
    seen: set[date] = set()
    for path, item in r.items(doc, ("checkins",)):
        values = {
            "date": r.field(item, path, "date", lambda v: _date_value(v, today=r.today)),
            **{
                kind: r.field(
                    item, path, kind, lambda v: _whole(v, maximum=MAX_ANSWER), required=False
                )
                for kind in CHECKIN_KINDS
            },
            "plan_block_done": r.field(
                item, path, "plan_block_done", lambda v: _choice(v, BLOCK_ANSWERS), required=False
            ),
            "reason": r.field(item, path, "reason", lambda v: _choice(v, REASONS), required=False),
            "reason_text": r.field(
                item, path, "reason_text", lambda v: _text(v, maximum=MAX_REASON_TEXT),
                required=False,
            ),
            "asked_at": r.field(item, path, "asked_at", lambda v: _moment_value(v, now=r.now)),
            "completed_at": r.field(
                item, path, "completed_at", lambda v: _moment_value(v, now=r.now), required=False
            ),
        }  # fmt: skip
        if values["date"] in seen:
            r.bad((*path, "date"), "duplicate", values["date"].isoformat())
            continue
        if any(v is _INVALID for v in values.values()):
            continue
        seen.add(values["date"])
        found.append(CheckInRecord(**values))
    return found


def _read_activity(r: _JsonReader, doc: Mapping[str, Any]) -> list[ActivityRecord]:
    found: list[ActivityRecord] = []
    for path, item in r.items(doc, ("activity",)):
        values = {
            "date": r.field(item, path, "date", lambda v: _date_value(v, today=r.today)),
            "kind": r.field(
                item, path, "kind", lambda v: _choice(v, ACTIVITY_KINDS, optional=False)
            ),
            "count": r.field(item, path, "count", lambda v: _whole(v, maximum=MAX_DAILY)),
            "source": r.field(item, path, "source", _token),
            "logged_at": r.field(item, path, "logged_at", lambda v: _moment_value(v, now=r.now)),
        }
        if not any(v is _INVALID for v in values.values()):
            found.append(ActivityRecord(**values))
    return found


def _read_quotes(r: _JsonReader, doc: Mapping[str, Any]) -> list[QuoteRecord]:
    found: list[QuoteRecord] = []
    for path, item in r.items(doc, ("quotes",)):
        past = lambda v: _date_value(v, today=r.today)  # noqa: E731
        values = {
            "client": r.field(
                item, path, "client", lambda v: _text(v, maximum=MAX_CLIENT, no_control=True)
            ),
            "amount": r.field(item, path, "amount", _amount),
            "currency": r.field(item, path, "currency", _currency),
            "sent_on": r.field(item, path, "sent_on", past),
            "expires_on": r.field(item, path, "expires_on", lambda v: _ahead(v, r.today)),
            "status": r.field(
                item, path, "status", lambda v: _choice(v, QUOTE_STATUSES, optional=False)
            ),
            "closed_on": r.field(item, path, "closed_on", past, required=False),
            "followed_up_on": r.field(item, path, "followed_up_on", past, required=False),
            "created_at": r.field(
                item, path, "created_at", lambda v: _moment_value(v, now=r.now), required=False
            ),
        }
        if any(v is _INVALID for v in values.values()):
            continue
        if values["expires_on"] < values["sent_on"]:
            r.bad((*path, "expires_on"), "before_sent", values["expires_on"].isoformat())
            continue
        found.append(QuoteRecord(**values))
    return found


def _read_blocks(r: _JsonReader, doc: Mapping[str, Any]) -> list[BlockRecord]:
    found: list[BlockRecord] = []
    plan = doc.get("plan")
    if plan is not None and not isinstance(plan, dict):
        r.bad(("plan",), "not_an_object", plan)
        return found
    seen: set[tuple[int, time]] = set()
    for path, item in r.items(doc, ("plan", "blocks"), limit=MAX_BLOCKS):
        values = {
            "weekday": r.field(item, path, "weekday", _weekday),
            "start_time": r.field(item, path, "start_time", _clock_value),
            "duration_minutes": r.field(
                item, path, "duration_minutes",
                lambda v: _whole(v, maximum=MAX_DURATION, minimum=MIN_DURATION),
            ),
        }  # fmt: skip
        if any(v is _INVALID for v in values.values()):
            continue
        block = BlockRecord(**values)
        end = block.start_time.hour * 60 + block.start_time.minute + block.duration_minutes
        if end > 24 * 60:
            r.bad((*path, "duration_minutes"), "past_midnight")
            continue
        if (block.weekday, block.start_time) not in seen:
            seen.add((block.weekday, block.start_time))
            found.append(block)
    return found


def _read_sessions(r: _JsonReader, doc: Mapping[str, Any]) -> list[BlockSessionRecord]:
    found: list[BlockSessionRecord] = []
    if not isinstance(doc.get("plan"), dict):
        return found
    seen: set[tuple[date, time]] = set()
    for path, item in r.items(doc, ("plan", "sessions")):
        values = {
            "date": r.field(item, path, "date", lambda v: _date_value(v, today=r.today)),
            "start_time": r.field(item, path, "start_time", _clock_value),
            "status": r.field(
                item, path, "status", lambda v: _choice(v, BLOCK_STATUSES, optional=False)
            ),
            "reason": r.field(item, path, "reason", lambda v: _choice(v, REASONS), required=False),
            "answered_at": r.field(
                item, path, "answered_at", lambda v: _moment_value(v, now=r.now), required=False
            ),
        }
        if any(v is _INVALID for v in values.values()):
            continue
        key = (values["date"], values["start_time"])
        if key in seen:
            r.bad((*path, "date"), "duplicate", key[0].isoformat())
            continue
        seen.add(key)
        found.append(BlockSessionRecord(**values))
    return found


def _read_goals(r: _JsonReader, doc: Mapping[str, Any]) -> list[GoalRecord]:
    found: list[GoalRecord] = []
    for path, item in r.items(doc, ("goals",), limit=1000):
        values = {
            "weekly_contacts": r.field(
                item, path, "weekly_contacts", lambda v: _whole(v, maximum=MAX_TARGET, minimum=1)
            ),
            "reward": r.field(item, path, "reward", lambda v: _text(v, maximum=MAX_REWARD)),
            "started_on": r.field(
                item, path, "started_on", lambda v: _date_value(v, today=r.today)
            ),
            "active": r.field(item, path, "active", _boolean),
            "celebrated_week": r.field(
                item, path, "celebrated_week", lambda v: _date_value(v, today=r.today),
                required=False,
            ),
            "created_at": r.field(
                item, path, "created_at", lambda v: _moment_value(v, now=r.now), required=False
            ),
        }  # fmt: skip
        if any(v is _INVALID for v in values.values()):
            continue
        if values["active"] and any(g.active for g in found):
            r.bad((*path, "active"), "two_active_goals")
            continue
        found.append(GoalRecord(**values))
    return found


def _read_diagnoses(r: _JsonReader, doc: Mapping[str, Any]) -> list[DiagnosisRecord]:
    found: list[DiagnosisRecord] = []

    def confidence(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad("not_a_number", value)
        if not 0 <= value <= 1:
            raise _Bad("not_allowed", value, "0 – 1")
        return float(value)

    for path, item in r.items(doc, ("diagnoses",)):
        values = {
            "date": r.field(item, path, "date", lambda v: _date_value(v, today=r.today)),
            "type": r.field(
                item, path, "type", lambda v: _choice(v, DIAGNOSIS_TYPES, optional=False)
            ),
            "source": r.field(item, path, "source", _token),
            "confidence": r.field(item, path, "confidence", confidence),
            "evidence": r.field(item, path, "evidence", _evidence, required=False),
            "created_at": r.field(
                item, path, "created_at", lambda v: _moment_value(v, now=r.now), required=False
            ),
        }
        if any(v is _INVALID for v in values.values()):
            continue
        values["evidence"] = values["evidence"] or {}
        found.append(DiagnosisRecord(**values))
    return found


# ---------------------------------------------------------------------------------------------
# Import: CSV


def _header_key(cell: str) -> str:
    return cell.strip().strip("\ufeff").strip().lower()


def parse_csv(text: str, *, today: date) -> Payload:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(_csv_rows(text, delimiter))
    except csv.Error as error:
        raise ImportRefused([Problem("bad_csv", hint=str(error)[:80])]) from None
    if not rows:
        raise ImportRefused([Problem("empty")])
    header_line, header = rows[0]
    names = [_header_key(cell) for cell in header]
    problems = _Problems()
    for n, name in enumerate(names):
        if name not in CSV_COLUMNS:
            problems.add(
                Problem(
                    "unknown_column",
                    header_line,
                    n + 1,
                    value=_shown(header[n]),
                    hint=",".join(CSV_COLUMNS),
                )
            )
        elif names.index(name) != n:
            problems.add(Problem("duplicate_column", header_line, n + 1, value=_shown(header[n])))
    for name in CSV_COLUMNS:
        if name not in names:
            problems.add(
                Problem("missing_column", header_line, None, where=name, hint=",".join(CSV_COLUMNS))
            )
    if problems:
        raise ImportRefused([p for p, _ in problems.kept], problems.total)
    position = {name: names.index(name) for name in CSV_COLUMNS}
    days: list[DayRecord] = []
    first_line: dict[date, int] = {}
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.add(
                Problem("field_count", line, None, value=str(len(row)), hint=str(len(names)))
            )
            continue
        values: dict[str, Any] = {}
        for name in CSV_COLUMNS:
            cell = row[position[name]]
            column = position[name] + 1
            try:
                if name == "date":
                    values[name] = _date_value(cell, today=today)
                elif name in KINDS:
                    values[name] = _whole(cell, maximum=MAX_DAILY) if cell.strip() else 0
                elif name == "plan_block_done":
                    values[name] = _choice(cell, BLOCK_ANSWERS)
                else:
                    values[name] = _choice(cell, REASONS)
            except _Bad as bad:
                problems.add(Problem(bad.code, line, column, name, bad.value, bad.hint))
                values[name] = _INVALID
        day = values["date"]
        if day is not _INVALID and day in first_line:
            problems.add(
                Problem(
                    "duplicate",
                    line,
                    position["date"] + 1,
                    "date",
                    day.isoformat(),
                    str(first_line[day]),
                )
            )
            continue
        if any(v is _INVALID for v in values.values()):
            continue
        first_line[day] = line
        days.append(DayRecord(**values))
    if problems:
        raise ImportRefused([p for p, _ in problems.kept], problems.total)
    return Payload(format="csv", days=sorted(days, key=lambda d: d.date))


def _csv_rows(text: str, delimiter: str) -> Iterable[tuple[int, list[str]]]:
    """Rows with the line each one starts on."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1


# ---------------------------------------------------------------------------------------------
# A pending import kept in the user's dialog row until they confirm


def to_storage(payload: Payload) -> dict[str, Any]:
    """A JSON-able form of a checked payload (read back with `from_storage`)."""
    if payload.format == "csv":
        return {
            "format": "csv",
            "days": [
                [d.date.isoformat(), d.contacts, d.meetings, d.proposals, d.deals,
                 d.plan_block_done, d.reason]
                for d in payload.days
            ],
        }  # fmt: skip
    identity = Identity("", 0, 0, datetime(2000, 1, 1, tzinfo=UTC), None)
    profile = payload.profile or ProfileRecord("en", "UTC", time(9), 1, "EUR", None, False)
    data = OwnerData(
        identity, profile, payload.checkins, payload.activity, payload.quotes, payload.blocks,
        payload.block_sessions, payload.goals, payload.diagnoses,
    )  # fmt: skip
    document = export_document(data, datetime(2000, 1, 1, tzinfo=UTC))
    if payload.profile is None:
        del document["profile"]
    else:
        document["profile"]["onboarded_at"] = (
            document["profile"]["created_at"] if payload.profile.onboarded else None
        )
    return {"format": "json", "document": document}


def from_storage(stored: Mapping[str, Any], *, today: date, now: datetime) -> Payload:
    """The payload `to_storage` kept (checked again: it comes from the database)."""
    if stored.get("format") == "csv":
        days = [
            DayRecord(date.fromisoformat(d), c, m, p, s, b, r)
            for d, c, m, p, s, b, r in stored.get("days", [])
        ]
        return Payload(format="csv", days=days)
    text = json.dumps(stored.get("document"), ensure_ascii=False)
    return parse_json(text, today=today, now=now)
