"""Quotes: registering proposals, the open pipeline, and reminders before they expire.

A quote is not business until it is signed: every quote gets an expiry date, the owner is
reminded to follow up before it lapses, and the pipeline only counts what is still valid.

Rules:
- A quote is valid to the end of its expiry day in the owner's time zone. From the next local
  day it is *expired*: out of the open pipeline, but it can still be marked signed or lost, or
  extended.
- An expired quote nobody answered about for `LOST_AFTER_DAYS` (14) days counts as lost. This
  is computed, not stored: the row stays "open" (a late "signed" from an old reminder still
  works) and every total, count and win rate treats it as lost from day expiry + 15.
- Reminders go out at the owner's check-in time, local: 7 days and 2 days before expiry, on the
  expiry day, and the day after ("did they sign?"). A reminder before expiry that falls on a day
  without check-in moves to the check-in day before; the day-after one moves to the next
  check-in day (it asks about what happened, so it cannot come earlier). Two reminders moved
  onto one day become one (the later).
- When a quote is registered or extended, reminders whose time has passed are dropped, except
  that a quote expiring today or tomorrow gets one reminder right away (due now).
- Signed, lost, extended or deleted: the quote's pending reminders are cancelled (or moved to
  the new expiry). At send time a reminder re-checks that the quote is still open with the same
  expiry, and that what it says is still true (not yet expired; for the day-after one, not yet
  counted lost); one more than `LATE_LIMIT` late before expiry is dropped.
- Signed logs one deal for the owner's local day (`ActivityEntry` kind "deals", source "quote").
  A tap on a reminder's button marks the quote followed up (`followed_up_on`, local date).
- A registered quote *is* a proposal sent that day: registering logs one "proposals" entry
  (source "quote") for the owner's local day, so the check-in, /stats, the export and the
  coaching count it once; deleting the quote (typed by mistake) takes that entry back.
- "📞 Followed up" (on a reminder or in /quotes) sets `followed_up_on` and logs one "follow_ups"
  entry (source "quote"), once a day per quote.
- A closed quote (signed or lost) can be reopened: it is open again, a deal logged by Signed is
  taken back, and its reminders are planned again from its expiry (`schedule_reminders`).
- Before registering, a quote asks for a confirmation when it repeats one registered in the last
  `DUPLICATE_DAYS` days (same client, case and spaces aside, and same amount and currency), or
  when its amount is above `AMOUNT_CEILING` or over `UNUSUAL_FACTOR` times the owner's usual
  (median of their quotes in that currency, once they have `USUAL_MIN_QUOTES`).
- Money is summed per currency (never EUR + USD). "Signed this month" is the owner's local
  calendar month. The win rate is signed / (signed + lost) over every closed quote, counted-lost
  ones included; None before any quote is closed.
- A guided /quote keeps its step and answers in the user's Dialog row (name "quote"), so it
  survives restarts and replicas; a guided answer older than `DIALOG_TTL` is forgotten.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import outbox, users
from bot.db import quotes as queries
from bot.db.models import ActivityEntry, Dialog, DialogName, OutboxMessage, Quote, QuoteStatus, User
from bot.services import schedule
from bot.services.activity_input import ActivityKind
from bot.services.dialogs import GUIDED_TTL
from bot.services.preferences import local_today, zone
from bot.services.quote_input import (
    MAX_VALIDITY_DAYS,
    QuoteDraft,
    QuoteInputError,
    parse_amount,
    parse_client,
    parse_validity,
)

REMINDER_KIND = "quote_reminder"
LOST_AFTER_DAYS = 14
EXPIRING_SOON_DAYS = 7  # "expiring this week": today and the 6 days after
FOLLOW_UP_GRACE_DAYS = 7  # an open quote this old and never followed up counts "without follow-up"
LATE_LIMIT = timedelta(hours=12)
DIALOG_TTL = GUIDED_TTL
VALIDITY_CHOICES = (15, 30, 45, 60)
EXTEND_CHOICES = (15, 30)
PAGE_SIZE = 5
QUOTE_SOURCE = "quote"  # activity entries a quote logs itself (proposal, follow-up, deal)
DUPLICATE_DAYS = 7
AMOUNT_CEILING = Decimal(1_000_000)  # above this, one confirmation (a typo is likelier)
UNUSUAL_FACTOR = 10
USUAL_MIN_QUOTES = 3
REOPEN_DAYS = 30  # closed quotes offered for reopening in /quotes


class Which(StrEnum):
    """Which reminder of a quote: days before expiry, or the day after."""

    D7 = "d7"
    D2 = "d2"
    D0 = "d0"
    AFTER = "after"


BEFORE_EXPIRY = ((Which.D7, 7), (Which.D2, 2), (Which.D0, 0))


class QuoteStep(StrEnum):
    """The question a guided /quote (or an extension) is waiting for."""

    CLIENT = "client"
    AMOUNT = "amount"
    VALIDITY = "validity"
    EXTEND = "extend"
    CONFIRM = "confirm"  # a duplicate or unusual amount waits for "register it anyway"


class Reminder(NamedTuple):
    which: Which
    day: date  # the local day it is for (today for one sent right away)
    due_at: datetime  # UTC


@dataclass(frozen=True)
class Pipeline:
    """The owner's quotes as of a local day; money as {currency: total}."""

    today: date
    open_quotes: list[Quote]  # valid (expiry today or later), soonest expiry first
    expired: list[Quote]  # expired, not yet counted lost: still waiting for an answer
    expiring_this_week: list[Quote]  # open quotes expiring within EXPIRING_SOON_DAYS
    open_value: dict[str, Decimal]
    signed_this_month: dict[str, Decimal]
    signed_count: int  # all time
    lost_count: int  # all time, counted-lost included
    win_rate: float | None  # signed / (signed + lost), None when nothing is closed
    without_follow_up: (
        int  # open or expired quotes sent FOLLOW_UP_GRACE_DAYS+ ago, never followed up
    )

    @property
    def listed(self) -> list[Quote]:
        """What /quotes lists, by expiry: expired ones awaiting an answer, then open ones."""
        return [*self.expired, *self.open_quotes]


@dataclass(frozen=True)
class Page:
    quotes: list[Quote]
    number: int  # 0-based, clamped to the pages there are
    count: int  # pages, at least 1
    first_index: int  # 1-based position of quotes[0] in the whole list


# ---------------------------------------------------------------------------------------------
# Time


def is_expired(quote: Quote, today: date) -> bool:
    """Past the end of its expiry day (today is the owner's local date)."""
    return quote.expires_on < today


def counts_as_lost(quote: Quote, today: date) -> bool:
    """Lost, or expired and unanswered for more than LOST_AFTER_DAYS days."""
    if quote.status == QuoteStatus.LOST:
        return True
    return quote.status == QuoteStatus.OPEN and quote.expires_on < lost_cutoff(today)


def lost_cutoff(today: date) -> date:
    """Open quotes expiring before this date count as lost."""
    return today - timedelta(days=LOST_AFTER_DAYS)


# ---------------------------------------------------------------------------------------------
# Reminders


def reminder_plan(
    expires_on: date,
    now: datetime,
    checkin_at: time,
    checkin_days: int,
    tz: tzinfo,
    *,
    catch_up: bool = True,
) -> list[Reminder]:
    """The reminders a quote expiring on `expires_on` gets from `now` on, in time order.

    `catch_up`: a quote expiring today or tomorrow gets one reminder due now (for a new quote;
    not after an extension, which the owner just made).
    """
    today = schedule.local_date(now, tz)
    by_day: dict[date, Which] = {}
    for which, days_before in BEFORE_EXPIRY:  # later reminders overwrite earlier ones on a day
        day = expires_on - timedelta(days=days_before)
        by_day[schedule.previous_checkin_day(day, checkin_days) or day] = which
    planned = sorted(by_day.items())
    reminders: list[Reminder] = []
    if catch_up and expires_on - today <= timedelta(days=1):
        # Expiring today or tomorrow: the latest reminder already due goes out right away.
        passed = [(day, which) for day, which in planned if day <= today]
        if passed:
            reminders.append(Reminder(passed[-1][1], today, now))
        planned = [(day, which) for day, which in planned if day > today]
    for day, which in planned:
        due_at = schedule.local_moment(day, checkin_at, tz)
        if due_at > now:
            reminders.append(Reminder(which, day, due_at))
    after = _next_checkin_day(expires_on + timedelta(days=1), checkin_days)
    after_at = schedule.local_moment(after, checkin_at, tz)
    if after_at > now:  # always for a quote still valid; an expired one had its turn
        reminders.append(Reminder(Which.AFTER, after, after_at))
    return reminders


def _next_checkin_day(day: date, checkin_days: int) -> date:
    """The first check-in weekday on or after `day` (the day itself without check-in days)."""
    for ahead in range(7):
        candidate = day + timedelta(days=ahead)
        if checkin_days >> candidate.weekday() & 1:
            return candidate
    return day


def reminder_key(quote: Quote, which: Which) -> str:
    # The expiry is part of the key: after an extension the new reminders are new rows, even
    # where the old one of the same kind was already sent (a sent row is never re-sent).
    return f"{key_prefix(quote.id)}{quote.expires_on.isoformat()}:{which}"


def key_prefix(quote_id: int) -> str:
    return f"quote:{quote_id}:"


def reminder_payload(quote: Quote, which: Which) -> dict[str, object]:
    return {"quote_id": quote.id, "which": str(which), "expires_on": quote.expires_on.isoformat()}


async def schedule_reminders(
    session: AsyncSession, user: User, quote: Quote, now: datetime, *, catch_up: bool = True
) -> list[Reminder]:
    """Replace the quote's pending reminders by those of its current expiry (none while the
    owner has blocked the bot: they come back with the owner, see `schedules`)."""
    await outbox.cancel(session, user_id=user.id, key_prefix=key_prefix(quote.id))
    if user.blocked_at is not None:
        return []
    plan = reminder_plan(
        quote.expires_on,
        now,
        user.checkin_time,
        user.checkin_days,
        zone(user.timezone),
        catch_up=catch_up,
    )
    for reminder in plan:
        await outbox.schedule(
            session,
            user_id=user.id,
            kind=REMINDER_KIND,
            dedupe_key=reminder_key(quote, reminder.which),
            due_at=reminder.due_at,
            now=now,
            payload=reminder_payload(quote, reminder.which),
        )
    return plan


async def due_reminder(
    session: AsyncSession, user: User, row: OutboxMessage, now: datetime
) -> Quote | None:
    """The quote a due reminder is about, or None when the reminder no longer makes sense."""
    try:
        quote_id = int(row.payload["quote_id"])
        which = Which(row.payload["which"])
        expires_on = date.fromisoformat(row.payload["expires_on"])
    except (KeyError, TypeError, ValueError):
        return None
    if user.blocked_at is not None:
        return None
    quote = await queries.get(session, user.id, quote_id)
    if quote is None or quote.status != QuoteStatus.OPEN or quote.expires_on != expires_on:
        return None
    today = local_today(user, now)
    if which == Which.AFTER:
        return quote if is_expired(quote, today) and not counts_as_lost(quote, today) else None
    if is_expired(quote, today) or now - row.due_at > LATE_LIMIT:
        return None
    return quote


# ---------------------------------------------------------------------------------------------
# Registering and closing


async def register(session: AsyncSession, user: User, draft: QuoteDraft, now: datetime) -> Quote:
    """Store a checked quote (in the owner's currency unless it names one) and plan reminders."""
    today = local_today(user, now)
    quote = Quote(
        user_id=user.id,
        client=draft.client,
        amount=draft.amount,
        currency=draft.currency or user.currency,
        sent_on=today,
        expires_on=draft.expires_on,
        status=QuoteStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(quote)
    _log(session, user, today, ActivityKind.PROPOSALS, now)
    await session.flush()
    await schedule_reminders(session, user, quote, now)
    return quote


def _log(session: AsyncSession, user: User, day: date, kind: ActivityKind, now: datetime) -> None:
    session.add(
        ActivityEntry(
            user_id=user.id,
            local_date=day,
            kind=kind,
            count=1,
            source=QUOTE_SOURCE,
            created_at=now,
        )
    )


async def confirmation_needed(
    session: AsyncSession, user: User, draft: QuoteDraft, now: datetime
) -> str | None:
    """Why this quote asks "register it?" first: "duplicate", "ceiling", "unusual", or None."""
    currency = draft.currency or user.currency
    today = local_today(user, now)
    recent = await queries.sent_since(session, user.id, today - timedelta(days=DUPLICATE_DAYS))
    name = " ".join(draft.client.casefold().split())
    for quote in recent:
        same_client = " ".join(quote.client.casefold().split()) == name
        if same_client and quote.amount == draft.amount and quote.currency == currency:
            return "duplicate"
    if draft.amount > AMOUNT_CEILING:
        return "ceiling"
    amounts = sorted(await queries.amounts(session, user.id, currency))
    if len(amounts) >= USUAL_MIN_QUOTES:
        usual = amounts[len(amounts) // 2]
        if draft.amount > usual * UNUSUAL_FACTOR:
            return "unusual"
    return None


async def hold_for_confirmation(
    session: AsyncSession, user: User, draft: QuoteDraft, why: str, now: datetime
) -> None:
    """Keep the checked quote in the dialog until the owner confirms or cancels."""
    data = {
        "client": draft.client,
        "amount": str(draft.amount),
        "currency": draft.currency or user.currency,
        "expires_on": draft.expires_on.isoformat(),
        "why": why,
    }
    await users.set_dialog(session, user, DialogName.QUOTE, QuoteStep.CONFIRM, now, data=data)


def held_draft(dialog: Dialog) -> QuoteDraft | None:
    """The quote waiting for confirmation in the dialog; None when its data is unreadable."""
    try:
        return QuoteDraft(
            client=str(dialog.data["client"]),
            amount=Decimal(str(dialog.data["amount"])),
            currency=str(dialog.data["currency"]),
            expires_on=date.fromisoformat(str(dialog.data["expires_on"])),
        )
    except (KeyError, ValueError, ArithmeticError):
        return None


async def recently_closed(session: AsyncSession, user: User, now: datetime) -> list[Quote]:
    """Quotes signed or lost in the last REOPEN_DAYS days (at most PAGE_SIZE), to reopen."""
    first = local_today(user, now) - timedelta(days=REOPEN_DAYS)
    return (await queries.closed_since(session, user.id, first))[:PAGE_SIZE]


async def confirm_held(session: AsyncSession, user: User, now: datetime) -> Quote | None:
    """Register the quote held for confirmation; None when there is none (already done)."""
    dialog = await open_dialog(session, user, now)
    if dialog is None or dialog.step != QuoteStep.CONFIRM:
        return None
    await users.clear_dialog(session, user)
    draft = held_draft(dialog)
    if draft is None or draft.expires_on < local_today(user, now):
        return None  # confirmed too late: the quote would be born expired
    return await register(session, user, draft, now)


async def get(session: AsyncSession, user: User, quote_id: int) -> Quote | None:
    """The user's own quote with this id (None for another user's or a deleted one)."""
    return await queries.get(session, user.id, quote_id)


async def note_follow_up(quote: Quote, user: User, now: datetime) -> None:
    """The owner acted on a reminder about this quote today."""
    quote.followed_up_on = local_today(user, now)
    quote.updated_at = now


async def follow_up(session: AsyncSession, user: User, quote: Quote, now: datetime) -> bool:
    """"📞 Followed up": the quote's follow-up date and one follow-up for today (once a day)."""
    today = local_today(user, now)
    if quote.followed_up_on == today:
        return False
    await note_follow_up(quote, user, now)
    _log(session, user, today, ActivityKind.FOLLOW_UPS, now)
    await session.flush()
    return True


async def named_in(
    session: AsyncSession, user: User, text: str, now: datetime
) -> tuple[Quote | None, str]:
    """The open quote whose client a /log text names ("1 relance Dupont SARL"), as whole words,
    longest name first, and the text without that name; (None, text) when none is named."""
    waiting = await queries.open_since(session, user.id, lost_cutoff(local_today(user, now)))
    for quote in sorted(waiting, key=lambda q: -len(q.client)):
        name = " ".join(quote.client.split())
        if not name:
            continue
        found = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
        if found is not None:
            return quote, (text[: found.start()] + " " + text[found.end() :]).strip()
    return None, text


async def only_open(session: AsyncSession, user: User, now: datetime) -> Quote | None:
    """The owner's one open quote, when there is exactly one (a follow-up is obviously on it)."""
    waiting = await queries.open_since(session, user.id, local_today(user, now))
    return waiting[0] if len(waiting) == 1 else None


async def reopen(session: AsyncSession, user: User, quote: Quote, now: datetime) -> bool:
    """A signed or lost quote open again, its deal taken back and its reminders planned again."""
    if quote.status == QuoteStatus.OPEN:
        return False
    if quote.status == QuoteStatus.SIGNED and quote.closed_on is not None:
        await queries.remove_one_entry(
            session, user.id, quote.closed_on, ActivityKind.DEALS, QUOTE_SOURCE
        )
    quote.status, quote.closed_on, quote.updated_at = QuoteStatus.OPEN, None, now
    await session.flush()
    await schedule_reminders(session, user, quote, now, catch_up=False)
    return True


async def mark_signed(session: AsyncSession, user: User, quote: Quote, now: datetime) -> bool:
    """Signed: closed today, reminders cancelled, a deal logged; False if it was not open."""
    if quote.status != QuoteStatus.OPEN:
        return False
    today = local_today(user, now)
    quote.status, quote.closed_on, quote.updated_at = QuoteStatus.SIGNED, today, now
    session.add(
        ActivityEntry(
            user_id=user.id,
            local_date=today,
            kind=ActivityKind.DEALS,
            count=1,
            source=QUOTE_SOURCE,
            created_at=now,
        )
    )
    await outbox.cancel(session, user_id=user.id, key_prefix=key_prefix(quote.id))
    await session.flush()
    return True


async def mark_lost(session: AsyncSession, user: User, quote: Quote, now: datetime) -> bool:
    """Lost: closed today, reminders cancelled; False if it was not open."""
    if quote.status != QuoteStatus.OPEN:
        return False
    quote.status, quote.closed_on, quote.updated_at = QuoteStatus.LOST, local_today(user, now), now
    await outbox.cancel(session, user_id=user.id, key_prefix=key_prefix(quote.id))
    await session.flush()
    return True


def extended_by(quote: Quote, days: int, today: date) -> date:
    """The expiry `days` after the current one (after today if it has already expired)."""
    expires_on = max(quote.expires_on, today) + timedelta(days=days)
    if (expires_on - today).days > MAX_VALIDITY_DAYS:
        raise QuoteInputError("validity_too_long", {"max_days": str(MAX_VALIDITY_DAYS)})
    return expires_on


async def extend(
    session: AsyncSession, user: User, quote: Quote, expires_on: date, now: datetime
) -> bool:
    """Give an open quote a new expiry (today to a year ahead) and move its reminders."""
    if quote.status != QuoteStatus.OPEN:
        return False
    today = local_today(user, now)
    if expires_on < today:
        raise QuoteInputError("expiry_in_past", {"date": expires_on.isoformat()})
    if (expires_on - today).days > MAX_VALIDITY_DAYS:
        raise QuoteInputError("validity_too_long", {"max_days": str(MAX_VALIDITY_DAYS)})
    quote.expires_on, quote.updated_at = expires_on, now
    await session.flush()
    await schedule_reminders(session, user, quote, now, catch_up=False)
    return True


async def delete(session: AsyncSession, user: User, quote: Quote) -> None:
    """Forget a quote (typed by mistake), the proposal it counted and its pending reminders."""
    await outbox.cancel(session, user_id=user.id, key_prefix=key_prefix(quote.id))
    await queries.remove_one_entry(
        session, user.id, quote.sent_on, ActivityKind.PROPOSALS, QUOTE_SOURCE
    )
    await session.delete(quote)
    await session.flush()


# ---------------------------------------------------------------------------------------------
# The pipeline


async def pipeline(session: AsyncSession, user: User, now: datetime) -> Pipeline:
    """Open and expired quotes, open value and signed value per currency, win rate, follow-ups."""
    today = local_today(user, now)
    listed = await queries.open_since(session, user.id, lost_cutoff(today))
    open_quotes = [q for q in listed if not is_expired(q, today)]
    expired = [q for q in listed if is_expired(q, today)]
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    signed = await queries.signed_between(session, user.id, month_start, month_end)
    signed_count, lost_count = await queries.closed_counts(session, user.id, lost_cutoff(today))
    closed = signed_count + lost_count
    grace = today - timedelta(days=FOLLOW_UP_GRACE_DAYS)
    return Pipeline(
        today=today,
        open_quotes=open_quotes,
        expired=expired,
        expiring_this_week=[
            q for q in open_quotes if (q.expires_on - today).days < EXPIRING_SOON_DAYS
        ],
        open_value=totals(open_quotes),
        signed_this_month=totals(signed),
        signed_count=signed_count,
        lost_count=lost_count,
        win_rate=signed_count / closed if closed else None,
        without_follow_up=sum(1 for q in listed if q.followed_up_on is None and q.sent_on <= grace),
    )


def totals(quotes: list[Quote]) -> dict[str, Decimal]:
    """Amounts summed per currency (Decimal, exact), currencies in alphabetical order."""
    sums: dict[str, Decimal] = {}
    for quote in quotes:
        sums[quote.currency] = sums.get(quote.currency, Decimal(0)) + Decimal(quote.amount)
    return dict(sorted(sums.items()))


def page_of(quotes: list[Quote], number: int, size: int = PAGE_SIZE) -> Page:
    """One page of a list; a page number out of range shows the nearest page."""
    count = max(1, -(-len(quotes) // size))
    number = min(max(number, 0), count - 1)
    start = number * size
    return Page(quotes[start : start + size], number, count, start + 1)


# ---------------------------------------------------------------------------------------------
# The guided /quote (and the typed answer to "extend until when?")


async def start_guided(session: AsyncSession, user: User, now: datetime) -> None:
    """Ask for the client first; any guided /quote in progress starts over."""
    await users.set_dialog(session, user, DialogName.QUOTE, QuoteStep.CLIENT, now, data={})


async def open_dialog(session: AsyncSession, user: User, now: datetime) -> Dialog | None:
    """The user's guided /quote or extension in progress, if recent enough to answer."""
    dialog = await users.get_dialog(session, user)
    if dialog is None or dialog.name != DialogName.QUOTE or now - dialog.updated_at > DIALOG_TTL:
        return None
    return dialog


async def cancel_dialog(session: AsyncSession, user: User) -> bool:
    """Drop a guided /quote or extension in progress; False when there was none."""
    dialog = await users.get_dialog(session, user)
    if dialog is None or dialog.name != DialogName.QUOTE:
        return False
    await users.clear_dialog(session, user)
    return True


async def answer_client(session: AsyncSession, user: User, text: str, now: datetime) -> str:
    """Store the client (checked) and ask for the amount; returns the client name."""
    client = parse_client(text)
    await users.set_dialog(
        session, user, DialogName.QUOTE, QuoteStep.AMOUNT, now, data={"client": client}
    )
    return client


async def answer_amount(
    session: AsyncSession, user: User, dialog: Dialog, text: str, now: datetime
) -> tuple[Decimal, str]:
    """Store the amount and currency (the owner's unless named) and ask for the validity."""
    amount, currency = parse_amount(text)
    data = {**dialog.data, "amount": str(amount), "currency": currency or user.currency}
    await users.set_dialog(session, user, DialogName.QUOTE, QuoteStep.VALIDITY, now, data=data)
    return amount, data["currency"]


def guided_draft(dialog: Dialog, expires_on: date) -> QuoteDraft | None:
    """The quote answered so far with its expiry; None when the dialog lost its answers."""
    try:
        return QuoteDraft(
            client=parse_client(str(dialog.data["client"])),
            amount=parse_amount(str(dialog.data["amount"]))[0],
            currency=str(dialog.data["currency"]),
            expires_on=expires_on,
        )
    except (KeyError, QuoteInputError):
        return None


async def finish_guided(
    session: AsyncSession, user: User, dialog: Dialog, expires_on: date, now: datetime
) -> Quote | None:
    """Register the guided quote with its expiry and close the dialog (None: start over)."""
    draft = guided_draft(dialog, expires_on)
    await users.clear_dialog(session, user)
    if draft is None:
        return None
    return await register(session, user, draft, now)


def validity_from_days(days: int, today: date) -> date:
    """The expiry `days` from today, checked like a typed validity."""
    return parse_validity(str(days), today)


async def start_extend(session: AsyncSession, user: User, quote: Quote, now: datetime) -> None:
    """Wait for a typed new validity for this quote (buttons work without it)."""
    await users.set_dialog(
        session, user, DialogName.QUOTE, QuoteStep.EXTEND, now, data={"quote_id": quote.id}
    )


async def extend_typed(
    session: AsyncSession, user: User, dialog: Dialog, text: str, now: datetime
) -> Quote | None:
    """Extend the dialog's quote to a typed validity; None when the quote is gone or closed."""
    quote = await get(session, user, int(dialog.data.get("quote_id", 0)))
    if quote is None or quote.status != QuoteStatus.OPEN:
        await users.clear_dialog(session, user)
        return None
    expires_on = parse_validity(text, local_today(user, now))
    await extend(session, user, quote, expires_on, now)
    await users.clear_dialog(session, user)
    return quote
