"""Early warning: when the open quotes run out at the current prospecting pace. Pure.

Rules (all numbers are the owner's own):
- Honest or silent: no forecast without at least 28 days between the first reported day and
  today, 10 reported days, 10 new contacts and 2 proposals over the history read (up to 26
  weeks), and at least one open quote today.
- Proposals are the larger of the proposals reported (check-ins, /log, imports) and the quotes
  registered with /quote over the same days, so an owner who does both is not counted twice.
- Ratios over the history: meetings per contact, proposals per contact, signed per proposal.
- Pace: new contacts over the last 14 days, per week. New quotes a week at this pace =
  pace x proposals per contact.
- A quote stays open for the owner's median time from sent to signed/lost (3 closed quotes
  needed), else for its validity (sent to expiry). Each open quote is expected to leave the
  pipeline on min(expiry, sent + that time), never before tomorrow.
- The pipeline holds when the new quotes coming in at this pace keep at least one open on
  average (new quotes a day x time open >= 1): no warning then. Otherwise it runs dry when the
  last open quote is expected to leave; said only when that is 1 to 8 weeks away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from bot.services.coaching import History

HISTORY_DAYS = 182
PACE_DAYS = 14
MIN_SPAN_DAYS = 28
MIN_REPORTED_DAYS = 10
MIN_CONTACTS = 10
MIN_PROPOSALS = 2
MIN_CLOSED_QUOTES = 3
MAX_WEEKS = 8


@dataclass(frozen=True)
class Ratios:
    """Conversion through the owner's funnel over the history read."""

    contacts: int
    meetings: int
    proposals: int
    signed: int

    @property
    def contacts_per_proposal(self) -> float | None:
        return self.contacts / self.proposals if self.proposals else None

    @property
    def proposals_per_contact(self) -> float:
        return self.proposals / self.contacts if self.contacts else 0.0

    @property
    def meetings_per_contact(self) -> float:
        return self.meetings / self.contacts if self.contacts else 0.0

    @property
    def signed_per_proposal(self) -> float:
        return self.signed / self.proposals if self.proposals else 0.0


@dataclass(frozen=True)
class Forecast:
    """ "At this pace you will have no open quotes in about `weeks` weeks (around `dry_on`)."""

    today: date
    dry_on: date
    weeks: int
    open_quotes: int
    contacts_per_week: float  # the current pace
    new_quotes_per_week: float
    days_open: int  # how long a quote typically stays open for this owner
    ratios: Ratios


def funnel(history: History, today: date) -> Ratios:
    first = today - timedelta(days=HISTORY_DAYS - 1)
    days = history.between(first, today)
    quotes_sent = sum(1 for q in history.quotes if first <= q.sent_on <= today)
    signed_quotes = sum(
        1 for q in history.quotes if q.status == "signed" and q.closed_on and q.closed_on >= first
    )
    return Ratios(
        contacts=sum(d.contacts for d in days),
        meetings=sum(d.meetings for d in days),
        proposals=max(sum(d.proposals for d in days), quotes_sent),
        signed=max(sum(d.deals for d in days), signed_quotes),
    )


def typical_days_open(history: History) -> int:
    closed = [
        (q.closed_on - q.sent_on).days
        for q in history.quotes
        if q.status in ("signed", "lost") and q.closed_on is not None
    ]
    if len(closed) >= MIN_CLOSED_QUOTES:
        return max(1, round(median(closed)))
    validity = [(q.expires_on - q.sent_on).days for q in history.quotes]
    return max(1, round(median(validity))) if validity else 30


def forecast(history: History, today: date) -> Forecast | None:
    """When the open pipeline runs dry at the current pace, or None (holds, or too little known)."""
    first = today - timedelta(days=HISTORY_DAYS - 1)
    reported = history.between(first, today)
    open_quotes = [q for q in history.quotes if q.status == "open" and q.is_open_on(today)]
    ratios = funnel(history, today)
    if (
        not reported
        or (today - reported[0].day).days + 1 < MIN_SPAN_DAYS
        or len(reported) < MIN_REPORTED_DAYS
        or ratios.contacts < MIN_CONTACTS
        or ratios.proposals < MIN_PROPOSALS
        or not open_quotes
    ):
        return None
    pace_first = today - timedelta(days=PACE_DAYS - 1)
    pace = sum(d.contacts for d in history.between(pace_first, today)) / PACE_DAYS * 7
    new_quotes_per_week = pace * ratios.proposals_per_contact
    days_open = typical_days_open(history)
    if new_quotes_per_week / 7 * days_open >= 1:
        return None  # new quotes keep coming in fast enough
    tomorrow = today + timedelta(days=1)
    dry_on = max(
        max(tomorrow, min(q.expires_on, q.sent_on + timedelta(days=days_open))) for q in open_quotes
    )
    weeks = max(1, round((dry_on - today).days / 7))
    if weeks > MAX_WEEKS:
        return None
    return Forecast(
        today=today,
        dry_on=dry_on,
        weeks=weeks,
        open_quotes=len(open_quotes),
        contacts_per_week=round(pace, 1),
        new_quotes_per_week=round(new_quotes_per_week, 2),
        days_open=days_open,
        ratios=ratios,
    )
