"""Check-in scheduling across time zones and DST transitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.schedule import (
    is_quiet_hour,
    local_date,
    local_moment,
    next_occurrence,
    previous_checkin_day,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift
SANTIAGO = ZoneInfo("America/Santiago")  # transitions at local midnight
KOLKATA_FIXED = timezone(timedelta(hours=5, minutes=30))
EVERY_DAY = 0b1111111
MON_TO_FRI = 0b0011111


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _exists(day: date, at: time, tz: tzinfo) -> bool:
    wall = datetime.combine(day, at)
    return any(
        wall.replace(tzinfo=tz, fold=fold).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        == wall
        for fold in (0, 1)
    )


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        # Paris, normal days: CET (+1) in winter, CEST (+2) in summer.
        (date(2027, 1, 15), time(9), PARIS, utc(2027, 1, 15, 8)),
        (date(2026, 6, 15), time(9), PARIS, utc(2026, 6, 15, 7)),
        # Paris spring forward, Sunday 2027-03-28 (02:00 CET -> 03:00 CEST).
        (date(2027, 3, 27), time(9), PARIS, utc(2027, 3, 27, 8)),
        (date(2027, 3, 28), time(9), PARIS, utc(2027, 3, 28, 7)),
        (date(2027, 3, 28), time(2, 30), PARIS, utc(2027, 3, 28, 1, 30)),  # gap: 03:30 CEST
        (date(2027, 3, 28), time(2, 0), PARIS, utc(2027, 3, 28, 1, 0)),  # gap start: 03:00 CEST
        (date(2027, 3, 28), time(3, 0), PARIS, utc(2027, 3, 28, 1, 0)),  # first real time
        (date(2027, 3, 28), time(1, 59), PARIS, utc(2027, 3, 28, 0, 59)),
        # Paris fall back, Sunday 2026-10-25 (03:00 CEST -> 02:00 CET).
        (date(2026, 10, 24), time(9), PARIS, utc(2026, 10, 24, 7)),
        (date(2026, 10, 25), time(9), PARIS, utc(2026, 10, 25, 8)),
        (date(2026, 10, 25), time(2, 30), PARIS, utc(2026, 10, 25, 0, 30)),  # first: CEST
        (date(2026, 10, 25), time(2, 0), PARIS, utc(2026, 10, 25, 0, 0)),
        (date(2026, 10, 25), time(3, 0), PARIS, utc(2026, 10, 25, 2, 0)),
        # New York: spring forward 2027-03-14, fall back 2026-11-01, both at 02:00 local.
        (date(2027, 3, 13), time(9), NEW_YORK, utc(2027, 3, 13, 14)),
        (date(2027, 3, 14), time(9), NEW_YORK, utc(2027, 3, 14, 13)),
        (date(2027, 3, 14), time(2, 30), NEW_YORK, utc(2027, 3, 14, 7, 30)),  # 03:30 EDT
        (date(2026, 10, 31), time(9), NEW_YORK, utc(2026, 10, 31, 13)),
        (date(2026, 11, 1), time(9), NEW_YORK, utc(2026, 11, 1, 14)),
        (date(2026, 11, 1), time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),  # first: EDT
        # Sydney (southern hemisphere): AEST +10 in July, AEDT +11 in January.
        (date(2026, 7, 1), time(9), SYDNEY, utc(2026, 6, 30, 23)),
        (date(2027, 1, 15), time(9), SYDNEY, utc(2027, 1, 14, 22)),
        (date(2026, 10, 4), time(2, 30), SYDNEY, utc(2026, 10, 3, 16, 30)),  # gap: 03:30 AEDT
        (date(2027, 4, 4), time(2, 30), SYDNEY, utc(2027, 4, 3, 15, 30)),  # first: AEDT
        # Lord Howe shifts by 30 minutes: 02:15 does not exist on 2026-10-04 -> 02:45 (+11).
        (date(2026, 10, 4), time(2, 15), LORD_HOWE, utc(2026, 10, 3, 15, 45)),
        # Fixed offset and UTC never shift.
        (date(2027, 3, 28), time(9), KOLKATA_FIXED, utc(2027, 3, 28, 3, 30)),
        (date(2027, 3, 28), time(2, 30), UTC, utc(2027, 3, 28, 2, 30)),
        (date(2026, 10, 25), time(0, 0), UTC, utc(2026, 10, 25, 0, 0)),
    ],
)
def test_local_moment(day: date, at: time, tz: tzinfo, expected: datetime) -> None:
    moment = local_moment(day, at, tz)
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("day", "at", "tz", "wall"),
    [
        (date(2027, 3, 28), time(2, 30), PARIS, time(3, 30)),
        (date(2027, 3, 14), time(2, 30), NEW_YORK, time(3, 30)),
        (date(2026, 10, 4), time(2, 15), LORD_HOWE, time(2, 45)),
    ],
)
def test_a_missing_time_is_shifted_forward_by_the_gap(
    day: date, at: time, tz: tzinfo, wall: time
) -> None:
    back = local_moment(day, at, tz).astimezone(tz)
    assert (back.date(), back.time()) == (day, wall)


def test_an_ambiguous_time_is_the_first_occurrence() -> None:
    first = local_moment(date(2026, 10, 25), time(2, 30), PARIS)
    back = first.astimezone(PARIS)
    assert back.time() == time(2, 30)
    assert back.utcoffset() == timedelta(hours=2)  # still CEST
    # The second 02:30 (CET) is one hour later. (PEP 495: compare ambiguous times in UTC.)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS).astimezone(UTC)
    assert first + timedelta(hours=1) == second


def test_local_moment_refuses_an_aware_time() -> None:
    with pytest.raises(ValueError):
        local_moment(date(2026, 1, 1), time(9, tzinfo=UTC), PARIS)


@pytest.mark.parametrize(
    ("tz", "transition"),
    [
        (PARIS, date(2027, 3, 28)),
        (PARIS, date(2026, 10, 25)),
        (NEW_YORK, date(2027, 3, 14)),
        (NEW_YORK, date(2026, 11, 1)),
        (SYDNEY, date(2026, 10, 4)),
        (SYDNEY, date(2027, 4, 4)),
        (LORD_HOWE, date(2026, 10, 4)),
        (SANTIAGO, date(2026, 9, 6)),
        (SANTIAGO, date(2027, 4, 4)),
    ],
)
@pytest.mark.parametrize(
    "at",
    [
        time(0, 0),
        time(0, 30),
        time(1, 30),
        time(2, 0),
        time(2, 30),
        time(3, 0),
        time(9, 0),
        time(23, 30),
    ],
)
def test_one_checkin_per_day_around_a_transition(tz: tzinfo, transition: date, at: time) -> None:
    # Chain next_occurrence from its own answers over a week around the transition.
    start = local_moment(transition - timedelta(days=3), time(0), tz) - timedelta(minutes=1)
    after, seen = start, []
    for _ in range(8):
        found = next_occurrence(after, at, EVERY_DAY, tz)
        assert found is not None
        seen.append(found)
        after = found[1]
    days = [d for d, _ in seen]
    instants = [m for _, m in seen]
    assert days == [transition - timedelta(days=3) + timedelta(days=i) for i in range(8)]
    assert all(a < b for a, b in zip(instants, instants[1:], strict=False))
    assert all(m == local_moment(d, at, tz) for d, m in seen)

    # Sweeping `after` every 10 minutes finds the very same check-ins, each one once.
    swept: list[tuple[date, datetime]] = []
    moment = start
    while moment < instants[-1]:
        found = next_occurrence(moment, at, EVERY_DAY, tz)
        assert found is not None and found[1] > moment
        if not swept or swept[-1] != found:
            swept.append(found)
        moment += timedelta(minutes=10)
    assert swept == seen


def test_mon_to_fri_skips_the_weekend() -> None:
    friday_noon = local_moment(date(2026, 6, 12), time(12), PARIS)
    assert next_occurrence(friday_noon, time(9), MON_TO_FRI, PARIS) == (
        date(2026, 6, 15),
        utc(2026, 6, 15, 7),
    )


def test_before_the_time_today_is_today() -> None:
    friday_early = local_moment(date(2026, 6, 12), time(8), PARIS)
    assert next_occurrence(friday_early, time(9), MON_TO_FRI, PARIS) == (
        date(2026, 6, 12),
        utc(2026, 6, 12, 7),
    )


def test_after_exactly_at_an_occurrence_gives_the_next_one() -> None:
    at_nine = utc(2026, 6, 10, 7)  # Wednesday 09:00 in Paris
    assert next_occurrence(at_nine, time(9), EVERY_DAY, PARIS) == (
        date(2026, 6, 11),
        utc(2026, 6, 11, 7),
    )
    just_before = at_nine - timedelta(microseconds=1)
    assert next_occurrence(just_before, time(9), EVERY_DAY, PARIS) == (date(2026, 6, 10), at_nine)


@pytest.mark.parametrize(
    ("paused_until", "expected_day"),
    [
        (None, date(2026, 6, 9)),
        (date(2026, 6, 8), date(2026, 6, 9)),  # a pause that ended yesterday changes nothing
        (date(2026, 6, 9), date(2026, 6, 10)),
        (date(2026, 6, 12), date(2026, 6, 15)),  # ends on a Friday: next is Monday
        (date(2026, 7, 31), date(2026, 8, 3)),  # a long pause, ends far ahead
    ],
)
def test_paused_days_are_skipped(paused_until: date | None, expected_day: date) -> None:
    monday_noon = local_moment(date(2026, 6, 8), time(12), PARIS)
    found = next_occurrence(monday_noon, time(9), MON_TO_FRI, PARIS, paused_until)
    assert found is not None
    assert found == (expected_day, local_moment(expected_day, time(9), PARIS))


def test_no_days_no_occurrence() -> None:
    assert next_occurrence(utc(2026, 6, 8), time(9), 0, PARIS) is None
    assert next_occurrence(utc(2026, 6, 8), time(9), 0b10000000, PARIS) is None


def test_a_local_date_ahead_of_utc() -> None:
    # Monday 22:00 UTC is already Tuesday 08:00 in Sydney: Tuesday's 09:00 is next.
    assert next_occurrence(utc(2026, 6, 8, 22), time(9), EVERY_DAY, SYDNEY) == (
        date(2026, 6, 9),
        utc(2026, 6, 8, 23),
    )


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError):
        next_occurrence(datetime(2026, 6, 8, 12), time(9), EVERY_DAY, PARIS)


@pytest.mark.parametrize(
    ("day", "mask", "expected"),
    [
        (date(2026, 6, 13), MON_TO_FRI, date(2026, 6, 12)),  # Saturday -> Friday
        (date(2026, 6, 14), MON_TO_FRI, date(2026, 6, 12)),  # Sunday -> Friday
        (date(2026, 6, 10), MON_TO_FRI, date(2026, 6, 10)),  # a check-in day is itself
        (date(2026, 6, 13), 0b1000000, date(2026, 6, 7)),  # Sundays only: the Sunday before
        (date(2026, 6, 8), 0b0010100, date(2026, 6, 5)),  # Wed+Fri, from a Monday
        (date(2026, 6, 8), 0, None),
    ],
)
def test_previous_checkin_day(day: date, mask: int, expected: date | None) -> None:
    assert previous_checkin_day(day, mask) == expected


@pytest.mark.parametrize(
    ("moment", "tz", "expected"),
    [
        (utc(2026, 6, 30, 23, 30), PARIS, date(2026, 7, 1)),
        (utc(2026, 6, 30, 23, 30), NEW_YORK, date(2026, 6, 30)),
        (utc(2026, 6, 30, 14, 0), SYDNEY, date(2026, 7, 1)),
        (utc(2026, 6, 30, 18, 29), KOLKATA_FIXED, date(2026, 6, 30)),
        (utc(2026, 6, 30, 18, 30), KOLKATA_FIXED, date(2026, 7, 1)),
        (utc(2026, 6, 30, 23, 59), UTC, date(2026, 6, 30)),
    ],
)
def test_local_date(moment: datetime, tz: tzinfo, expected: date) -> None:
    assert local_date(moment, tz) == expected


@pytest.mark.parametrize(
    ("local", "latest", "quiet"),
    [
        (time(12, 0), time(21, 0), False),
        (time(21, 0), time(21, 0), False),  # "after 21:00" is strict
        (time(21, 0, 1), time(21, 0), True),
        (time(23, 59), time(21, 0), True),
        (time(0, 0), time(21, 0), True),
        (time(6, 59), time(21, 0), True),
        (time(7, 0), time(21, 0), False),
        (time(22, 0), time(22, 30), False),
        (time(0, 30), time(1, 0), False),  # a latest past midnight does not wrap
        (time(1, 30), time(1, 0), True),
        (time(7, 0), time(1, 0), False),
    ],
)
def test_quiet_hours(local: time, latest: time, quiet: bool) -> None:
    for tz in (PARIS, NEW_YORK, SYDNEY, KOLKATA_FIXED, UTC):
        moment = local_moment(date(2026, 6, 10), local, tz)
        assert is_quiet_hour(moment, tz, latest) is quiet


def test_quiet_hours_use_the_local_time() -> None:
    # 20:00 UTC is 22:00 in Paris (quiet) and 16:00 in New York (not quiet).
    assert is_quiet_hour(utc(2026, 6, 10, 20), PARIS)
    assert not is_quiet_hour(utc(2026, 6, 10, 20), NEW_YORK)


ZONES: list[tzinfo] = [PARIS, NEW_YORK, SYDNEY, LORD_HOWE, SANTIAGO, KOLKATA_FIXED, UTC]


@settings(max_examples=300, deadline=None)
@given(
    after=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    at=st.times(),
    mask=st.integers(min_value=1, max_value=EVERY_DAY),
    tz=st.sampled_from(ZONES),
    pause=st.none() | st.integers(min_value=-10, max_value=20),
)
def test_next_occurrence_property(
    after: datetime, at: time, mask: int, tz: tzinfo, pause: int | None
) -> None:
    paused_until = None if pause is None else local_date(after, tz) + timedelta(days=pause)
    found = next_occurrence(after, at, mask, tz, paused_until)
    assert found is not None
    day, moment = found
    assert moment > after and moment.tzinfo is UTC
    assert mask >> day.weekday() & 1
    assert paused_until is None or day > paused_until
    wall = moment.astimezone(tz).replace(tzinfo=None)
    if _exists(day, at, tz):
        assert wall == datetime.combine(day, at)
    else:
        naive = datetime.combine(day, at)
        before, after_gap = (naive.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1))
        assert before is not None and after_gap is not None
        gap = after_gap - before
        assert gap > timedelta(0)
        assert wall == naive + gap
    # No valid day was skipped: no other check-in instant lies between `after` and the answer.
    other = local_date(after, tz) - timedelta(days=2)
    while other <= day + timedelta(days=1):
        valid = mask >> other.weekday() & 1 and (paused_until is None or other > paused_until)
        if valid and other != day:
            assert not after < local_moment(other, at, tz) <= moment
        other += timedelta(days=1)
