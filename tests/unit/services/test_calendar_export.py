"""The plan's .ics file, read back with icalendar as a calendar app would."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bot.db.models import PlanBlock
from bot.services import calendar_export

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)  # a Friday


def block(block_id: int, weekday: int, start: time, minutes: int) -> PlanBlock:
    return PlanBlock(
        id=block_id, user_id=7, weekday=weekday, start_time=start, duration_minutes=minutes,
        created_at=NOW,
    )  # fmt: skip


def export(blocks: list[PlanBlock], zone: str = "Europe/Paris") -> Calendar:
    content = calendar_export.plan_calendar(
        blocks, user_id=7, timezone=zone, today=TODAY, now=NOW,
        title="Prospection — rendez-vous avec vous-même", description="Appels & relances",
        alarm_text="Dans 10 minutes", calendar_name="Plan de prospection",
    )  # fmt: skip
    assert content.startswith(b"BEGIN:VCALENDAR")
    return Calendar.from_ical(content)


def test_weekly_events_in_the_users_zone() -> None:
    calendar = export([block(11, 1, time(9), 60), block(12, 3, time(14, 30), 90)])
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    tuesday, thursday = events

    assert tuesday["DTSTART"].params["TZID"] == "Europe/Paris"
    assert tuesday.decoded("DTSTART") == datetime(
        2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris")
    )
    assert tuesday["RRULE"]["FREQ"] == ["WEEKLY"] and tuesday["RRULE"]["BYDAY"] == ["TU"]
    assert tuesday.decoded("DURATION") == timedelta(hours=1)
    assert str(tuesday["SUMMARY"]) == "Prospection — rendez-vous avec vous-même"
    assert str(tuesday["UID"]) == "prospect-coach-7-block-11@prospect-coach"

    assert thursday.decoded("DTSTART") == datetime(
        2026, 12, 3, 14, 30, tzinfo=ZoneInfo("Europe/Paris")
    )
    assert thursday["RRULE"]["BYDAY"] == ["TH"]
    assert thursday.decoded("DURATION") == timedelta(minutes=90)

    [alarm] = tuesday.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-10)
    assert str(alarm["ACTION"]) == "DISPLAY"

    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Paris"
    assert str(calendar["X-WR-CALNAME"]) == "Plan de prospection"


def test_a_block_today_starts_today_and_uids_are_stable() -> None:
    friday = block(3, 4, time(7), 30)
    first = export([friday]).walk("VEVENT")[0]
    assert first.decoded("DTSTART").date() == TODAY
    again = export([friday]).walk("VEVENT")[0]
    assert again["UID"] == first["UID"]


def test_the_wall_time_holds_across_dst() -> None:
    # A New York block: the calendar recurs at 09:00 local, summer and winter alike.
    calendar = export([block(5, 0, time(9), 45)], zone="America/New_York")
    [event] = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute) == (9, 0)
    assert [c.name for c in calendar.walk("VTIMEZONE")[0].subcomponents] != []


def test_fixed_offsets_go_out_in_utc_with_the_utc_weekday() -> None:
    # Tuesday 02:00 at UTC+05:30 is Monday 20:30 UTC.
    [event] = export([block(9, 1, time(2), 60)], zone="UTC+05:30").walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 11, 30, 20, 30, tzinfo=UTC)
    assert event["RRULE"]["BYDAY"] == ["MO"]
    assert "TZID" not in event["DTSTART"].params


def test_an_empty_plan_is_still_a_calendar() -> None:
    calendar = export([])
    assert calendar.walk("VEVENT") == [] and calendar.walk("VTIMEZONE") == []
