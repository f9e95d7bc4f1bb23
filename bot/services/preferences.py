"""Rules for a user's preferences: check-in time, time zone, days, language, currency.

Parsers take what people type in French or English and return a value or None; they never raise.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import get_timezone_location
from babel.numbers import get_currency_name

from bot.db.models import MONDAY_TO_FRIDAY, User
from bot.services.schedule import local_date
from bot.services.text_folding import fold

TIME_CHOICES = (time(8, 0), time(9, 0), time(12, 0), time(17, 30))
ZONE_CHOICES = {
    "fr": (
        "Europe/Paris",
        "Europe/Brussels",
        "Europe/Zurich",
        "America/Montreal",
        "Africa/Casablanca",
    ),
    "en": (
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Australia/Sydney",
    ),
}
# Babel names this zone after its canonical twin (Toronto); people there say Montréal.
ZONE_LABELS = {"America/Montreal": "Montréal"}
# Cities people type that have no zone of their own.
CITY_ZONES = {
    "lyon": "Europe/Paris", "marseille": "Europe/Paris", "toulouse": "Europe/Paris",
    "lille": "Europe/Paris", "nantes": "Europe/Paris", "bordeaux": "Europe/Paris",
    "nice": "Europe/Paris", "strasbourg": "Europe/Paris", "geneve": "Europe/Zurich",
    "geneva": "Europe/Zurich", "lausanne": "Europe/Zurich", "liege": "Europe/Brussels",
    "quebec": "America/Toronto", "ottawa": "America/Toronto",
    "san francisco": "America/Los_Angeles",
    "boston": "America/New_York", "washington": "America/New_York", "manchester": "Europe/London",
}  # fmt: skip
CURRENCY_CHOICES = ("EUR", "USD", "GBP", "CHF", "CAD")
DEFAULT_CURRENCY = {"fr": "EUR", "en": "USD"}
EVERY_DAY = 0b1111111

_DAY_NAMES = {
    # English and French names and abbreviations, Monday is 0.
    "mon": 0, "monday": 0, "lun": 0, "lundi": 0,
    "tue": 1, "tues": 1, "tuesday": 1, "mar": 1, "mardi": 1,
    "wed": 2, "wednesday": 2, "mer": 2, "mercredi": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "jeu": 3, "jeudi": 3,
    "fri": 4, "friday": 4, "ven": 4, "vendredi": 4,
    "sat": 5, "saturday": 5, "sam": 5, "samedi": 5,
    "sun": 6, "sunday": 6, "dim": 6, "dimanche": 6,
}  # fmt: skip
_DAY_SETS = {
    "weekdays": MONDAY_TO_FRIDAY, "week": MONDAY_TO_FRIDAY, "semaine": MONDAY_TO_FRIDAY,
    "everyday": EVERY_DAY, "every day": EVERY_DAY, "daily": EVERY_DAY, "tous les jours": EVERY_DAY,
    "tlj": EVERY_DAY, "7/7": EVERY_DAY, "5/7": MONDAY_TO_FRIDAY,
}  # fmt: skip
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")
_CLOCK = re.compile(r"^(\d{1,2})\s*(?:[:h.]\s*(\d{2})?)?\s*(am|pm)?$")


def _plain(text: str) -> str:
    """Lower case without accents, so "Février" and "fevrier" match."""
    return fold(text.strip())


def parse_time(text: str) -> time | None:
    """A time of day from '9', '09:00', '9h30', '17.30', '5pm', '0830'."""
    value = _plain(text).replace(" ", "")
    if re.fullmatch(r"\d{3,4}", value):
        value = f"{value[:-2]}:{value[-2:]}"
    match = _CLOCK.match(value)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = match.group(3)
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


@cache
def _zones_by_key() -> dict[str, str]:
    """Lower-case IANA names, and their city part, to the canonical name."""
    zones: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in name:
            continue
        zones[name.lower()] = name
        city = _plain(name.rsplit("/", 1)[1].replace("_", " "))
        zones.setdefault(city, name)
    # City names as French speakers write them ("Bruxelles", "Londres"), from Babel's data.
    for name in sorted(set(zones.values())):
        try:
            english = get_timezone_location(name, locale="en_US", return_city=True)
            french = get_timezone_location(name, locale="fr_FR", return_city=True)
        except (LookupError, ValueError):
            continue
        if _plain(str(english)) != _plain(name.rsplit("/", 1)[1].replace("_", " ")):
            continue  # an alias (Europe/Belfast is "London"): the canonical zone wins
        zones.setdefault(_plain(str(french)), name)
    for city, name in CITY_ZONES.items():
        zones.setdefault(city, name)
    return zones


def parse_timezone(text: str) -> str | None:
    """An IANA zone ('Europe/Paris', 'paris', 'new york') or a UTC offset ('UTC+2', '-05:00')."""
    value = _plain(text)
    if not value or len(value) > 64:
        return None
    if value in ("utc", "gmt", "z"):
        return "UTC"
    offset = _OFFSET.match(value.replace(" ", ""))
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 14 or minutes not in (0, 15, 30, 45):
            return None
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    zones = _zones_by_key()
    return (
        zones.get(value) or zones.get(value.replace("_", " ")) or zones.get(value.replace(" ", "_"))
    )


def zone(name: str) -> tzinfo:
    """The tzinfo for a stored zone name; fixed offsets are stored as 'UTC+05:30'."""
    if name == "UTC":
        return UTC
    offset = _OFFSET.match(name.lower())
    if offset:
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        return timezone(-delta if offset.group(1) == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_today(user: User, now: datetime) -> date:
    """The owner's calendar date at the aware instant `now`, in their own time zone."""
    return local_date(now, zone(user.timezone))


def parse_days(text: str) -> int | None:
    """A set of weekdays as a bit mask from 'mon-fri', 'lun, mer, ven', '1-5', 'every day'."""
    value = _plain(text).strip(" .")
    if value in _DAY_SETS:
        return _DAY_SETS[value]
    mask = 0
    for part in re.split(r"\s*(?:,|;|/|\s|\bet\b|\band\b)\s*", value):
        if not part:
            continue
        bounds = re.split(r"\s*[-–]\s*", part)
        days = [_day_number(b) for b in bounds]
        if not days or any(d is None for d in days) or len(days) > 2:
            return None
        first, last = days[0], days[-1]
        assert first is not None and last is not None
        day = first
        while True:
            mask |= 1 << day
            if day == last:
                break
            day = (day + 1) % 7
    return mask or None


def _day_number(word: str) -> int | None:
    if word.isdecimal():
        number = int(word)
        return number - 1 if 1 <= number <= 7 else None
    return _DAY_NAMES.get(word.rstrip("."))


def days_in(mask: int) -> list[int]:
    """Weekday numbers (Monday 0) in a mask, in order."""
    return [d for d in range(7) if mask & (1 << d)]


def toggle_day(mask: int, day: int) -> int:
    return mask ^ (1 << day)


def parse_currency(text: str) -> str | None:
    """An ISO 4217 code Babel knows, from 'eur', '€', '$', 'chf'."""
    value = text.strip().upper()
    value = {
        "€": "EUR",
        "$": "USD",
        "£": "GBP",
        "EUROS": "EUR",
        "EURO": "EUR",
        "DOLLARS": "USD",
    }.get(value, value)
    if not re.fullmatch(r"[A-Z]{3}", value):
        return None
    return value if get_currency_name(value, locale="en") != value else None
