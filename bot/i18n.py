"""Renders the user-visible text: Jinja2 templates under messages/<lang>/, formatted with Babel."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

import messages

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
BABEL_LOCALES = {"en": "en_US", "fr": "fr_FR"}
MESSAGES_DIR = Path(messages.__file__).parent

# Each command's name in each language: French owners see and type the French one (both work).
COMMAND_NAMES: dict[str, dict[str, str]] = {
    "start": {"en": "start", "fr": "start"},
    "checkin": {"en": "checkin", "fr": "point"},
    "log": {"en": "log", "fr": "noter"},
    "quote": {"en": "quote", "fr": "devis"},
    "quotes": {"en": "quotes", "fr": "mesdevis"},
    "plan": {"en": "plan", "fr": "planifier"},
    "goal": {"en": "goal", "fr": "objectif"},
    "stats": {"en": "stats", "fr": "bilan"},
    "diagnose": {"en": "diagnose", "fr": "diagnostic"},
    "settings": {"en": "settings", "fr": "reglages"},
    "pause": {"en": "pause", "fr": "pause"},
    "resume": {"en": "resume", "fr": "reprendre"},
    "export": {"en": "export", "fr": "exporter"},
    "import": {"en": "import", "fr": "importer"},
    "forget": {"en": "forget", "fr": "oublier"},
    "privacy": {"en": "privacy", "fr": "confidentialite"},
    "help": {"en": "help", "fr": "aide"},
    "partner": {"en": "partner", "fr": "partenaire"},
}

# The owner's time zone picks the territory of their locale (dates, times, money): an English
# owner in New York reads "12/1/26" and "8:00 AM", one in London "01/12/2026" and "08:00".
_owner_timezone: ContextVar[str | None] = ContextVar("owner_timezone", default=None)
_ZONE_TERRITORIES: dict[str, str] = dict(get_global("zone_territories"))


def splits_on_semicolons(lang: str, timezone: str | None) -> bool:
    """Whether this owner's spreadsheet expects `;` between CSV columns: Excel does wherever
    the decimal mark is a comma (France, Belgium, Germany…), as the locale says."""
    return babel_locale(lang, timezone).number_symbols["latn"]["decimal"] == ","


def command_name(key: str, lang: str) -> str:
    """The name of one command (without its slash) as owners of `lang` know it."""
    return COMMAND_NAMES[key][lang]


@contextmanager
def owner_timezone(timezone: str | None) -> Iterator[None]:
    """Render messages in this block for an owner in `timezone` (an IANA name or `UTC+05:30`)."""
    token = _owner_timezone.set(timezone)
    try:
        yield
    finally:
        _owner_timezone.reset(token)


def set_owner_timezone(timezone: str | None) -> None:
    """Like `owner_timezone`, for the rest of the current task (one update, one scheduled send)."""
    _owner_timezone.set(timezone)


@lru_cache(maxsize=512)
def babel_locale(lang: str, timezone: str | None = None) -> Locale:
    """`lang` in the territory of `timezone` when Babel knows that pair, else the default."""
    territory = _ZONE_TERRITORIES.get(timezone or "")
    if territory and territory != "ZZ":
        try:
            return Locale.parse(f"{lang}_{territory}")
        except (UnknownLocaleError, ValueError):
            pass
    return Locale.parse(BABEL_LOCALES[lang])


def pick_language(code: str | None) -> str:
    """French for any fr* Telegram language code, English otherwise."""
    return "fr" if code and code.lower().startswith("fr") else DEFAULT_LANGUAGE


def _locale(ctx: Context) -> Locale:
    return babel_locale(ctx["lang"], _owner_timezone.get())


@pass_context
def _money(ctx: Context, amount: Decimal, currency: str) -> str:
    # Amounts keep the language's own style ("$4,500", "4 500 €") wherever the owner lives.
    locale = Locale.parse(BABEL_LOCALES[ctx["lang"]])
    if Decimal(amount) == Decimal(amount).to_integral_value():
        # Whole amounts read without ",00" ("4 500 €"); cents stay when there are some.
        pattern = locale.currency_formats["standard"].pattern.split(";")[0]
        pattern = re.sub(r"\.0+", "", pattern)
        return format_currency(amount, currency, pattern, locale=locale, currency_digits=False)
    return format_currency(amount, currency, locale=locale)


@pass_context
def _number(ctx: Context, value: int | float | Decimal) -> str:
    return format_decimal(value, locale=_locale(ctx))


_WIDTHS = ("short", "medium", "long", "full")


@pass_context
def _date(ctx: Context, value: date | datetime, fmt: str = "long") -> str:
    """A date the owner's way; `fmt` is a width or the fields wanted ("d MMMM": day and month,
    in the order of the owner's locale: "December 1" in the US, "1er décembre" in France)."""
    locale = _locale(ctx)
    if fmt in _WIDTHS:
        text = format_date(value, format=fmt, locale=locale)
    elif "EEEE" in fmt and "y" not in fmt:
        # Skeletons abbreviate weekdays: take the full date's pattern without its year.
        pattern = re.sub(r"[,\s]*y+", "", locale.date_formats["full"].pattern)
        text = format_date(value, format=pattern, locale=locale)
    else:
        text = format_skeleton(re.sub(r"[^A-Za-z]", "", fmt), value, locale=locale)
    if locale.language == "fr" and value.day == 1:
        text = re.sub(r"(?<!\d)1(?!\d)", "1er", text, count=1)  # "le 1er décembre"
    return text


@pass_context
def _weekday(ctx: Context, value: date) -> str:
    return format_date(value, format="EEEE", locale=_locale(ctx))


@pass_context
def _time(ctx: Context, value: time) -> str:
    """A time of day: "8 h" or "8 h 30" in French, "8:00 AM" in the US, "08:00" in Britain."""
    locale = _locale(ctx)
    if locale.language == "fr":
        return (
            f"{value.hour}\xa0h"
            if value.minute == 0
            else f"{value.hour}\xa0h\xa0{value.minute:02d}"
        )
    return format_time(value, format="short", locale=locale)


@pass_context
def _plural(ctx: Context, count: int | float | Decimal, one: str, other: str) -> str:
    """The word for `count` by the language's plural rule (French: 0 and 1 are singular)."""
    return one if _locale(ctx).plural_form(abs(Decimal(count))) == "one" else other


@pass_context
def _counted(ctx: Context, count: int | float | Decimal, one: str, other: str) -> str:
    """`count` formatted, then its word: "1 meeting", "0 nouveau contact", "2 devis"."""
    return f"{format_decimal(count, locale=_locale(ctx))} {_plural(ctx, count, one, other)}"


@pass_context
def _and_list(ctx: Context, items: Iterable[object]) -> str:
    """A list with the language's last word: "Monday, Tuesday and Friday", "lundi, mardi et…"."""
    return format_list([str(item) for item in items], locale=_locale(ctx))


@pass_context
def _command(ctx: Context, key: str) -> str:
    return "/" + command_name(key, ctx["lang"])


def _short(value: object, length: int = 64) -> str:
    """User-supplied text cut to fit a message (a 5,000-character name must not break it)."""
    text = str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(MESSAGES_DIR),
        # HTML templates are escaped; .txt.j2 ones (button labels, command menu) are plain text.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: compile each once, never stat its file again per render.
        auto_reload=False,
    )
    env.filters.update(
        money=_money, number=_number, date=_date, weekday=_weekday, time=_time, short=_short,
        plural=_plural, counted=_counted, and_list=_and_list,
    )  # fmt: skip
    env.globals["cmd"] = _command
    return env


ENVIRONMENT = _build_environment()


def render(template: str, lang: str, **values: Any) -> str:
    """The HTML message `messages/<lang>/<template>.html.j2`, without surrounding blank lines."""
    return (
        ENVIRONMENT.get_template(f"{lang}/{template}.html.j2").render(lang=lang, **values).strip()
    )


def label(template: str, lang: str, **values: Any) -> str:
    """A plain-text label (button, command description): `messages/<lang>/<template>.txt.j2`."""
    return ENVIRONMENT.get_template(f"{lang}/{template}.txt.j2").render(lang=lang, **values).strip()


def template_names(lang: str) -> list[str]:
    """Every template of one language, as paths relative to its folder."""
    root = MESSAGES_DIR / lang
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.j2"))
