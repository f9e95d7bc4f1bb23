"""When the next daily check-in happens, in the user's own time zone.

Rules:
- A user has a local check-in time (a naive `datetime.time`), check-in weekdays as a bit mask
  (bit 0 = Monday ... bit 6 = Sunday, as `date.weekday()`; bits above 6 are ignored), a time zone
  (`zoneinfo.ZoneInfo` or a fixed `datetime.timezone`) and maybe `paused_until`: no check-in on
  any date <= paused_until.
- Every check-in day has exactly one check-in instant, `local_moment(day, at, tz)`:
  - a normal local time maps to its only instant;
  - a local time that happens twice (autumn fall back, 02:30 on 2026-10-25 in Paris) maps to the
    FIRST occurrence (the earlier UTC instant, still in summer time);
  - a local time that does not exist (spring forward, 02:30 on 2027-03-28 in Paris) maps to the wall
    time shifted forward by the gap length: 02:30 + 1 h = 03:30 CEST = 01:30 UTC (the offset in
    force before the transition, as zoneinfo's fold=0). The day still gets its check-in, and its
    instant may even fall on the next local date when a gap straddles midnight.
- Instants are returned as aware datetimes in UTC.
- Quiet hours: no follow-up message strictly after `latest` (21:00 by default) or before 07:00,
  local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

ALL_DAYS_MASK = 0b1111111
QUIET_UNTIL = time(7, 0)
# Enough days to get past the day before `after` plus one full week of candidates.
_SEARCH_DAYS = 16
# Past this, date arithmetic would overflow: no occurrence is ever looked for beyond it.
LAST_SCHEDULABLE_DAY = date(9000, 1, 1)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is needed")


def _is_checkin_weekday(day: date, days_mask: int) -> bool:
    return bool(days_mask >> day.weekday() & 1)


def local_moment(day: date, at: time, tz: tzinfo) -> datetime:
    """The UTC instant of wall time `at` on `day` in `tz`: first if doubled, shifted if missing."""
    if at.tzinfo is not None:
        raise ValueError("`at` is a wall-clock time and must be naive")
    wall = datetime.combine(day, at.replace(fold=0))
    # Try both PEP 495 folds: a normal time gives the same instant twice, an ambiguous time gives
    # both occurrences, a missing time gives two instants that both read back as other wall times.
    candidates = [wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = [c for c in candidates if c.astimezone(tz).replace(tzinfo=None) == wall]
    if real:
        return min(real)  # ambiguous: the first occurrence
    # In a gap, the later candidate used the offset from before the transition: wall + gap length.
    return max(candidates)


def local_date(moment: datetime, tz: tzinfo) -> date:
    """The calendar date in `tz` at the aware instant `moment`."""
    _require_aware(moment)
    return moment.astimezone(tz).date()


def previous_checkin_day(day: date, days_mask: int) -> date | None:
    """The latest check-in weekday on or before `day`; None when the mask has no day."""
    if not days_mask & ALL_DAYS_MASK:
        return None
    for back in range(7):
        candidate = day - timedelta(days=back)
        if _is_checkin_weekday(candidate, days_mask):
            return candidate
    raise AssertionError("unreachable: a non-empty mask has a day within a week")


def next_occurrence(
    after: datetime,
    at: time,
    days_mask: int,
    tz: tzinfo,
    paused_until: date | None = None,
) -> tuple[date, datetime] | None:
    """The first (local date, UTC instant) strictly after `after` on an unpaused check-in day."""
    _require_aware(after)
    if not days_mask & ALL_DAYS_MASK:
        return None
    # Start the day before: a gap-shifted moment of yesterday can still lie after `after`.
    day = local_date(after, tz) - timedelta(days=1)
    if paused_until is not None and paused_until >= LAST_SCHEDULABLE_DAY:
        return None  # paused for good (an imported far-future date): nothing to find
    if paused_until is not None and day <= paused_until:
        day = paused_until + timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if _is_checkin_weekday(day, days_mask):
            moment = local_moment(day, at, tz)
            if moment > after:
                return day, moment
        day += timedelta(days=1)
    raise AssertionError("unreachable: a non-empty mask has a day within a week")


def is_quiet_hour(moment: datetime, tz: tzinfo, latest: time = time(21, 0)) -> bool:
    """True when the local time is strictly after `latest` or before 07:00 (the night)."""
    _require_aware(moment)
    local = moment.astimezone(tz).time()
    if latest >= QUIET_UNTIL:
        return local > latest or local < QUIET_UNTIL
    # `latest` already past midnight: the quiet window does not wrap around.
    return latest < local < QUIET_UNTIL
