"""Forgiving streaks: neutral gaps, two forgiven misses per month, today pending."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.services.streaks import MISSES_FORGIVEN_PER_MONTH, Streak, compute_streak

TODAY = date(2026, 6, 20)


def history(today: date, marks: str) -> dict[date, bool]:
    """Days ending at `today`, oldest first: 'y' answered, 'n' missed, '.' not asked."""
    start = today - timedelta(days=len(marks) - 1)
    return {start + timedelta(days=i): mark == "y" for i, mark in enumerate(marks) if mark in "yn"}


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ("", Streak(0, 0, 2)),
        ("yyyyy", Streak(5, 0, 2)),
        ("nnnn", Streak(0, 0, 2)),  # misses that protect no answer are not "forgiven"
        ("yyyny", Streak(4, 1, 1)),  # one miss forgiven
        ("yynyny", Streak(4, 2, 0)),  # two forgiven: no allowance left this month
        ("yynynyny", Streak(3, 2, 0)),  # the third miss this month breaks it
        ("yyy.y..y.y", Streak(6, 0, 2)),  # neutral gaps do not break
        ("yyn..n.y", Streak(3, 2, 0)),
        ("yyyyn", Streak(4, 0, 2)),  # today not answered yet: pending, not missed
        ("yyyynn", Streak(4, 1, 1)),  # yesterday missed and forgiven, today pending
        ("yyynnn", Streak(3, 2, 0)),
        ("yynnnn", Streak(0, 0, 2)),  # three misses before today: broken, nothing to protect
        ("yyyyny", Streak(5, 1, 1)),
        ("yyyy.", Streak(4, 0, 2)),  # nothing asked today
        ("yyyn", Streak(3, 0, 2)),  # only today missing: nothing forgiven yet
        ("nyy", Streak(2, 0, 2)),  # the old miss protects nothing
        ("nnnyy", Streak(2, 0, 2)),
        ("yynnnyy", Streak(2, 0, 2)),
    ],
)
def test_compute_streak(marks: str, expected: Streak) -> None:
    assert compute_streak(history(TODAY, marks), TODAY) == expected


def test_each_month_has_its_own_allowance() -> None:
    asked = {
        date(2026, 4, 28): True,
        date(2026, 4, 29): False,
        date(2026, 4, 30): False,  # two misses in April
        date(2026, 5, 1): True,
        date(2026, 5, 10): False,
        date(2026, 5, 11): False,  # two misses in May
        date(2026, 5, 12): True,
        date(2026, 6, 1): False,  # one miss in June
        date(2026, 6, 2): True,
    }
    assert compute_streak(asked, date(2026, 6, 2)) == Streak(4, 1, 1)
    # A third miss in May breaks the streak there, leaving only the newer answers.
    asked[date(2026, 5, 20)] = False
    assert compute_streak(asked, date(2026, 6, 2)) == Streak(2, 1, 1)


def test_forgiven_counts_only_the_current_month() -> None:
    asked = {date(2026, 5, 30): True, date(2026, 5, 31): False, date(2026, 6, 1): True}
    assert compute_streak(asked, date(2026, 6, 1)) == Streak(2, 0, 2)
    asked[date(2026, 6, 2)] = False
    asked[date(2026, 6, 3)] = True
    assert compute_streak(asked, date(2026, 6, 3)) == Streak(3, 1, 1)


def test_a_month_boundary_resets_the_allowance_for_older_days() -> None:
    # Three misses in a row across two months: two in May are forgiven, one in June too.
    asked = {
        date(2026, 5, 29): True,
        date(2026, 5, 30): False,
        date(2026, 5, 31): False,
        date(2026, 6, 1): False,
        date(2026, 6, 2): True,
    }
    assert compute_streak(asked, date(2026, 6, 2)) == Streak(2, 1, 1)


def test_days_after_today_are_ignored() -> None:
    asked = history(TODAY, "yyy")
    asked[TODAY + timedelta(days=1)] = True
    asked[TODAY + timedelta(days=2)] = False
    assert compute_streak(asked, TODAY) == Streak(3, 0, 2)


def test_a_streak_can_end_yesterday() -> None:
    # Nothing asked since: the streak is kept, it is not a miss.
    assert compute_streak(history(TODAY - timedelta(days=5), "yyy"), TODAY) == Streak(3, 0, 2)


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[date, bool], date]:
    today = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)))
    marks = draw(st.lists(st.sampled_from("yn."), max_size=120))
    return history(today, "".join(marks)), today


@settings(max_examples=300, deadline=None)
@given(histories())
def test_streak_invariants(case: tuple[dict[date, bool], date]) -> None:
    asked, today = case
    streak = compute_streak(asked, today)
    assert 0 <= streak.length <= sum(asked.values())
    assert 0 <= streak.forgiven <= MISSES_FORGIVEN_PER_MONTH
    assert streak.forgiven + streak.allowance_left == MISSES_FORGIVEN_PER_MONTH
    if streak.length == 0:
        assert streak.forgiven == 0


@settings(max_examples=300, deadline=None)
@given(histories())
def test_answering_today_adds_one(case: tuple[dict[date, bool], date]) -> None:
    asked, today = case
    before = compute_streak(asked, today)
    after = compute_streak({**asked, today: True}, today)
    assert after.length >= before.length
    assert after.length == before.length + (0 if asked.get(today) else 1)


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_answering_a_missed_day_never_shortens(
    case: tuple[dict[date, bool], date], data: st.DataObject
) -> None:
    asked, today = case
    missed = sorted(d for d, answered in asked.items() if not answered)
    assume(missed)
    day = data.draw(st.sampled_from(missed))
    before = compute_streak(asked, today)
    assert compute_streak({**asked, day: True}, today).length >= before.length


@settings(max_examples=300, deadline=None)
@given(histories())
def test_allowance_left_is_what_the_streak_survives(case: tuple[dict[date, bool], date]) -> None:
    asked, today = case
    assume(today.day <= 25 and asked.get(today) is not False)
    streak = compute_streak(asked, today)
    assume(streak.length > 0)
    for extra, survives in ((streak.allowance_left, True), (streak.allowance_left + 1, False)):
        later = dict(asked)
        for i in range(1, extra + 1):
            later[today + timedelta(days=i)] = False
        # Judge from the day after the new misses, so the last one is no longer pending.
        after = compute_streak(later, today + timedelta(days=extra + 1))
        assert (after.length == streak.length) is survives
