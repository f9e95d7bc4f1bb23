"""Every message exists in both languages and renders, hostile values and all, into valid text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from bot.i18n import LANGUAGES, label, render, template_names
from bot.sandbox.html_entities import parse_html, utf16_len
from bot.services.checkins import DaySummary
from bot.services.streaks import Streak

HOSTILE = "<b>&amp; Dupont & Fils</b> 🦄" + "é" * 5000
NOW = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
SUMMARY = DaySummary(
    day=date(2026, 12, 30), contacts=0, meetings=3, proposals=1, average_contacts=2.345,
    average_meetings=None, average_proposals=0.5,
    streak=Streak(length=12, forgiven=2, allowance_left=0),
)  # fmt: skip

# Values for each template: user text is hostile; the rest is what the bot passes.
SAMPLES: dict[str, dict[str, Any]] = {
    "activity/log_invalid": {"code": "unknown_kind", "word": HOSTILE},
    "activity/log_menu": {},
    "activity/logged": {
        "entries": [("contacts", 3), ("deals", 1)],
        "totals": {"contacts": 500, "deals": 2},
    },
    "activity/pause_invalid": {"max_days": 365},
    "activity/paused": {"until": date(2026, 12, 31), "days": 7},
    "activity/resumed": {"was_paused": True, "next_checkin": NOW},
    "checkin/already_done": {},
    "checkin/ask_block": {"day": date(2026, 12, 30)},
    "checkin/ask_contacts": {"day": date(2026, 12, 30)},
    "checkin/ask_done": {},
    "checkin/ask_meetings": {"day": None},
    "checkin/ask_proposals": {"day": None},
    "checkin/ask_reason": {"day": None},
    "checkin/ask_reason_text": {"day": None},
    "checkin/follow_up": {},
    "checkin/intro": {"name": HOSTILE},
    "checkin/invalid_count": {"code": "too_many"},
    "checkin/later": {"at": time(10, 5)},
    "checkin/summary": {"summary": SUMMARY, "today": date(2026, 12, 31)},
    "errors/apology": {},
    "help/help": {"commands": [("checkin", HOSTILE[:200]), ("help", "<i>")]},
    "help/not_understood": {},
    "help/unknown_command": {},
    "preferences/ask_currency": {"current": "EUR"},
    "preferences/ask_days": {},
    "preferences/ask_language": {},
    "preferences/ask_time": {},
    "preferences/ask_timezone": {"current": "America/Argentina/ComodRivadavia"},
    "settings/menu": {
        "checkin_time": time(23, 59),
        "timezone": "UTC+05:30",
        "currency": "CHF",
        "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "paused_until": date(2027, 1, 1),
    },  # fmt: skip
    "settings/saved": {},
    "start/onboarding_done": {
        "checkin_time": time(9),
        "timezone": "Europe/Paris",
        "days": ["lundi"],
        "next_checkin": NOW,
    },  # fmt: skip
    "start/welcome": {"name": HOSTILE},
    "start/welcome_back": {
        "user": type(
            "U",
            (),
            {
                "first_name": HOSTILE,
                "checkin_time": time(9),
                "timezone": "UTC",
                "paused_until": date(2027, 1, 1),
            },
        )(),
    },  # fmt: skip
}
for question in ("time", "timezone", "days", "currency", "language"):
    SAMPLES[f"preferences/invalid_{question}"] = {}
    SAMPLES[f"preferences/type_{question}"] = {}

LABELS: dict[str, dict[str, Any]] = {
    "buttons/day_toggle": {"day": "Mon", "on": True},
    "buttons/later_ok": {"at": time(10, 5)},
}


def html_names(lang: str) -> set[str]:
    return {n.removesuffix(".html.j2") for n in template_names(lang) if n.endswith(".html.j2")}


def label_names(lang: str) -> set[str]:
    return {n.removesuffix(".txt.j2") for n in template_names(lang) if n.endswith(".txt.j2")}


def test_both_languages_have_the_same_templates() -> None:
    assert template_names("en") == template_names("fr")


def test_every_template_has_sample_values() -> None:
    assert html_names("en") - SAMPLES.keys() == set()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_message_renders_into_text_telegram_accepts(lang: str, name: str) -> None:
    html = render(name, lang, **SAMPLES[name])
    parsed = parse_html(html)  # raises where Telegram answers "can't parse entities"
    assert parsed.text.strip(), "empty message"
    assert utf16_len(parsed.text) <= 4096
    assert "<b>&amp; Dupont" not in parsed.text or "&lt;b&gt;" in html  # user text is escaped
    if lang == "fr":
        assert " :" not in parsed.text and " ?" not in parsed.text and " !" not in parsed.text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_labels_fit_buttons_and_menus(lang: str) -> None:
    for name in label_names(lang):
        text = label(name, lang, **LABELS.get(name, {}))
        assert (
            0 < len(text) <= 64
            if name.startswith("buttons/") and "stale" not in name
            else 0 < len(text) <= 200
        )


def test_money_and_dates_follow_the_locale() -> None:
    from bot.i18n import ENVIRONMENT

    template = ENVIRONMENT.from_string("{{ amount|money('EUR') }} {{ day|date }}")
    assert template.render(lang="fr", amount=Decimal("4500"), day=date(2026, 12, 31)) == (
        "4\u202f500,00\xa0€ 31 décembre 2026"
    )
    assert template.render(lang="en", amount=Decimal("4500"), day=date(2026, 12, 31)) == (
        "€4,500.00 December 31, 2026"
    )
