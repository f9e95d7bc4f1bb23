"""/checkin and the daily check-in questions, tapped or typed."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import CheckIn, OutboxMessage, User
from bot.delivery.outgoing import Outgoing
from bot.i18n import label, render
from bot.services import accounts, checkin_extras, checkins, goals, typed_answers
from bot.services.activity_input import ActivityInputError, parse_count
from bot.services.checkins import COUNT_BUTTONS, MORE, BlockAnswer, Outcome, Reason, Step
from bot.services.preferences import zone
from handlers import callback_data as cb
from handlers import coaching as coach
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

logger = logging.getLogger(__name__)

FEATURE = "ci"


def question(
    lang: str,
    checkin: CheckIn,
    today: date,
    recorded: dict[str, int] | None = None,
    *,
    exact: bool = False,
) -> tuple[str, Keyboard]:
    """The open question of a check-in, naming the day when it is not today.

    `recorded`: what the day already has from quotes and /log (shown, so only "more" is asked);
    `exact`: "5+" was tapped, the number is typed."""
    step = Step(checkin.step)
    day = checkin.local_date
    text = render(
        f"checkin/ask_{step}",
        lang,
        day=day if day != today else None,
        recorded=(recorded or {}).get(str(step), 0),
    )

    def button(text: str, value: str | int) -> tuple[str, str]:
        return text, cb.pack(FEATURE, step, f"{day.isoformat()}|{value}")

    later = [(label("buttons/later", lang), cb.pack(FEATURE, "later", day.isoformat()))]
    if step in checkins.NUMERIC_STEPS:
        if exact:
            return text + "\n" + render("checkin/ask_exact", lang), [later]
        counts = [button(str(value), value) for value in COUNT_BUTTONS]
        return text, [[*counts, button(label("buttons/count_more", lang), MORE)], later]
    if step == Step.BLOCK:
        return text, [[button(label(f"buttons/block_{a}", lang), a)] for a in BlockAnswer] + [later]
    if step == Step.REASON:
        return text, [[button(label(f"buttons/reason_{r}", lang), r)] for r in Reason]
    return text, []


async def ask(
    session: AsyncSession, user: User, checkin: CheckIn, today: date, *, exact: bool = False
) -> tuple[str, Keyboard]:
    """The open question with what is already recorded for its day."""
    recorded = await checkins.recorded(session, user, checkin.local_date)
    return question(user.language, checkin, today, recorded, exact=exact)


def summary_rows(lang: str, checkin: CheckIn, today: date) -> Keyboard:
    """"✏️ Correct" under today's summary (an older day's check-in is history)."""
    if checkin.local_date != today:
        return []
    return [[(label("buttons/checkin_correct", lang), cb.pack(FEATURE, "fix", today.isoformat()))]]


async def summary_text(session: AsyncSession, user: User, checkin: CheckIn, now: datetime) -> str:
    data = await checkins.summary(session, user, checkin.local_date, now)
    # The weekly goal's progress bar, and its celebration the first time the target is reached.
    goal = await goals.celebrate(session, user, now, day=checkin.local_date)
    return render(
        "checkin/summary",
        user.language,
        summary=data,
        today=checkins.local_today(user, now),
        next_day=_next_day_named(user, checkins.local_today(user, now)),
        goal=goal,
    )


def _next_day_named(user: User, today: date) -> date | None:
    """The next check-in day when "tomorrow" would be wrong (None: tomorrow, or no next day)."""
    found = checkins.next_checkin_day(user, today)
    return found if found is not None and (found - today).days > 1 else None


async def cmd_checkin(update: Update, context: BotContext) -> None:
    """Starts today's check-in now (or picks up the one in progress)."""
    async with user_turn(update, context) as turn:
        checkin = await checkins.start_now(turn.session, turn.user, turn.now)
        today = checkins.local_today(turn.user, turn.now)
        rows: Keyboard
        if checkin.completed_at is not None:
            text = (
                render("checkin/already_done", turn.lang)
                + "\n\n"
                + await summary_text(turn.session, turn.user, checkin, turn.now)
            )
            rows = summary_rows(turn.lang, checkin, today)
        else:
            text, rows = await ask(turn.session, turn.user, checkin, today)
        previous_message = checkin.message_id
    sent = await reply(update, text, rows)
    if sent is not None and rows and checkin.completed_at is None:
        await _remember_message(
            update, context, checkin.local_date, sent.message_id, previous_message
        )


async def on_checkin_button(update: Update, context: BotContext) -> None:
    """A tapped answer: stored once, then the next question replaces the message."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    toast: str | None = None
    text: str | None = None
    rows: Keyboard = []
    async with user_turn(update, context) as turn:
        try:
            assert parsed is not None
            if parsed.action == "later":
                due = await checkins.ask_later(
                    turn.session, turn.user, date.fromisoformat(parsed.arg), turn.now
                )
                local = due.astimezone(zone(turn.user.timezone)).time() if due else None
                toast = (
                    label("buttons/later_ok", turn.lang, at=local)
                    if local
                    else label("buttons/stale_question", turn.lang)
                )
                text = render("checkin/later", turn.lang, at=local) if local else None
                if local is not None:
                    # The question leaves this message: nothing to take off it later.
                    snoozed = await checkins.of_day(
                        turn.session, turn.user.id, date.fromisoformat(parsed.arg)
                    )
                    if snoozed is not None:
                        snoozed.message_id = None
            elif parsed.action == "fix":
                pressed = query.message.message_id if query.message is not None else None
                text, rows = await _correct(turn, date.fromisoformat(parsed.arg), pressed)
                if text is None:
                    toast = label("buttons/stale_question", turn.lang)
            elif parsed.arg.endswith(f"|{MORE}"):
                text, rows = await _exact_prompt(turn, date.fromisoformat(parsed.arg[:10]), parsed)
                if text is None:
                    toast = label("buttons/stale_question", turn.lang)
            else:
                day_text, value_text = parsed.arg.split("|", 1)
                step = Step(parsed.action)
                value: int | str = int(value_text) if step in checkins.NUMERIC_STEPS else value_text
                result = await checkins.answer(
                    turn.session, turn.user, date.fromisoformat(day_text), step, value, turn.now
                )
                if result.outcome != Outcome.STORED or result.checkin is None:
                    toast = label("buttons/stale_question", turn.lang)
                else:
                    text, rows = await _after_answer(turn, result.checkin)
        except (AssertionError, ValueError):
            toast = label("buttons/stale_question", turn.lang)
    await query.answer(toast)
    if text is not None:
        await edit_or_reply(update, text, rows)
    else:
        await drop_keyboard(update)


async def _correct(
    turn: Turn, day: date, message_id: int | None
) -> tuple[str | None, Keyboard]:
    """"✏️ Correct": today's answers are asked again from the first question, on that message."""
    if day != checkins.local_today(turn.user, turn.now):
        return None, []
    checkin = await checkins.correct(turn.session, turn.user, turn.now)
    if checkin is None:
        return None, []
    if message_id is not None:
        checkin.message_id = message_id  # the question now stands on the pressed message
    text, rows = await ask(turn.session, turn.user, checkin, day)
    return render("checkin/correcting", turn.lang) + "\n\n" + text, rows


async def _exact_prompt(
    turn: Turn, day: date, parsed: cb.Callback
) -> tuple[str | None, Keyboard]:
    """"5+": the same question, asking for the exact number to be typed; nothing is stored."""
    checkin = await checkins.of_day(turn.session, turn.user.id, day)
    if checkin is None or checkin.step != parsed.action or checkin.completed_at is not None:
        return None, []
    return await ask(
        turn.session, turn.user, checkin, checkins.local_today(turn.user, turn.now), exact=True
    )


async def on_typed_answer(turn: Turn, checkin: CheckIn, text: str) -> tuple[str, Keyboard]:
    """A typed answer to whichever question is open: a number, yes/no, a reason in words.

    Unreadable input is re-asked with an example and nothing is stored."""
    step = Step(checkin.step)
    today = checkins.local_today(turn.user, turn.now)
    value: int | str
    if step == Step.REASON_TEXT:
        value = text
    elif step == Step.BLOCK:
        found = typed_answers.block_answer(text)
        if found is None:
            again, rows = await ask(turn.session, turn.user, checkin, today)
            return render("checkin/invalid_choice", turn.lang, step=step) + "\n\n" + again, rows
        value = found
    elif step == Step.REASON:
        reason = typed_answers.reason(text)
        if reason is None:
            again, rows = await ask(turn.session, turn.user, checkin, today)
            return render("checkin/invalid_choice", turn.lang, step=step) + "\n\n" + again, rows
        result = await checkins.answer_typed_reason(
            turn.session, turn.user, checkin.local_date, reason[0], reason[1], turn.now
        )
        assert result.checkin is not None
        return await _after_answer(turn, result.checkin)
    else:
        try:
            value = parse_count(text)
        except ActivityInputError as error:
            again, rows = await ask(turn.session, turn.user, checkin, today)
            return render(
                "checkin/invalid_count", turn.lang, code=error.code
            ) + "\n\n" + again, rows
    result = await checkins.answer(
        turn.session, turn.user, checkin.local_date, step, value, turn.now
    )
    assert result.checkin is not None
    return await _after_answer(turn, result.checkin)


async def _after_answer(turn: Turn, checkin: CheckIn) -> tuple[str, Keyboard]:
    today = checkins.local_today(turn.user, turn.now)
    if checkin.step == Step.DONE:
        await coach.after_checkin(turn)  # recompute the verdict; news becomes a coaching nudge
        text = await summary_text(turn.session, turn.user, checkin, turn.now)
        return text, summary_rows(turn.lang, checkin, today)
    return await ask(turn.session, turn.user, checkin, today)


async def _remember_message(
    update: Update, context: BotContext, day: date, message_id: int, previous: int | None
) -> None:
    """Keep the newest question's message id and take the buttons off the one it replaces."""
    assert update.effective_user is not None
    async with context.bot_data.sessions.begin() as session:
        user = await accounts.find(session, update.effective_user.id)
        if user is None:
            return
        checkin = await checkins.of_day(session, user.id, day)
        if checkin is not None:
            checkin.message_id = message_id
    if previous and previous != message_id and update.effective_chat is not None:
        try:
            await context.bot.edit_message_reply_markup(
                update.effective_chat.id, previous, reply_markup=None
            )
        except BadRequest as exc:
            logger.info("old check-in keyboard not removed: %s", exc)


async def compose_scheduled(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """The daily check-in, when it is due and still makes sense."""
    checkin = await checkins.begin_scheduled(session, user, row, now)
    if checkin is None:
        return None
    intro = render("checkin/intro", user.language, name=user.first_name)
    extras = await checkin_extras.fold_into_checkin(session, user, row, now, checkin.local_date)
    if extras:
        blocks = [(b.start, b.end) for b in extras.blocks]
        more = render("checkin/extras", user.language, blocks=blocks, reminders=extras.reminders)
        intro = f"{intro}\n\n{more}"
    text, rows = await ask(session, user, checkin, checkin.local_date)
    return Outgoing(f"{intro}\n\n{text}", rows)


async def compose_follow_up(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """One gentle reminder of an unanswered check-in (or the question asked again after "later")."""
    checkin = await checkins.pending_follow_up(session, user, row, now)
    if checkin is None:
        return None
    intro = render("checkin/follow_up", user.language)
    text, rows = await ask(session, user, checkin, checkins.local_today(user, now))
    return Outgoing(f"{intro}\n\n{text}", rows)


async def after_scheduled_sent(
    session: AsyncSession, row: OutboxMessage, user: User, message_id: int, now: datetime
) -> None:
    checkin = await checkins.of_day(session, user.id, date.fromisoformat(row.payload["date"]))
    if checkin is None:
        return
    if row.kind == checkins.CHECKIN_KIND:
        await checkins.after_asked(session, user, checkin, message_id, now)
    else:
        checkin.message_id = message_id


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["checkin", "point"], cmd_checkin),
        CallbackQueryHandler(on_checkin_button, pattern=cb.pattern(FEATURE)),
    ]
