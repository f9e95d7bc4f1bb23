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
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import Dialog, DialogName, OutboxMessage, User
from bot.delivery.outgoing import Outgoing
from bot.i18n import BABEL_LOCALES, label, render
from bot.services import charts, coaching, dialogs, history, quiet_day, reports
from bot.services.coaching import (
    PACE_CHOICES,
    QUIZ,
    REASON_TYPES,
    SEPARATING_OPTIONS,
    SEPARATING_QUESTION,
    Assessment,
    History,
    NextStep,
    Verdict,
)
from bot.services.forecast import Forecast, forecast
from handlers import callback_data as cb
from handlers import goals, planning, quotes
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

logger = logging.getLogger(__name__)

FEATURE = "coach"  # coach:remedy:<verdict>, coach:ask:<option>, coach:pace:<n>, coach:quiz:
QUIZ_FEATURE = "diag"  # diag:<question>:<option>
NUDGE_KIND = history.NUDGE_KIND
REVIEW_LATE_LIMIT = timedelta(hours=12)
MAX_SIGNALS_SHOWN = 3

Entry = Callable[[Update, BotContext], Awaitable[None]]

# verdict -> (module, entry point, whether it answers the button press itself)
# Each type's remedy button opens that remedy's own command; True: it answers the press itself.
REMEDIES: dict[str, tuple[Entry, bool]] = {
    Verdict.UNAWARE: (planning.cmd_plan, False),
    Verdict.INTENTIONAL: (quotes.cmd_quotes, True),
    Verdict.COMFORTABLE: (goals.cmd_goal, False),
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


def step_rows(lang: str, steps: list[NextStep]) -> Keyboard:
    """One button per next step, labelled for what the owner already has."""
    return [
        [(label("buttons/coach_step", lang, code=s.code), cb.pack(FEATURE, "remedy", s.verdict))]
        for s in steps
        if s.verdict in REMEDIES
    ]


def ask_rows(lang: str, assessment: Assessment) -> Keyboard:
    """The separating question's answers for the two candidates (from the /diagnose bank)."""
    return [
        [
            (
                label(
                    "buttons/coach_quiz_option",
                    lang,
                    question=SEPARATING_QUESTION,
                    option=SEPARATING_OPTIONS[v],
                ),
                cb.pack(FEATURE, "ask", SEPARATING_OPTIONS[v]),
            )
        ]
        for v in assessment.evidence.candidates
        if v in SEPARATING_OPTIONS
    ]


def pace_rows(lang: str, *, quiz: bool = True) -> Keyboard:
    """The usual-week choices (one tap), and the quiz."""
    rows = [
        [
            (label("buttons/coach_pace_option", lang, weekly=n), cb.pack(FEATURE, "pace", n))
            for n in PACE_CHOICES
        ]
    ]
    if quiz:
        rows.append([(label("buttons/coach_quiz_start", lang), cb.pack(FEATURE, "quiz"))])
    return rows


def coaching_rows(lang: str, assessment: Assessment, history: History) -> Keyboard:
    """Under a verdict: the separating question when unsure, else the next steps."""
    if assessment.evidence.uncertain:
        return ask_rows(lang, assessment)
    return step_rows(lang, coaching.next_steps(assessment, history))


def evidence_values(lang: str, assessment: Assessment, history: History) -> dict[str, Any]:
    """What the evidence templates read: the assessment, its strongest signals, the reasons,
    and the next steps adapted to what the owner already has."""
    return {
        "a": assessment,
        "signals": coaching.signals_text_order(assessment.evidence.signals)[:MAX_SIGNALS_SHOWN],
        "said": {reason: label(f"buttons/reason_{reason}", lang) for reason in REASON_TYPES},
        "steps": coaching.next_steps(assessment, history),
    }


def nudge_text(user: User, assessment: Assessment, outlook: Forecast | None, data: History) -> str:
    return render(
        "coaching/nudge",
        user.language,
        name=user.first_name,
        forecast=outlook,
        **evidence_values(user.language, assessment, data),
    )


def review_texts(
    lang: str,
    review: reports.Review,
    assessment: Assessment,
    outlook: Forecast | None,
    *,
    weekly: bool,
    data: History,
    changes: list[tuple[date, str]] | None = None,
) -> tuple[str, str]:
    """The chart's caption and the review's details (with what changed since a remedy)."""
    caption = render("stats/caption", lang, review=review, weekly=weekly)
    details = render(
        "stats/review",
        lang,
        review=review,
        forecast=outlook,
        weekly=weekly,
        effects=coaching.remedy_effects(data, assessment.on_date),
        changes=changes or [],
        **evidence_values(lang, assessment, data),
    )
    return caption, details


async def verdict_changes(session: AsyncSession, user: User, today: date) -> list[tuple[date, str]]:
    """The data verdicts of the last 12 weeks, one entry each time it changed (at most 6)."""
    rows = await history.verdicts_since(
        session, user.id, history.DATA, today - timedelta(weeks=12)
    )
    changes: list[tuple[date, str]] = []
    for row in rows:
        if not changes or changes[-1][1] != row.verdict:
            changes.append((row.on_date, row.verdict))
    return changes[-6:] if len(changes) > 1 else []


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
    await history.plan_nudge(turn.session, turn.user, refreshed, turn.now)


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
    text = nudge_text(user, assessment, forecast(data, today), data)
    return Outgoing(text, coaching_rows(user.language, assessment, data))


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
    caption, _ = review_texts(
        user.language, review, assessment, outlook, weekly=True, data=refreshed.history
    )
    # Drawn by the dispatcher after this transaction ends: no lock is held while it renders.
    return Outgoing(caption, render_photo=partial(chart_png, user.language, review))


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
    _, details = review_texts(user.language, review, assessment, outlook, weekly=True, data=data)
    return Outgoing(details, coaching_rows(user.language, assessment, data))


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
            changes = await verdict_changes(turn.session, turn.user, refreshed.today)
            caption, details = review_texts(
                turn.lang,
                review,
                refreshed.assessment,
                outlook,
                weekly=False,
                data=refreshed.history,
                changes=changes,
            )
            rows = coaching_rows(turn.lang, refreshed.assessment, refreshed.history)
            if (
                refreshed.assessment.verdict == Verdict.NOT_ENOUGH_DATA
                and refreshed.history.usual_weekly is None
            ):
                rows = pace_rows(turn.lang, quiz=False)
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
        dialog = await dialogs.current(turn.session, turn.user)
        answers = _answers(dialog.data) if dialog and dialog.name == DialogName.DIAGNOSE else {}
        question = coaching.next_quiz_question(answers)
        if question is None:  # a finished quiz left open: start over
            answers, question = {}, QUIZ[0]
        await dialogs.begin(
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
        dialog = await dialogs.current(turn.session, turn.user)
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
                await dialogs.begin(
                    turn.session,
                    turn.user,
                    DialogName.DIAGNOSE,
                    question.id,
                    turn.now,
                    data={"answers": answers},
                )
                text, rows = quiz_question(turn.lang, QUIZ.index(question) + 1, resuming=False)
            else:
                await dialogs.close(turn.session, turn.user)
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
    # the quiz now counts in the data verdict (History.quiz): read it again with the answer
    data = await history.load(turn.session, turn.user.id, refreshed.today)
    assessment = coaching.diagnose(data, refreshed.today)
    verdicts = [v for v in (result.verdict, assessment.verdict) if v in coaching.SLOWDOWN_TYPES]
    steps = [
        step
        for v in dict.fromkeys(verdicts)
        if (step := coaching.next_step(v, data, refreshed.today)) is not None
    ]
    values = {**evidence_values(turn.lang, assessment, data), "steps": steps}
    text = render("diagnose/result", turn.lang, quiz=result, **values)
    return text, step_rows(turn.lang, steps)


# ---------------------------------------------------------------------------- remedy buttons


async def on_remedy(update: Update, context: BotContext) -> None:
    """A coaching button: starts the remedy's own flow (/plan, /quotes or /goal); the other
    coaching buttons (the separating question, the usual week, the quiz) are routed from here."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    if parsed is not None and parsed.action == "ask":
        await on_separating_answer(update, context, parsed.arg)
        return
    if parsed is not None and parsed.action == "pace":
        await on_usual_pace(update, context, parsed.arg)
        return
    if parsed is not None and parsed.action == "quiz":
        await query.answer()
        await cmd_diagnose(update, context)
        return
    verdict = parsed.arg if parsed is not None and parsed.action == "remedy" else ""
    if verdict not in REMEDIES:
        await query.answer()
        return
    entry, answers_itself = REMEDIES[verdict]
    if not answers_itself:
        await query.answer()
    await entry(update, context)


async def on_separating_answer(update: Update, context: BotContext, option: str) -> None:
    """The one question asked when the data hesitate: kept as a quiz answer, then the verdict
    is read again with it (rule 5 of bot/services/coaching.py)."""
    query = update.callback_query
    assert query is not None
    picked = {o: v for v, o in SEPARATING_OPTIONS.items()}.get(option)
    text: str | None = None
    rows: Keyboard = []
    async with user_turn(update, context) as turn:
        if picked is not None:
            today = history.today_of(turn.user, turn.now)
            await history.store(
                turn.session,
                turn.user.id,
                today,
                history.QUIZ,
                picked,
                0.6,
                {"answers": {SEPARATING_QUESTION: option}, "single": True},
                turn.now,
            )
            refreshed = await history.refresh(turn.session, turn.user, turn.now)
            data, assessment = refreshed.history, refreshed.assessment
            if assessment.is_slowdown:
                outlook = forecast(data, refreshed.today)
                text = nudge_text(turn.user, assessment, outlook, data)
                rows = coaching_rows(turn.lang, assessment, data)
    await query.answer()
    if text is not None:
        await edit_or_reply(update, text, rows)
    else:
        await drop_keyboard(update)


async def on_usual_pace(update: Update, context: BotContext, arg: str) -> None:
    """The usual week given after onboarding (or from /stats): the baseline until check-ins
    make one; the quiz is offered next."""
    query = update.callback_query
    assert query is not None
    weekly = int(arg) if arg.isdigit() and int(arg) in PACE_CHOICES else None
    async with user_turn(update, context) as turn:
        if weekly is not None:
            await history.set_usual_pace(turn.session, turn.user.id, weekly, turn.now)
        refreshed = await history.refresh(turn.session, turn.user, turn.now)
        text = render(
            "coaching/pace_saved",
            turn.lang,
            weekly=weekly,
            needed=refreshed.assessment.evidence.checkins_needed,
        )
        rows = [[(label("buttons/coach_quiz_start", turn.lang), cb.pack(FEATURE, "quiz"))]]
    await query.answer()
    await reply(update, text, rows)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["diagnose", "diagnostic"], cmd_diagnose),
        CommandHandler(["stats", "bilan"], cmd_stats),
        CallbackQueryHandler(on_quiz_button, pattern=cb.pattern(QUIZ_FEATURE)),
        CallbackQueryHandler(on_remedy, pattern=cb.pattern(FEATURE)),
    ]
