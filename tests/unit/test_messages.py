"""Every message exists in both languages and renders, hostile values and all, into valid text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from bot.db.models import PartnerLevel, Quote
from bot.i18n import LANGUAGES, label, render, template_names
from bot.sandbox.html_entities import parse_html, utf16_len
from bot.services.checkins import DaySummary
from bot.services.data_format import CSV_COLUMNS, PROBLEM_CODES, Problem, ProfileRecord
from bot.services.goals import GoalProgress
from bot.services.partner_digest import OwnerWeek, Remedy
from bot.services.partner_digest import Pipeline as PartnerPipeline
from bot.services.partners import Sharing
from bot.services.planning import Adherence
from bot.services.privacy import ImportSummary
from bot.services.quotes import Page, Pipeline
from bot.services.streaks import Streak
from tests.unit.services.test_coaching import message_samples

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
    "activity/paused": {"until": date(2026, 12, 31), "resume_on": date(2027, 1, 4)},
    "activity/pause_ask": {},
    "checkin/ask_exact": {},
    "checkin/correcting": {},
    "checkin/invalid_choice": {"step": "block"},
    "activity/resumed": {"was_paused": True, "next_checkin": NOW},
    "checkin/already_done": {},
    "checkin/ask_block": {"day": date(2026, 12, 30)},
    "checkin/ask_contacts": {"day": date(2026, 12, 30), "recorded": 3},
    "checkin/ask_done": {},
    "checkin/ask_meetings": {"day": None, "recorded": 0},
    "checkin/ask_proposals": {"day": None, "recorded": 8},
    "checkin/ask_reason": {"day": None},
    "checkin/ask_reason_text": {"day": None},
    "checkin/follow_up": {},
    "checkin/intro": {"name": HOSTILE},
    "checkin/invalid_count": {"code": "too_many"},
    "checkin/later": {"at": time(10, 5)},
    "checkin/summary": {
        "summary": SUMMARY, "today": date(2026, 12, 31), "next_day": date(2027, 1, 4)
    },
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
SAMPLES.update(message_samples(HOSTILE))  # coaching, diagnose and stats
for question in ("time", "timezone", "days", "currency", "language"):
    SAMPLES[f"preferences/invalid_{question}"] = {}
    SAMPLES[f"preferences/type_{question}"] = {}

# Quotes: hostile client names, the largest amount, several currencies, expired and open.
QUOTES = [
    Quote(
        id=n, client=HOSTILE[:100], amount=Decimal("1000000000000.00"), currency=currency,
        sent_on=date(2026, 12, 1), status="open",
        expires_on=date(2026, 12, 31) + (date(2027, 1, n) - date(2027, 1, 3)),
    )
    for n, currency in enumerate(["EUR", "USD", "JPY", "CHF", "XOF"], start=1)
]  # fmt: skip
PIPELINE = Pipeline(
    today=date(2026, 12, 31), open_quotes=QUOTES[2:], expired=QUOTES[:2],
    expiring_this_week=QUOTES[2:],
    open_value={"EUR": Decimal("999999999999.99"), "JPY": Decimal(5)},
    signed_this_month={"USD": Decimal("12.5")}, signed_count=3, lost_count=4, win_rate=3 / 7,
    without_follow_up=2,
)  # fmt: skip
QUOTE = QUOTES[0]
SAMPLES["checkin/extras"] = {
    "blocks": [(time(9), time(10))],
    "reminders": [(QUOTE, days) for days in (3, 1, 0, -2)],
}
SAMPLES.update(
    {
        "quotes/ask_amount": {"client": HOSTILE},
        "quotes/ask_client": {},
        "quotes/ask_date": {},
        "quotes/ask_extend": {"quote": QUOTE, "today": date(2026, 12, 31)},
        "quotes/ask_extend_typed": {},
        "quotes/ask_validity": {"client": HOSTILE},
        "quotes/cancelled": {},
        "quotes/closed_list": {"quotes": [QUOTE]},
        "quotes/confirm": {
            "why": "ceiling", "client": HOSTILE, "amount": Decimal("12000000000"),
            "currency": "EUR", "ceiling": Decimal(1_000_000),
        },
        "quotes/confirm_yes_no": {},
        "quotes/followed_up": {"quote": QUOTE, "again": False},
        "quotes/reopened": {"quote": QUOTE},
        "quotes/confirm_delete": {"quote": QUOTE},
        "quotes/deleted": {"quote": QUOTE},
        "quotes/empty": {},
        "quotes/extended": {"quote": QUOTE},
        "quotes/invalid": {
            "code": "currency_unknown", "details": {"currency": HOSTILE}, "step": "line",
            "day": None,
        },
        "quotes/list": {
            "page": Page(QUOTES, number=1, count=3, first_index=6), "pipeline": PIPELINE,
            "today": date(2026, 12, 31),
        },
        "quotes/lost": {"quote": QUOTE},
        "quotes/not_available": {},
        "quotes/reminder": {"quote": QUOTE, "days_left": -1},
        "quotes/saved": {"quote": QUOTE, "today": date(2026, 12, 1)},
        "quotes/signed": {"quote": QUOTE},
        "quotes/start_over": {},
        "quotes/totals": {"pipeline": PIPELINE},
        "edits/quote_corrected": {"quote": QUOTE, "before": QUOTE, "today": date(2026, 12, 1)},
    }
)  # fmt: skip
SAMPLES.update(
    {
        "edits/log_corrected": {
            "before": [("contacts", 3)],
            "after": [("contacts", 4), ("deals", 1)],
            "totals": {"contacts": 10_000, "deals": 2},
        },
        "edits/answer_corrected": {
            "field": "meetings",
            "before": None,
            "after": 500,
            "day": date(2026, 12, 30),
        },
        "groups/private_only": {},
        "updates/media": {"kind": "voice"},
        "updates/slow_down": {"skipped": 12_345, "first": NOW, "last": NOW},
    }
)

LABELS: dict[str, dict[str, Any]] = {
    "buttons/coach_quiz_option": {"question": "skipped", "option": "fine"},
    "buttons/coach_quiz_start": {},
    "buttons/coach_pace_option": {"weekly": 25},
    "buttons/coach_step": {"code": "quotes_follow_up"},
    "buttons/day_toggle": {"day": "Mon", "on": True},
    "buttons/later_ok": {"at": time(10, 5)},
    "buttons/quote_signed": {"n": 100},
    "buttons/quote_lost": {"n": None},
    "buttons/quote_extend": {"n": 100},
    "buttons/quote_delete": {"n": None},
    "buttons/quote_days": {"days": 60},
    "buttons/quote_plus_days": {"days": 30},
    "buttons/pause_days": {"days": 14},
    "buttons/quote_reopen": {"n": 2},
    "buttons/quote_followed": {"n": None},
    "buttons/quote_too_long": {"max_days": 365},
    "demo/resumed": {"db": "data/demo.db"},
    "demo/clock": {"day": date(2026, 12, 1), "at": time(9)},
    "demo/attachment": {"kind": "chart", "path": "data/demo-files/chart-12.png"},
}


# /plan and /goal (their own block, so the features can grow without touching each other's lines).
ADHERENCE = Adherence(
    planned=8, done=5, moved=1, skipped=1, unanswered=1, reasons={"busy": 1}
)  # fmt: skip
GOAL = GoalProgress(target=10, reward=HOSTILE[:200], contacts=3, week_start=date(2026, 12, 28))
GOAL_REACHED = GoalProgress(
    target=1000, reward=HOSTILE[:200], contacts=1200, week_start=date(2026, 12, 28),
    just_reached=True,
)  # fmt: skip
SAMPLES["checkin/summary"] = {**SAMPLES["checkin/summary"], "goal": GOAL_REACHED}
SAMPLES["activity/logged"] = {**SAMPLES["activity/logged"], "quote": QUOTE}
SAMPLES.update(
    {
        "plan/intro": {},
        "plan/ask_days": {},
        "plan/ask_start": {"days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]},
        "plan/ask_duration": {"start": time(23, 30)},
        "plan/type_start": {},
        "plan/type_duration": {},
        "plan/invalid": {"code": "too_many_blocks", "max_blocks": 14},
        "plan/overview": {
            "blocks": [
                {"day": "Tuesday", "start": time(9), "end": time(10)},
                {"day": "Thursday", "start": time(14), "end": time(15, 30)},
            ],
            "adherence": ADHERENCE, "weeks": 4, "next_at": NOW, "paused_until": None,
        },
        "plan/saved": {"added": 14, "replaced": 2},
        "plan/removed": {},
        "plan/cancelled": {},
        "plan/clear_confirm": {},
        "plan/cleared": {"count": 14},
        "plan/calendar_caption": {"count": 1},
        "plan/block_start": {"name": HOSTILE, "start": time(9), "end": time(10)},
        "plan/block_end": {"day": date(2026, 12, 29), "start": time(9), "end": time(10)},
        "plan/ask_skip_reason": {},
        "plan/answered": {
            "status": "skipped", "reason": "pipeline_full", "adherence": ADHERENCE, "weeks": 4,
        },
        "goal/ask_target": {},
        "goal/ask_reward": {"target": 1000},
        "goal/invalid": {"code": "reward_too_long", "max_target": 1000, "max_reward": 200},
        "goal/progress": {"goal": GOAL},
        "goal/overview": {"goal": GOAL_REACHED},
        "goal/saved": {"goal": GOAL},
        "goal/cancelled": {},
        "goal/stopped": {},
    }
)  # fmt: skip
LABELS.update(
    {
        "buttons/plan_remove": {"day": "mer.", "at": time(23, 45)},
        "buttons/plan_duration": {"minutes": 240},
        "buttons/goal_target": {"n": 1000},
        "buttons/goal_raise": {"n": 1000},
    }
)


# /export, /import, /forget and /privacy: every problem code, hostile file names and values.
IMPORT_SUMMARY = ImportSummary(
    days=100000, quotes=1, blocks=14, sessions=2, goals=1, diagnoses=1000, settings=True,
    skipped_blocks=1,
)  # fmt: skip
IMPORT_PROBLEMS = [
    Problem(code, line=10**6, column=10**6, where=HOSTILE, value=HOSTILE, hint=HOSTILE)
    for code in PROBLEM_CODES
]
SAMPLES.update(
    {
        "data/export_json": {"days": 1, "quotes": 100000},
        "data/export_csv": {},
        "data/export_excel": {},
        "data/import_ask": {"max_mb": 5, "columns": ",".join(CSV_COLUMNS)},
        "data/import_waiting": {"max_mb": 5},
        "data/import_download_failed": {},
        "data/import_invalid": {
            "filename": HOSTILE, "problems": IMPORT_PROBLEMS[:5], "more": 99999, "max_mb": 5,
            "columns": ",".join(CSV_COLUMNS),
        },
        "data/import_preview": {
            "filename": HOSTILE, "summary": IMPORT_SUMMARY,
            "profile": ProfileRecord(
                "fr", "America/Argentina/ComodRivadavia", time(23, 59), 127, "CHF", None, True
            ),
            "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            "language": "Français",
        },
        "data/import_nothing_new": {"filename": HOSTILE},
        "data/import_done": {"summary": IMPORT_SUMMARY},
        "data/import_expired": {},
        "data/import_cancelled": {},
        "data/forget_confirm": {
            "counts": {
                "checkin": 1, "activity_entry": 2, "quote": 100000, "plan_block": 1, "goal": 1,
                "diagnosis": 1,
            },
        },
        "data/forget_done": {},
        "data/forget_kept": {},
        "data/privacy": {},
    }
)  # fmt: skip


# Partners: the richest week (every level, client names on) and a coach with 30 owners.
PARTNER_WEEK = OwnerWeek(
    link_id=1, name=HOSTILE, week_first=date(2026, 11, 23), contacts=12, meetings=3,
    proposals=2, deals=1, usual_contacts=9.5, goal=10, streak=40,
    remedy=Remedy("unaware", held=2, planned=3),
    pipeline=PartnerPipeline(
        count=30, totals=(("EUR", Decimal("123456.78")), ("USD", Decimal("5"))),
        clients=tuple((HOSTILE, Decimal("4500"), "EUR") for _ in range(30)),
    ),
)  # fmt: skip
FULL = Sharing(PartnerLevel.PIPELINE, True)
SAMPLES.update(
    {
        "partners/sharing": {"sharing": FULL},
        "partners/week": {"week": PARTNER_WEEK, "sharing": FULL},
        "partners/level_name": {"sharing": FULL},
        "partners/menu": {
            "partners": [(HOSTILE, FULL)] * 3, "owners": [(HOSTILE, True)] * 30, "room": 0,
            "max_partners": 3,
        },
        "partners/choose_level": {},
        "partners/preview": {"week": PARTNER_WEEK, "sharing": FULL, "name": HOSTILE},
        "partners/invite_link": {
            "link": "https://t.me/sandbox_bot?start=p_" + "A" * 22, "expires": NOW, "sharing": FULL,
        },
        "partners/invite_invalid": {"code": "expired", "name": HOSTILE},
        "partners/link": {
            "name": HOSTILE, "sharing": FULL, "has_goal": True, "notify_reached": True,
            "notify_missed": False,
        },
        "partners/saved": {},
        "partners/revoke_confirm": {"name": HOSTILE},
        "partners/revoked": {"name": HOSTILE},
        "partners/invitation": {"name": HOSTILE, "sharing": FULL, "expires": NOW},
        "partners/declined": {},
        "partners/accepted": {"name": HOSTILE, "sharing": FULL},
        "partners/left": {"name": HOSTILE},
        "partners/react_pick": {"name": HOSTILE},
        "partners/digest_one": {"week": PARTNER_WEEK, "sharing": FULL},
        "partners/digest_many": {
            "items": [(PARTNER_WEEK, FULL)] * 30, "first": date(2026, 11, 23), "brief": True,
        },
        "partners/goal_reached": {"name": HOSTILE, "target": 1000},
        "partners/goal_missed": {"name": HOSTILE, "target": 1000},
        "partners/reaction": {"name": HOSTILE, "reaction": "talk"},
        "partners/notice": {"name": HOSTILE, "why": "forgot"},
        "partners/privacy": {"partners": [(HOSTILE, FULL)] * 3, "owners": [(HOSTILE, FULL)] * 3},
    }
)  # fmt: skip
LABELS.update(
    {
        "partners/button": {"which": "pick", "name": HOSTILE},
        "partners/reaction_sent": {"name": HOSTILE},
    }
)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_import_problem_has_its_own_words(lang: str) -> None:
    sample = SAMPLES["data/import_invalid"]
    for problem in IMPORT_PROBLEMS:
        html = render("data/import_invalid", lang, **{**sample, "problems": [problem]})
        parse_html(html)
        unknown = replace(problem, code="?")
        fallback = render("data/import_invalid", lang, **{**sample, "problems": [unknown]})
        assert html != fallback, f"{problem.code} has no sentence of its own"


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
        "4\u202f500\xa0€ 31 décembre 2026"
    )
    assert template.render(lang="en", amount=Decimal("4500"), day=date(2026, 12, 31)) == (
        "€4,500 December 31, 2026"
    )
    assert template.render(lang="fr", amount=Decimal("4500.5"), day=date(2026, 12, 1)) == (
        "4\u202f500,50\xa0€ 1er décembre 2026"
    )
