"""Renders the user-visible text: Jinja2 templates under messages/<lang>/, formatted with Babel."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

import messages

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
BABEL_LOCALES = {"en": "en_US", "fr": "fr_FR"}
MESSAGES_DIR = Path(messages.__file__).parent


def pick_language(code: str | None) -> str:
    """French for any fr* Telegram language code, English otherwise."""
    return "fr" if code and code.lower().startswith("fr") else DEFAULT_LANGUAGE


def _locale(ctx: Context) -> str:
    return BABEL_LOCALES[ctx["lang"]]


@pass_context
def _money(ctx: Context, amount: Decimal, currency: str) -> str:
    return format_currency(amount, currency, locale=_locale(ctx))


@pass_context
def _number(ctx: Context, value: int | float | Decimal) -> str:
    return format_decimal(value, locale=_locale(ctx))


@pass_context
def _date(ctx: Context, value: date | datetime, fmt: str = "long") -> str:
    return format_date(value, format=fmt, locale=_locale(ctx))


@pass_context
def _weekday(ctx: Context, value: date) -> str:
    return format_date(value, format="EEEE", locale=_locale(ctx))


@pass_context
def _time(ctx: Context, value: time) -> str:
    # Both languages read a 24-hour clock well in a chat ("09:00").
    return format_time(value, format="HH:mm", locale=_locale(ctx))


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
        money=_money, number=_number, date=_date, weekday=_weekday, time=_time, short=_short
    )
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
