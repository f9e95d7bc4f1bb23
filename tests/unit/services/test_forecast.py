"""Early warning: when the open quotes run out at the current pace, and silence when unsure."""

from __future__ import annotations

from datetime import date, timedelta

from bot.services.coaching import DayActivity, History, QuoteRecord
from bot.services.forecast import forecast, funnel, typical_days_open

TODAY = date(2026, 11, 27)


def back(n: int) -> date:
    return TODAY - timedelta(days=n)


def days(base: int = 4, recent: int = 0, *, span: int = 42, proposals_every: int = 5) -> tuple:
    """`base` contacts a day, then `recent` in the last 14 days; a proposal every few days."""
    return tuple(
        DayActivity(
            back(n),
            contacts=recent if n < 14 else base,
            meetings=1,
            proposals=1 if n % proposals_every == 0 else 0,
        )
        for n in range(span - 1, -1, -1)
    )


def quote(sent: int, valid: int = 30, status: str = "open", closed: int | None = None):
    return QuoteRecord(
        sent_on=back(sent),
        expires_on=back(sent) + timedelta(days=valid),
        status=status,
        closed_on=back(closed) if closed is not None else None,
    )


def test_prospecting_stopped_the_pipeline_runs_dry_when_the_last_quote_leaves() -> None:
    history = History(days=days(recent=0), quotes=[quote(20), quote(10)])
    result = forecast(history, TODAY)
    assert result is not None
    # No closed quote yet: a quote stays open for its validity (30 days), so the last one
    # leaves when it expires, 20 days from now: about 3 weeks.
    assert result.dry_on == back(10) + timedelta(days=30) == date(2026, 12, 17)
    assert result.weeks == 3 and result.open_quotes == 2
    assert result.contacts_per_week == 0 and result.days_open == 30


def test_the_owners_own_closing_time_is_used_when_known() -> None:
    closed = [quote(60, status="signed", closed=50), quote(55, status="lost", closed=45)]
    closed.append(quote(40, status="signed", closed=30))  # all open 10 days
    history = History(days=days(recent=0), quotes=[*closed, quote(5), quote(2)])
    result = forecast(history, TODAY)
    assert result is not None and result.days_open == 10
    assert result.dry_on == back(2) + timedelta(days=10)  # 8 days away
    assert result.weeks == 1


def test_a_slower_pace_that_still_refills_the_pipeline_says_nothing() -> None:
    # 9 proposals for 140 contacts; at 2 contacts a day that is about 0.9 new quote a week,
    # each open 30 days: about 4 open on average, the pipeline holds.
    history = History(days=days(recent=2), quotes=[quote(3)])
    assert forecast(history, TODAY) is None


def test_too_short_a_history_says_nothing() -> None:
    history = History(days=days(recent=0, span=20), quotes=[quote(5)])
    assert forecast(history, TODAY) is None


def test_no_open_quote_says_nothing() -> None:
    assert forecast(History(days=days(recent=0)), TODAY) is None


def test_too_few_contacts_or_proposals_says_nothing() -> None:
    history = History(days=days(base=0, recent=0), quotes=[quote(5)])
    assert forecast(history, TODAY) is None


def test_a_dry_date_beyond_eight_weeks_says_nothing() -> None:
    history = History(days=days(recent=0), quotes=[quote(1, valid=90)])
    assert forecast(history, TODAY) is None


def test_funnel_counts_proposals_once_from_check_ins_or_quotes() -> None:
    history = History(
        days=days(recent=4, proposals_every=100),  # one proposal reported
        quotes=[quote(30, status="signed", closed=20), quote(10), quote(5)],
    )
    ratios = funnel(history, TODAY)
    assert ratios.proposals == 3  # three quotes registered beat one proposal reported
    assert ratios.signed == 1 and ratios.contacts == 168 and ratios.meetings == 42
    assert ratios.contacts_per_proposal == 56


def test_typical_days_open_falls_back_to_validity() -> None:
    assert typical_days_open(History()) == 30
    assert typical_days_open(History(quotes=[quote(5, valid=15), quote(4, valid=21)])) == 18
