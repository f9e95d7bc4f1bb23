"""What people type for their check-in time, zone, days and currency."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import preferences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9", time(9)),
        ("09:00", time(9)),
        ("8h30", time(8, 30)),
        ("8 h 30", time(8, 30)),
        ("17h", time(17)),
        ("17.30", time(17, 30)),
        ("5pm", time(17)),
        ("5:30 pm", time(17, 30)),
        ("12am", time(0)),
        ("0830", time(8, 30)),
        ("24:00", None),
        ("9:75", None),
        ("13pm", None),
        ("noon", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: time | None) -> None:
    assert preferences.parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("Paris", "Europe/Paris"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("Montréal", "America/Montreal"),
        ("UTC", "UTC"),
        ("UTC+2", "UTC+02:00"),
        ("gmt-5", "UTC-05:00"),
        ("+05:30", "UTC+05:30"),
        ("UTC+15", None),
        ("Atlantis", None),
        ("x" * 500, None),
    ],
)
def test_parse_timezone(text: str, expected: str | None) -> None:
    assert preferences.parse_timezone(text) == expected


def test_fixed_offsets_become_tzinfo() -> None:
    moment = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert moment.astimezone(preferences.zone("UTC+05:30")).hour == 17
    assert preferences.zone("UTC-05:00").utcoffset(None) == timedelta(hours=-5)
    assert preferences.zone("Europe/Paris").utcoffset(moment) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("lun-ven", [0, 1, 2, 3, 4]),
        ("Lundi, Mercredi, Vendredi", [0, 2, 4]),
        ("mon wed fri", [0, 2, 4]),
        ("1-5", [0, 1, 2, 3, 4]),
        ("sat-mon", [0, 5, 6]),
        ("every day", [0, 1, 2, 3, 4, 5, 6]),
        ("tous les jours", [0, 1, 2, 3, 4, 5, 6]),
        ("mardi et jeudi", [1, 3]),
    ],
)
def test_parse_days(text: str, days: list[int]) -> None:
    mask = preferences.parse_days(text)
    assert mask is not None and preferences.days_in(mask) == days


@pytest.mark.parametrize("text", ["", "someday", "8-9", "mon-", "lun-ven-sam"])
def test_unreadable_days(text: str) -> None:
    assert preferences.parse_days(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("eur", "EUR"),
        ("€", "EUR"),
        ("$", "USD"),
        ("chf", "CHF"),
        ("XYZ", None),
        ("euro dollars", None),
    ],
)
def test_parse_currency(text: str, code: str | None) -> None:
    assert preferences.parse_currency(text) == code


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_parsers_never_raise(text: str) -> None:
    preferences.parse_time(text)
    preferences.parse_timezone(text)
    preferences.parse_days(text)
    preferences.parse_currency(text)
