"""/diagnose, /stats (/bilan), coaching after check-ins, the weekly review and the nudge.

- After a completed check-in the verdict is recomputed and stored; when it is news (a new slowdown
  type, or the busier-less-prospecting pattern just appeared) a coaching nudge is put in the
  outbox, keyed by ISO week: at most one a week, sent by the next dispatcher tick.
- Every coaching message shows the evidence with numbers, why it matters and one next step with
  a button that starts the remedy: /plan (unaware), /quotes (intentional), /goal (comfortable).
- The weekly review (see bot/services/reports.py) is scheduled from here, lazily.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, cast

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db import outbox, users
from bot.db.models import Dialog, DialogName, OutboxMessage, User
from bot.delivery.outgoing import Outgoing
from bot.i18n import BABEL_LOCALES, label, render
from bot.services import charts, coaching, history, quiet_day, reports
from bot.services.coaching import QUIZ, REASON_TYPES, Assessment, Verdict
from bot.services.forecast import Forecast, forecast
from handlers import callback_data as cb
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

logger = logging.getLogger(__name__)

FEATURE = "coach"  # coach:remedy:<verdict>
QUIZ_FEATURE = "diag"  # diag:<question>:<option>
NUDGE_KIND = "coach_nudge"
REVIEW_LATE_LIMIT = timedelta(hours=12)
MAX_SIGNALS_SHOWN = 3

Entry = Callable[[Update, BotContext], Awaitable[None]]

# verdict -> (module, entry point, whether it answers the button press itself)
REMEDIES: dict[str, tuple[str, str, bool]] = {
    Verdict.UNAWARE: ("handlers.planning", "cmd_plan", False),
    Verdict.INTENTIONAL: ("handlers.quotes", "cmd_quotes", True),
    Verdict.COMFORTABLE: ("handlers.goals", "cmd_goal", False),
}


# ---------------------------------------------------------------------------- shared pieces


def remedy_rows(lang: str, *verdicts: str) -> Keyboard:
    """One button per slowdown type given, each starting that type's remedy."""
    seen: list[str] = []
    for verdict in verdicts:
        if verdict in REMEDIES and verdict not in seen:
            seen.append(verdict)
    return [
        [(label(f"buttons/coach_remedy_{verdict}", lang), cb.pack(FEATURE, "remedy", verdict))]
        for verdict in seen
    ]


def evidence_values(lang: str, assessment: Assessment) -> dict[str, Any]:
    """What the evidence templates read: the assessment, its strongest signals, the reasons."""
    return {
        "a": assessment,
        "signals": coaching.signals_text_order(assessment.evidence.signals)[:MAX_SIGNALS_SHOWN],
        "said": {reason: label(f"buttons/reason_{reason}", lang) for reason in REASON_TYPES},
    }


def nudge_text(user: User, assessment: Assessment, outlook: Forecast | None) -> str:
    return render(
        "coaching/nudge",
        user.language,
        name=user.first_name,
        forecast=outlook,
        **evidence_values(user.language, assessment),
    )


def review_texts(
    lang: str,
    review: reports.Review,
    assessment: Assessment,
    outlook: Forecast | None,
    *,
    weekly: bool,
) -> tuple[str, str]:
    """The chart's caption and the review's details."""
    caption = render("stats/caption", lang, review=review, weekly=weekly)
    details = render(
        "stats/review",
        lang,
        review=review,
        forecast=outlook,
        weekly=weekly,
        **evidence_values(lang, assessment),
    )
    return caption, details


def chart_png(lang: str, review: reports.Review) -> bytes:
    labels = charts.ChartLabels(
        title=label("stats/chart_title", lang),
        contacts=label("stats/chart_contacts", lang),
        meetings=label("stats/chart_meetings", lang),
        proposals=label("stats/chart_proposals", lang),
        days=[format_date(d.day, "d MMM", locale=BABEL_LOCALES[lang]) for d in review.chart],
    )
    return charts.activity_chart(review.chart, labels)


# ---------------------------------------------------------------------------- after a check-in


async def after_checkin(turn: Turn) -> None:
    """Recompute the verdict after a finished check-in; news becomes a nudge (once a week)."""
    refreshed = await history.refresh(turn.session, turn.user, turn.now)
    if not refreshed.is_news:
        return
    assessment = refreshed.assessment
    logger.info(
        "user %s: verdict %s (was %s), pattern %s",
        turn.user.id,
        assessment.verdict,
        refreshed.previous_verdict,
        assessment.evidence.pattern,
    )
    await outbox.schedule(
        turn.session,
        user_id=turn.user.id,
        kind=NUDGE_KIND,
        dedupe_key=f"{NUDGE_KIND}:{turn.user.id}:{coaching.iso_week(refreshed.today)}",
        due_at=turn.now,
        now=turn.now,
        payload={"verdict": assessment.verdict.value, "date": refreshed.today.isoformat()},
    )


async def compose_nudge(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """The coaching nudge, on the numbers as they are when it is sent (dropped if no slowdown,
    or when the owner's day already had its share of messages)."""
    if not await quiet_day.room_for_an_extra(session, user, now):
        return None
    today = history.today_of(user, now)
    data = await history.load(session, user.id, today)
    assessment = coaching.diagnose(data, today)
    if not assessment.is_slowdown:
        return None
    text = nudge_text(user, assessment, forecast(data, today))
    return Outgoing(text, remedy_rows(user.language, assessment.verdict))


# ---------------------------------------------------------------------------- weekly review


def _weekly_content(
    refreshed: history.Refreshed, row: OutboxMessage, user: User, now: datetime
) -> tuple[reports.Review, Assessment, Forecast | None] | None:
    """The review of the Monday a row is for; None when there is nothing to say or it is late."""
    monday = date.fromisoformat(row.payload["monday"])
    if not reports.has_recent_activity(refreshed.history, refreshed.today):
        return None
    if now - row.due_at > REVIEW_LATE_LIMIT:
        return None
    if user.paused_until is not None and monday <= user.paused_until:
        return None
    review = reports.for_monday(refreshed.history, monday)
    return review, refreshed.assessment, forecast(refreshed.history, refreshed.today)


async def compose_weekly_review(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """Monday's chart with a short caption (none while nothing was reported for weeks)."""
    refreshed = await history.refresh(session, user, now)
    content = _weekly_content(refreshed, row, user, now)
    if content is None:
        return None
    review, assessment, outlook = content
    caption, _ = review_texts(user.language, review, assessment, outlook, weekly=True)
    png = await asyncio.to_thread(chart_png, user.language, review)
    return Outgoing(caption, photo=png)


async def compose_weekly_details(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """Monday's review in words: numbers, goal, quotes expiring, diagnosis and its remedy."""
    today = history.today_of(user, now)
    data = await history.load(session, user.id, today)
    assessment = coaching.diagnose(data, today)
    refreshed = history.Refreshed(today, data, assessment, None, False)
    content = _weekly_content(refreshed, row, user, now)
    if content is None:
        return None
    review, assessment, outlook = content
    _, details = review_texts(user.language, review, assessment, outlook, weekly=True)
    return Outgoing(details, remedy_rows(user.language, assessment.verdict))


# ---------------------------------------------------------------------------- /stats


async def cmd_stats(update: Update, context: BotContext) -> None:
    """Your last 7 days against your usual weeks, with a chart, the diagnosis and its remedy."""
    png_input: reports.Review | None = None
    caption = ""
    rows: Keyboard = []
    async with user_turn(update, context) as turn:
        refreshed = await history.refresh(turn.session, turn.user, turn.now)
        review = reports.on_demand(refreshed.history, refreshed.today)
        if review.is_empty:
            details = render("stats/empty", turn.lang)
        else:
            outlook = forecast(refreshed.history, refreshed.today)
            caption, details = review_texts(
                turn.lang, review, refreshed.assessment, outlook, weekly=False
            )
            rows = remedy_rows(turn.lang, refreshed.assessment.verdict)
            png_input = review
        lang = turn.lang
    chat = update.effective_chat
    if png_input is not None and chat is not None:
        png = await asyncio.to_thread(chart_png, lang, png_input)
        await chat.send_photo(png, caption=caption)
    await reply(update, details, rows)


# ---------------------------------------------------------------------------- /diagnose


def quiz_question(lang: str, number: int, *, resuming: bool) -> tuple[str, Keyboard]:
    question = QUIZ[number - 1]
    text = render(
        "diagnose/question",
        lang,
        question=question.id,
        number=number,
        total=len(QUIZ),
        resuming=resuming,
    )
    rows = [
        [
            (
                label("buttons/coach_quiz_option", lang, question=question.id, option=option),
                cb.pack(QUIZ_FEATURE, question.id, option),
            )
        ]
        for option in question.options
    ]
    return text, rows


def _answers(data: dict[str, Any]) -> dict[str, str]:
    raw = data.get("answers")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def on_typed_text(turn: Turn, dialog: Dialog) -> tuple[str, Keyboard]:
    """Text typed during the quiz: the open question again, since its answers are taps."""
    question = coaching.next_quiz_question(_answers(dialog.data)) or QUIZ[0]
    return quiz_question(turn.lang, QUIZ.index(question) + 1, resuming=True)


async def cmd_diagnose(update: Update, context: BotContext) -> None:
    """A one-tap quiz to tell which slowdown is yours; a quiz left halfway picks up again."""
    async with user_turn(update, context) as turn:
        dialog = await users.get_dialog(turn.session, turn.user)
        answers = _answers(dialog.data) if dialog and dialog.name == DialogName.DIAGNOSE else {}
        question = coaching.next_quiz_question(answers)
        if question is None:  # a finished quiz left open: start over
            answers, question = {}, QUIZ[0]
        await users.set_dialog(
            turn.session,
            turn.user,
            DialogName.DIAGNOSE,
            question.id,
            turn.now,
            data={"answers": answers},
        )
        text, rows = quiz_question(turn.lang, QUIZ.index(question) + 1, resuming=bool(answers))
    await reply(update, text, rows)


async def on_quiz_button(update: Update, context: BotContext) -> None:
    """One quiz answer: stored in the dialog row, then the next question or the result."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    toast: str | None = None
    text: str | None = None
    rows: Keyboard = []
    async with user_turn(update, context) as turn:
        dialog = await users.get_dialog(turn.session, turn.user)
        if (
            parsed is None
            or dialog is None
            or dialog.name != DialogName.DIAGNOSE
            or dialog.step != parsed.action
            or not coaching.is_valid_quiz_answer(parsed.action, parsed.arg)
        ):
            toast = label("buttons/stale_question", turn.lang)
        else:
            answers = {**_answers(dialog.data), parsed.action: parsed.arg}
            question = coaching.next_quiz_question(answers)
            if question is not None:
                await users.set_dialog(
                    turn.session,
                    turn.user,
                    DialogName.DIAGNOSE,
                    question.id,
                    turn.now,
                    data={"answers": answers},
                )
                text, rows = quiz_question(turn.lang, QUIZ.index(question) + 1, resuming=False)
            else:
                await users.clear_dialog(turn.session, turn.user)
                text, rows = await _quiz_result(turn, answers)
    await query.answer(toast)
    if text is not None:
        await edit_or_reply(update, text, rows)
    else:
        await drop_keyboard(update)


async def _quiz_result(turn: Turn, answers: dict[str, str]) -> tuple[str, Keyboard]:
    result = coaching.score_quiz(answers)
    refreshed = await history.refresh(turn.session, turn.user, turn.now)
    await history.store(
        turn.session,
        turn.user.id,
        refreshed.today,
        history.QUIZ,
        result.verdict,
        result.confidence,
        {
            "answers": answers,
            "scores": dict(result.scores),
            "runner_up": result.runner_up.value if result.runner_up else None,
            "data_verdict": refreshed.assessment.verdict.value,
        },
        turn.now,
    )
    text = render(
        "diagnose/result",
        turn.lang,
        quiz=result,
        **evidence_values(turn.lang, refreshed.assessment),
    )
    return text, remedy_rows(turn.lang, result.verdict, refreshed.assessment.verdict)


# ---------------------------------------------------------------------------- remedy buttons


def _entry_point(module_name: str, function_name: str) -> Entry | None:
    """The other feature's command, imported only when a button asks for it."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        logger.warning("remedy %s.%s is not available", module_name, function_name)
        return None
    entry = getattr(module, function_name, None)
    return cast(Entry, entry) if callable(entry) else None


async def on_remedy(update: Update, context: BotContext) -> None:
    """A coaching button: starts the remedy's own flow (/plan, /quotes or /goal)."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    verdict = parsed.arg if parsed is not None and parsed.action == "remedy" else ""
    if verdict not in REMEDIES:
        await query.answer()
        return
    module_name, function_name, answers_itself = REMEDIES[verdict]
    entry = _entry_point(module_name, function_name)
    if entry is None:
        await query.answer()
        async with user_turn(update, context) as turn:
            text = render("coaching/remedy_steps", turn.lang, verdict=verdict)
        await reply(update, text)
        return
    if not answers_itself:
        await query.answer()
    await entry(update, context)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["diagnose", "diagnostic"], cmd_diagnose),
        CommandHandler(["stats", "bilan"], cmd_stats),
        CallbackQueryHandler(on_quiz_button, pattern=cb.pattern(QUIZ_FEATURE)),
        CallbackQueryHandler(on_remedy, pattern=cb.pattern(FEATURE)),
    ]
