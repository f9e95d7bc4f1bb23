"""The prospecting plan as an iCalendar file to import into Google Calendar, Outlook or Apple.

Rules:
- One VEVENT per block, recurring every week (RRULE FREQ=WEEKLY;BYDAY=<its day>), with a UID that
  stays the same for the life of the block, so importing the file again updates the events.
- DTSTART is the block's first occurrence from `today` on, in the user's zone: TZID=<IANA zone> with
  a VTIMEZONE for named zones (the calendar keeps the wall time across DST); UTC for "UTC" and
  fixed offsets ("UTC+05:30"), whose weekday is then the UTC one.
- Each event lasts the block's duration, is shown busy, and rings 10 minutes before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event

from bot.db.models import PlanBlock
from bot.services.preferences import zone

ICS_FILENAME = "prospecting-plan.ics"
ALARM_BEFORE = timedelta(minutes=10)
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PRODID = "-//Prospect Coach//Prospecting plan//EN"
VTIMEZONE_YEARS = 20


def block_uid(user_id: int, block_id: int) -> str:
    return f"prospect-coach-{user_id}-block-{block_id}@prospect-coach"


def first_date(weekday: int, today: date) -> date:
    """The first date on or after `today` falling on `weekday` (Monday 0)."""
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def plan_calendar(
    blocks: Sequence[PlanBlock],
    *,
    user_id: int,
    timezone: str,
    today: date,
    now: datetime,
    title: str,
    description: str,
    alarm_text: str,
    calendar_name: str,
) -> bytes:
    """The .ics bytes of a weekly plan (texts come already in the user's language)."""
    tz = zone(timezone)
    named = isinstance(tz, ZoneInfo)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    if named:
        calendar.add("x-wr-timezone", timezone)
    for block in blocks:
        local = datetime.combine(first_date(block.weekday, today), block.start_time)
        start = local.replace(tzinfo=tz)
        if not named:
            start = start.astimezone(UTC)
        event = Event()
        event.add("uid", block_uid(user_id, block.id))
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", start)
        event.add("duration", timedelta(minutes=block.duration_minutes))
        event.add("rrule", {"freq": "weekly", "byday": [RRULE_DAYS[start.weekday()]]})
        event.add("summary", title)
        event.add("description", description)
        event.add("transp", "OPAQUE")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", alarm_text)
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
        calendar.add_component(event)
    if named and blocks:
        calendar.add_missing_timezones(
            first_date=date(today.year, 1, 1), last_date=date(today.year + VTIMEZONE_YEARS, 1, 1)
        )
    return bytes(calendar.to_ical())
