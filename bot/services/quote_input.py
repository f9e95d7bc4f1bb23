"""Parsers for what owners type when they register a quote (pure: no I/O, no Telegram, no DB).

Accepted forms (French and English):

- Client: any text; whitespace is collapsed, surrounding quotes ("…", «…», “…”) are removed,
  control characters are dropped, everything else (HTML, emoji) is kept as typed.
- Amount: ``4500``, ``4 500`` (space, NBSP or narrow NBSP), ``4'500``, ``4 500,50``, ``4,500.50``,
  ``4.500,50``, ``4500.5``, ``4,5``, ``4.5k``/``12K`` (thousands), ``1.2M``/``1,2m`` (millions),
  ``4500.-``, with a currency before or after, attached or spaced: ``€ $ £ ¥ US$ $US CA$ £GB``,
  an ISO code (``EUR``, ``usd``) or a word (``euros``, ``dollars``, ``dh``, ``fcfa``). A trailing
  tax marker (``HT``, ``TTC``, ``+ TVA``, ``ex VAT``…) is ignored.
- Validity: days ``30``, ``30d``, ``30j``, ``30 jours``; ``3w``, ``3 semaines``; ``2 mois``,
  ``2 months`` (calendar months, day clamped to the month's end); ``1 an``/``1 year``; with an
  optional ``in``/``dans``/``d'ici``/``sous``/``for``/``pendant``/``valable`` in front. Dates
  ``2027-01-15``, ``15/01/2027``, ``15/01``, ``15.01.27``, ``15 janvier [2027]``, ``Jan 15``,
  ``January 15, 2027``, ``le 15``, ``the 15th``, ``demain``, ``tomorrow``, ``vendredi``, ``next
  friday``, ``fin du mois``, with an optional ``until``/``jusqu'au``/``expires``/``valable
  jusqu'au`` in front. Written dates go through ``dateparser`` (en, fr); numbers of days, ISO and
  numeric dates, durations and the few words above are parsed by hand because dateparser is slow.
- One line (after ``/quote``): ``client amount [currency] [validity]``, validity defaulting to
  ``DEFAULT_VALIDITY_DAYS``.

Ambiguity rules:

- A single ``.`` or ``,`` followed by exactly three digits is a thousands separator (``4,500`` =
  ``4.500`` = 4500), unless the integer part is ``0`` or longer than three digits, spaces already
  group the thousands, or a ``k``/``M`` follows: then it is the decimal mark (``0,500`` = 0.5,
  ``4 500,500`` = 4500.50, ``1.250k`` = 1250). Any other single separator is the decimal mark
  (``4,5`` = 4.5, ``4500.50``); with both ``.`` and ``,`` the last one is the decimal mark.
- Numeric dates are day first (French and British style): ``01/02/2027`` is 1 February. A
  ``yyyy/mm/dd`` date is year first. Two-digit years are 20yy.
- A date without a year that is already past this year means next year; ``le 15``/``the 15th``
  means the next 15th (this month or the next).
- One line: a client may start with digits when a word follows them (``3M Company 5000 30d``,
  ``7 Eleven 300``): a line that would have no client is read again with the leading tokens up
  to the next amount as the client, and kept when that reading is a whole valid quote. Other
  clients that contain digits must be quoted; otherwise the client is the words
  before the first token that starts with a digit (or a currency symbol then a digit; a lone
  currency symbol just before a number belongs to the amount). After the amount, a token made
  of exactly three digits continues the amount (``Martin 800 100`` is 800100: write
  ``800 € 100`` or ``800 100j``). A three-letter word after the amount is its currency when it is
  an ISO code in use, or an unknown code typed in capitals (then ``currency_unknown``); month and
  weekday abbreviations (``Jan 15``) stay in the validity.
- Limits: input over 1,000 characters is refused; dateparser never sees more than 100.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from typing import Any, NoReturn

import dateparser
from babel.core import get_global
from babel.numbers import list_currencies

ERROR_CODES = (
    "no_client",
    "client_too_long",
    "no_amount",
    "amount_not_number",
    "amount_not_positive",
    "amount_too_large",
    "currency_unknown",
    "validity_unreadable",
    "expiry_in_past",
    "validity_too_long",
)
DEFAULT_VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 365
MAX_CLIENT_LENGTH = 100
MAX_AMOUNT = Decimal(10**12)
MAX_INPUT_LENGTH = 1000
MAX_DATEPARSER_LENGTH = 100
_SHOWN_TEXT_LENGTH = 40  # user text echoed in error details is cut to this
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class QuoteDraft:
    """A quote as typed by the owner, checked and normalised."""

    client: str
    amount: Decimal  # quantized to 0.01, > 0, <= 10**12
    currency: str | None  # ISO 4217 when the text named one, else None (owner's default)
    expires_on: date


class QuoteInputError(Exception):
    """What the owner typed cannot make a quote; ``code`` is one of ``ERROR_CODES``.

    ``details`` values may contain raw user text (key ``text``/``currency``): escape before display.
    """

    def __init__(self, code: str, details: dict[str, str] | None = None) -> None:
        assert code in ERROR_CODES, code
        super().__init__(code)
        self.code = code
        self.details: dict[str, str] = details or {}


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _words(text: str) -> frozenset[str]:
    """Return the set of space-separated words in text."""
    return frozenset(text.split())


def _collapse(text: str) -> str:
    """Return text with every run of Unicode whitespace (NBSP, U+202F…) made one plain space."""
    return " ".join(text.split())


def _shown(text: str) -> str:
    """Return a short excerpt of user text for error details."""
    return text[:_SHOWN_TEXT_LENGTH]


_SIGNS = r"+\-\u2212"  # for regex classes; U+2212 is the typographic minus
_MINUSES = ("-", "\u2212")
_SYMBOL = r"(?:US\$|CA\$|AU\$|C\$|A\$|\$US|\$CA|£GB|[€$£¥])"
_CURRENCY_WORDS: dict[str, str] = {
    "€": "EUR", "euro": "EUR", "euros": "EUR",
    "$": "USD", "us$": "USD", "$us": "USD", "dollar": "USD", "dollars": "USD",
    "£": "GBP", "£gb": "GBP", "pound": "GBP", "pounds": "GBP", "sterling": "GBP",
    "ca$": "CAD", "$ca": "CAD", "c$": "CAD", "a$": "AUD", "au$": "AUD",
    "¥": "JPY", "yen": "JPY",
    "dh": "MAD", "dhs": "MAD", "dirham": "MAD", "dirhams": "MAD",
    "fcfa": "XOF", "cfa": "XOF",
}  # fmt: skip
# Three-letter words that may follow an amount in a one-line quote and are not currencies.
_DATE_WORDS = _words(
    "jan feb fev fév mar apr avr may mai jun jui jul aug aou aoû sep oct nov dec déc "
    "mon tue wed thu fri sat sun lun mer jeu ven sam dim "
    "the for fin end mid sur les une one day"
)
_TAX_MARKER = re.compile(
    r"(?:h\.?\s?t\.?|t\.?\s?t\.?\s?c\.?|hors\s(?:taxes?|tva)|toutes\staxes\scomprises"
    r"|\+\s?(?:tva|vat)|(?:ex|excl|incl|inc)\.?\s(?:tva|vat))",
    re.IGNORECASE,
)
_TRAILING_TAX = re.compile(rf"(?<![^\W\d_])\s?{_TAX_MARKER.pattern}$", re.IGNORECASE)
_LEADING_TAX = re.compile(rf"{_TAX_MARKER.pattern}(?=\s|$)", re.IGNORECASE)


@cache
def _active_currencies() -> frozenset[str]:
    """Return the ISO 4217 codes legal tender somewhere today (not XXX, FRF, SUR…)."""
    try:
        table: Any = get_global("territory_currencies")
        active = {row[0] for rows in table.values() for row in rows if row[2] is None and row[3]}
    except Exception:  # babel data layout changed: fall back on the full list
        active = set(list_currencies()) - {"XXX", "XTS"}
    return frozenset(active)


def _is_code_shape(token: str) -> bool:
    """Return True when token is three ASCII letters (the shape of an ISO 4217 code)."""
    return len(token) == 3 and token.isascii() and token.isalpha()


def _currency_code(token: str) -> str | None:
    """Return the ISO code a currency symbol, word or code stands for, else None."""
    lowered = token.lower()
    if lowered in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[lowered]
    if _is_code_shape(token) and token.upper() in _active_currencies():
        return token.upper()
    return None


def _line_currency(token: str) -> bool:
    """Return True when a token after the amount of a one-line quote is meant as its currency."""
    if token.lower() in _CURRENCY_WORDS:
        return True
    if not _is_code_shape(token) or token.lower() in _DATE_WORDS:
        return False
    # Capitals read as a code even when unknown (so "XYZ" is reported); lower case only if known.
    return token.isupper() or token.upper() in _active_currencies()


# ---------------------------------------------------------------------------------------------
# Client


_QUOTE_PAIRS = {'"': '"', "«": "»", "“": "”", "„": "“”", "”": "”", "'": "'", "‘": "’"}


def parse_client(text: str) -> str:
    """Return the client name: non-empty, at most MAX_CLIENT_LENGTH characters, one-spaced."""
    if len(text) > MAX_INPUT_LENGTH:
        raise QuoteInputError("client_too_long", {"max_length": str(MAX_CLIENT_LENGTH)})
    # Control characters and lone surrogates would break storage and Telegram; drop them.
    kept = "".join(
        ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    name = _strip_invisible(_collapse(kept))
    if len(name) >= 2 and name[0] in _QUOTE_PAIRS and name[-1] in _QUOTE_PAIRS[name[0]]:
        name = _strip_invisible(_collapse(name[1:-1]))
    if not name:
        raise QuoteInputError("no_client")
    if len(name) > MAX_CLIENT_LENGTH:
        raise QuoteInputError("client_too_long", {"max_length": str(MAX_CLIENT_LENGTH)})
    return name


def _strip_invisible(text: str) -> str:
    """Return text without leading/trailing format characters (zero-width spaces, BOM)."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) == "Cf":
        start += 1
    while end > start and unicodedata.category(text[end - 1]) == "Cf":
        end -= 1
    return text[start:end].strip()


# ---------------------------------------------------------------------------------------------
# Amount


_AMOUNT = re.compile(
    rf"(?P<sign1>[{_SIGNS}])?\s?(?:(?P<pre>[^\s0-9.,'’{_SIGNS}]+)\s?)?(?P<sign2>[{_SIGNS}])?"
    r"(?P<num>[0-9](?:[0-9.,'’ ]*[0-9])?)(?P<tail>.*)",
    re.DOTALL,
)
_GROUPED = re.compile(r"[0-9]{1,3}(?:[ '’][0-9]{3})+(?:[.,][0-9]+)?")
_SEPARATED = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_MULTIPLIERS = {"k": 1000, "m": 1_000_000}


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """Return (amount > 0 and <= 10**12 with exactly 2 decimals, ISO currency or None)."""
    if len(text) > MAX_INPUT_LENGTH:
        raise QuoteInputError("amount_not_number", {"text": _shown(text)})
    compact = _collapse(text)
    if not compact or _currency_code(compact) is not None:
        raise QuoteInputError("no_amount")
    value_text = _TRAILING_TAX.sub("", compact).strip()
    match = _AMOUNT.fullmatch(value_text)
    if match is None:
        raise QuoteInputError("amount_not_number", {"text": _shown(compact)})
    # Read the currency on both sides; an unknown code is reported after the number's errors.
    codes: list[str | None] = []
    unknown: str | None = None
    multiplier = 1
    pre = match["pre"]
    if pre is not None:
        code = _currency_code(pre)
        if code is None and not _is_code_shape(pre):
            raise QuoteInputError("amount_not_number", {"text": _shown(compact)})
        codes.append(code)
        unknown = None if code else pre
    tail = match["tail"].strip()
    if tail[:2] in (".-", ",-"):  # Swiss/French "4500.-"
        tail = tail[2:].strip()
    if tail:
        code = _currency_code(tail)
        if code is None and not _is_code_shape(tail) and tail[0].lower() in _MULTIPLIERS:
            multiplier = _MULTIPLIERS[tail[0].lower()]
            tail = tail[1:].strip()
            code = _currency_code(tail) if tail else None
        if tail:
            if code is None and not _is_code_shape(tail):
                raise QuoteInputError("amount_not_number", {"text": _shown(compact)})
            codes.append(code)
            unknown = unknown or (None if code else tail)
    number = _read_number(match["num"], has_multiplier=multiplier != 1)
    if number is None:
        raise QuoteInputError("amount_not_number", {"text": _shown(compact)})
    negative = match["sign1"] in _MINUSES or match["sign2"] in _MINUSES
    amount = _checked_amount(number, multiplier, negative)
    if unknown is not None:
        raise QuoteInputError("currency_unknown", {"currency": _shown(unknown)})
    known = {code for code in codes if code is not None}
    if len(known) > 1:  # "€4500 USD": two different currencies
        raise QuoteInputError("currency_unknown", {"currency": " ".join(sorted(known))})
    return amount, (known.pop() if known else None)


def _read_number(raw: str, has_multiplier: bool) -> Decimal | None:
    """Return the exact value of a digits-and-separators string, or None when it is malformed."""
    if " " in raw or "'" in raw or "’" in raw:
        # Spaces or apostrophes group thousands: 1-3 digits then groups of exactly 3.
        if not _GROUPED.fullmatch(raw):
            return None
        digits = raw.replace(" ", "").replace("'", "").replace("’", "")
        return Decimal(digits.replace(",", "."))
    if not _SEPARATED.fullmatch(raw):
        return None
    dots, commas = raw.count("."), raw.count(",")
    if dots and commas:
        decimal_mark = "." if raw.rfind(".") > raw.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        whole, _, fraction = raw.rpartition(decimal_mark)
        if decimal_mark in whole or not _thousands_ok(whole, thousands):
            return None
        return Decimal(whole.replace(thousands, "") + "." + fraction)
    separator = "." if dots else ","
    count = dots + commas
    if count == 0:
        return Decimal(raw)
    if count > 1:
        return Decimal(raw.replace(separator, "")) if _thousands_ok(raw, separator) else None
    whole, _, fraction = raw.partition(separator)
    is_thousands = (
        len(fraction) == 3 and not has_multiplier and 1 <= len(whole) <= 3 and whole[0] != "0"
    )
    return Decimal(whole + fraction) if is_thousands else Decimal(whole + "." + fraction)


def _thousands_ok(whole: str, separator: str) -> bool:
    """Return True when whole is 1-3 digits followed by groups of exactly 3 digits."""
    groups = whole.split(separator)
    return 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])


def _checked_amount(number: Decimal, multiplier: int, negative: bool) -> Decimal:
    """Return number*multiplier rounded half-up to cents, or raise the matching amount error."""
    if negative:
        raise QuoteInputError("amount_not_positive")
    with localcontext() as context:
        context.prec = max(28, len(str(number)) + 10)  # exact product, no premature rounding
        value = number * multiplier
        if value >= MAX_AMOUNT * 10:  # checked before quantize, which would overflow precision
            raise QuoteInputError("amount_too_large", {"max_amount": str(MAX_AMOUNT)})
        amount = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if amount <= 0:
        raise QuoteInputError("amount_not_positive")
    if amount > MAX_AMOUNT:
        raise QuoteInputError("amount_too_large", {"max_amount": str(MAX_AMOUNT)})
    return amount


# ---------------------------------------------------------------------------------------------
# Validity


_LEAD_WORDS = _words(
    "valable valide valid validité validity jusqu'au jusqu'à jusqu'a jusqu'aux until till til "
    "expires expire expiring expiry expiration exp exp. in dans d'ici within sous for pendant "
    "durant pour sur"
)
_DAY_UNITS = _words("d day days j jr jrs jour jours")
_WEEK_UNITS = _words("w wk wks week weeks sem semaine semaines")
_MONTH_UNITS = _words("mo mos month months mois")
_YEAR_UNITS = _words("y yr yrs year years an ans année années")
_ONE_WORDS = _words("a one un une")
_DURATION = re.compile(r"(?P<count>[0-9]{1,6}|[a-zé]+)\s?(?P<unit>[a-zé.]+)")
_PLAIN_DAYS = re.compile(rf"(?P<sign>[{_SIGNS}])?(?P<days>[0-9]{{1,12}})")
_ISO_DATE = re.compile(r"(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})")
_DMY_DATE = re.compile(r"(?P<d>[0-9]{1,2})[/.-](?P<m>[0-9]{1,2})(?:[/.-](?P<y>[0-9]{4}|[0-9]{2}))?")
_DAY_OF_MONTH = re.compile(
    r"(?:(?:le|the|on the|on)\s)?(?P<d>[0-9]{1,2})(?P<ord>er|e|st|nd|rd|th)?",
)
_WEEKDAYS = {
    "monday": 0, "lundi": 0, "tuesday": 1, "mardi": 1, "wednesday": 2, "mercredi": 2,
    "thursday": 3, "jeudi": 3, "friday": 4, "vendredi": 4, "saturday": 5, "samedi": 5,
    "sunday": 6, "dimanche": 6,
}  # fmt: skip
_WEEKDAY = re.compile(r"(?:(?:next|this|ce|le)\s)?(?P<day>[a-z]+)(?:\s(?:prochain|qui vient))?")
_RELATIVE_WORDS = {
    "today": 0, "aujourd'hui": 0, "auj": 0, "ce soir": 0, "tonight": 0,
    "tomorrow": 1, "demain": 1, "day after tomorrow": 2, "après-demain": 2, "apres-demain": 2,
}  # fmt: skip
_END_OF_MONTH = frozenset(
    ["end of month", "end of the month", "fin du mois", "fin de mois", "fin de ce mois"]
)
_DATEPARSER_SETTINGS: dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    "DATE_ORDER": "DMY",
    "REQUIRE_PARTS": ["day"],  # "janvier" alone is not a date
    # Only matters for relative months ("next month"): keep today's day of month.
    "PREFER_DAY_OF_MONTH": "current",
    "RETURN_AS_TIMEZONE_AWARE": False,
    # No timestamp / no-spaces parsers: "1700000000" or "20270115" are not typed expiry dates.
    "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
}


def parse_validity(text: str, today: date) -> date:
    """Return an expiry date between today and today + MAX_VALIDITY_DAYS (both included)."""
    today = date(today.year, today.month, today.day)  # a datetime would break comparisons
    if len(text) > MAX_INPUT_LENGTH:
        raise QuoteInputError("validity_unreadable", {"text": _shown(text)})
    cleaned = _strip_lead_words(_collapse(text).lower().replace("’", "'"))
    expiry = _read_validity(cleaned, today)
    if expiry is None:
        raise QuoteInputError("validity_unreadable", {"text": _shown(_collapse(text))})
    return _checked_expiry(expiry, today)


def _strip_lead_words(text: str) -> str:
    """Return text without leading words like 'valable jusqu'au', 'until', 'dans'."""
    words = text.split(" ")
    start = 0
    while start < len(words) - 1 and words[start].rstrip(":") in _LEAD_WORDS:
        start += 1
    return " ".join(words[start:]).lstrip(":").strip()


def _checked_expiry(expiry: date, today: date) -> date:
    """Return expiry when it is within the allowed window, else raise the matching error."""
    if expiry < today:
        raise QuoteInputError("expiry_in_past", {"date": expiry.isoformat()})
    if (expiry - today).days > MAX_VALIDITY_DAYS:
        raise QuoteInputError("validity_too_long", {"max_days": str(MAX_VALIDITY_DAYS)})
    return expiry


_FAR_FUTURE = date.max  # stands for "too far to compute": always validity_too_long


def _read_validity(text: str, today: date) -> date | None:
    """Return the date text names (maybe out of range), or None when it is unreadable."""
    if not text:
        return None
    days = _PLAIN_DAYS.fullmatch(text)
    if days is not None:
        count = int(days["days"])
        if count > MAX_VALIDITY_DAYS * 100:
            return None if days["sign"] in _MINUSES else _FAR_FUTURE
        sign = -1 if days["sign"] in _MINUSES else 1
        return today + timedelta(days=sign * count)
    duration = _DURATION.fullmatch(text)
    if duration is not None:
        expiry = _read_duration(duration["count"], duration["unit"], today)
        if expiry is not None:
            return expiry
    for pattern in (_ISO_DATE, _DMY_DATE):
        numeric = pattern.fullmatch(text)
        if numeric is not None:
            return _numeric_date(numeric["d"], numeric["m"], numeric["y"], today)
    day_of_month = _DAY_OF_MONTH.fullmatch(text)
    if day_of_month is not None and (day_of_month["ord"] or not text[0].isdigit()):
        return _next_day_of_month(int(day_of_month["d"]), today)
    word_date = _word_date(text, today)
    if word_date is not None:
        return word_date
    return _dateparser_date(text, today)


def _read_duration(count_text: str, unit: str, today: date) -> date | None:
    """Return today plus 'N days/weeks/months/years', or None when it is not a duration."""
    if count_text.isdecimal():
        count = int(count_text)
    elif count_text in _ONE_WORDS:
        count = 1
    else:
        return None
    unit = unit.rstrip(".")
    if unit in _DAY_UNITS:
        days = count
    elif unit in _WEEK_UNITS:
        days = count * 7
    elif unit in _MONTH_UNITS:
        return _add_months(today, count)
    elif unit in _YEAR_UNITS:
        return _add_months(today, count * 12)
    else:
        return None
    return _FAR_FUTURE if days > MAX_VALIDITY_DAYS * 100 else today + timedelta(days=days)


def _add_months(start: date, months: int) -> date:
    """Return start plus calendar months, the day clamped to the target month's last day."""
    if months > 12 * 100:
        return _FAR_FUTURE
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _numeric_date(
    day_text: str, month_text: str, year_text: str | None, today: date
) -> date | None:
    """Return the day-first numeric date; without a year, the next such day from today."""
    day, month = int(day_text), int(month_text)
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _safe_date(year, month, day)
    for year in (today.year, today.year + 1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    """Return date(year, month, day), or None when that day does not exist."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_day_of_month(day: int, today: date) -> date | None:
    """Return the first date on this day of month that is today or later."""
    year, month = today.year, today.month
    for _ in range(3):  # a 31st is at most two months away
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _word_date(text: str, today: date) -> date | None:
    """Return the date for today/tomorrow/end of month/weekday words, else None."""
    if text in _RELATIVE_WORDS:
        return today + timedelta(days=_RELATIVE_WORDS[text])
    if text in _END_OF_MONTH:
        return date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    weekday = _WEEKDAY.fullmatch(text)
    if weekday is not None and weekday["day"] in _WEEKDAYS:
        # Always ahead: "friday" said on a Friday means next week's.
        ahead = (_WEEKDAYS[weekday["day"]] - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead)
    return None


def _dateparser_date(text: str, today: date) -> date | None:
    """Return the date dateparser reads in short text (English or French), else None."""
    if len(text) > MAX_DATEPARSER_LENGTH or not any(ch.isalnum() for ch in text):
        return None
    settings = dict(_DATEPARSER_SETTINGS)
    settings["RELATIVE_BASE"] = datetime(today.year, today.month, today.day)
    try:
        parsed = dateparser.parse(text, languages=["en", "fr"], settings=settings)
    except Exception:  # third-party parser fed arbitrary text: any failure means unreadable
        return None
    if not isinstance(parsed, datetime):
        return None
    found = parsed.date()
    # "27 novembre" typed on 27 November: the future preference gave next year, mean today.
    if len(re.findall(r"[0-9]+", text)) == 1 and found == _add_months(today, 12):
        return today
    return found


# ---------------------------------------------------------------------------------------------
# One line


_AMOUNT_START = re.compile(rf"[{_SIGNS}]?{_SYMBOL}?[{_SIGNS}]?[0-9]", re.IGNORECASE)
_CODE_ATTACHED = re.compile(r"(?P<code>[A-Z]{3})[0-9]")
_SYMBOL_ONLY = re.compile(rf"[{_SIGNS}]?{_SYMBOL}", re.IGNORECASE)
_DIGIT_START = re.compile(rf"[{_SIGNS}]?[0-9]")
_NUMBER_TOKEN = re.compile(
    rf"(?P<pre>[{_SIGNS}]?(?:{_SYMBOL}|[A-Z]{{3}})?)(?P<num>[{_SIGNS}]?[0-9]+(?:[.,'’][0-9]+)*)"
    r"(?P<tail>.*)",
    re.DOTALL,
)
_GROUP_HEAD = re.compile(rf"[{_SIGNS}]?[0-9]{{1,3}}")
_GROUP_TOKEN = re.compile(r"(?P<num>[0-9]{3}(?:[.,][0-9]+)?)(?P<tail>.*)", re.DOTALL)
_OPENING_QUOTES = {'"': '"', "«": "»", "“": '”"', "„": "“”", "”": "”"}


def parse_quote_line(text: str, today: date) -> QuoteDraft:
    """Return the quote typed on one line; errors come in the order client, amount, validity."""
    if len(text) > MAX_INPUT_LENGTH:
        _refuse_long_line(text)
    line = _collapse(text)
    client_text, amount_text, validity_text = _split_line(line)
    if not client_text and amount_text:
        leading = _digit_client_draft(line, today)
        if leading is not None:
            return leading
    return _draft(client_text, amount_text, validity_text, today)


def _draft(client_text: str, amount_text: str, validity_text: str, today: date) -> QuoteDraft:
    client = parse_client(client_text)
    if not amount_text:
        raise QuoteInputError("no_amount")
    amount, currency = parse_amount(amount_text)
    if validity_text:
        expires_on = parse_validity(validity_text, today)
    else:
        today = date(today.year, today.month, today.day)
        expires_on = today + timedelta(days=DEFAULT_VALIDITY_DAYS)
    return QuoteDraft(client=client, amount=amount, currency=currency, expires_on=expires_on)


def _digit_client_draft(line: str, today: date) -> QuoteDraft | None:
    """The quote read with a client starting with digits ("3M Company 5000"), if it is one."""
    tokens = line.split(" ")
    for index in range(1, len(tokens)):
        if not _amount_starts(tokens, index):
            continue
        if not any(token[:1].isalpha() for token in tokens[:index]):
            return None  # "5000 30d": digits only, no name
        rest = tokens[index:]
        count = _amount_token_count(rest)
        try:
            return _draft(
                " ".join(tokens[:index]), " ".join(rest[:count]), " ".join(rest[count:]), today
            )
        except QuoteInputError:
            return None
    return None


def _refuse_long_line(text: str) -> NoReturn:
    """Raise client_too_long or validity_unreadable for a line over MAX_INPUT_LENGTH."""
    client_text, amount_text, _ = _split_line(_collapse(text[:MAX_INPUT_LENGTH]))
    if not amount_text:  # no amount in the first 1,000 characters: the client is what is long
        raise QuoteInputError("client_too_long", {"max_length": str(MAX_CLIENT_LENGTH)})
    parse_client(client_text)
    raise QuoteInputError("validity_unreadable", {"text": _shown(text)})


def _split_line(line: str) -> tuple[str, str, str]:
    """Return (client, amount, validity) texts of a whitespace-collapsed one-line quote."""
    if line and line[0] in _OPENING_QUOTES:
        end = _find_any(line, _OPENING_QUOTES[line[0]], 1)
        if end > 0:
            rest = line[end + 1 :].split()
            if rest and _amount_starts(rest, 0):
                count = _amount_token_count(rest)
                return line[1:end], " ".join(rest[:count]), " ".join(rest[count:])
    tokens = line.split(" ") if line else []
    for index in range(len(tokens)):
        if _amount_starts(tokens, index):
            rest = tokens[index:]
            count = _amount_token_count(rest)
            return " ".join(tokens[:index]), " ".join(rest[:count]), " ".join(rest[count:])
    return line, "", ""


def _find_any(text: str, characters: str, start: int) -> int:
    """Return the first index >= start of any of characters in text, or -1."""
    found = [index for index in (text.find(ch, start) for ch in characters) if index >= 0]
    return min(found) if found else -1


def _amount_starts(tokens: list[str], index: int) -> bool:
    """Return True when tokens[index] starts an amount (digit, or currency symbol then digit)."""
    token = tokens[index]
    if _AMOUNT_START.match(token):
        return True
    attached = _CODE_ATTACHED.match(token)  # "CHF1,250.50", as babel writes it in English
    if attached is not None and attached["code"] in _active_currencies():
        return True
    return (
        _SYMBOL_ONLY.fullmatch(token) is not None
        and index + 1 < len(tokens)
        and _DIGIT_START.match(tokens[index + 1]) is not None
    )


def _suffix_kind(text: str) -> str:
    """Classify what follows a number: none, mult, cur, multcur (both) or bad."""
    if text in ("", ".-", ",-"):
        return "none"
    if text[:2] in (".-", ",-"):
        text = text[2:]
    if _line_currency(text):
        return "cur"
    if text[0].lower() in _MULTIPLIERS:
        if len(text) == 1:
            return "mult"
        if _line_currency(text[1:]):
            return "multcur"
    return "bad"


def _amount_token_count(tokens: list[str]) -> int:
    """Return how many leading tokens (tokens[0] starts an amount) belong to the amount."""
    index = 1 if _SYMBOL_ONLY.fullmatch(tokens[0]) else 0  # "€ 4 500"
    match = _NUMBER_TOKEN.fullmatch(tokens[index])
    index += 1
    if match is None:
        return index  # parse_amount reports what is wrong with it
    number, tail = match["num"], match["tail"]
    # Space-separated thousands: "4 500", "1 250,50 €", but not "800 30" (two numbers).
    while not tail and index < len(tokens) and _GROUP_HEAD.fullmatch(number):
        group = _GROUP_TOKEN.fullmatch(tokens[index])
        if group is None or _suffix_kind(group["tail"]) == "bad":
            break
        number, tail = group["num"], group["tail"]
        index += 1
    kind = _suffix_kind(tail)
    if kind in ("none", "mult") and index < len(tokens):
        following = _suffix_kind(tokens[index])
        if following == "cur" or (kind == "none" and following in ("mult", "multcur")):
            index += 1
            if following == "mult" and index < len(tokens) and _suffix_kind(tokens[index]) == "cur":
                index += 1
    tax = _LEADING_TAX.match(" ".join(tokens[index:]))
    if tax is not None:
        index += tax.group().count(" ") + 1
    return index
