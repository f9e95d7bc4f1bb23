"""/goal: a weekly target of new contacts and a reward, typed or guided, and its progress line."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import Dialog
from bot.i18n import label, render
from bot.services import dialogs, goals
from bot.services.goals import GoalInputError, GoalStep
from handlers import callback_data as cb
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

FEATURE = "goal"
STOP_WORDS = {"stop", "off", "arret", "arrêt", "arreter", "arrêter", "stopper"}


def _cancel(lang: str) -> list[tuple[str, str]]:
    return [(label("buttons/goal_cancel", lang), cb.pack(FEATURE, "cancel"))]


def invalid(lang: str, code: str) -> str:
    return render(
        "goal/invalid", lang, code=code, max_target=goals.MAX_TARGET, max_reward=goals.MAX_REWARD
    )


def ask_target(lang: str) -> tuple[str, Keyboard]:
    targets = [
        (label("buttons/goal_target", lang, n=n), cb.pack(FEATURE, "t", n))
        for n in goals.TARGET_CHOICES
    ]
    return render("goal/ask_target", lang), [targets[:2], targets[2:], _cancel(lang)]


def ask_reward(lang: str, target: int) -> tuple[str, Keyboard]:
    return render("goal/ask_reward", lang, target=target), [_cancel(lang)]


async def overview(turn: Turn) -> tuple[str, Keyboard]:
    """The goal and this week's progress with Change / Stop, or the first guided question."""
    progress = await goals.progress(turn.session, turn.user, turn.now)
    if progress is None:
        await goals.begin_guided(turn.session, turn.user, turn.now)
        return ask_target(turn.lang)
    rows: list[list[tuple[str, str]]] = []
    if progress.reached and progress.next_target > progress.target:
        rows.append(
            [
                (
                    label("buttons/goal_raise", turn.lang, n=progress.next_target),
                    cb.pack(FEATURE, "raise", progress.next_target),
                )
            ]
        )
    rows.append(
        [
            (label("buttons/goal_change", turn.lang), cb.pack(FEATURE, "change")),
            (label("buttons/goal_stop", turn.lang), cb.pack(FEATURE, "stop")),
        ]
    )
    return render("goal/overview", turn.lang, goal=progress), rows


async def _set(turn: Turn, target: int, reward: str) -> str:
    await goals.set_goal(turn.session, turn.user, target, reward, turn.now)
    progress = await goals.progress(turn.session, turn.user, turn.now)
    return render("goal/saved", turn.lang, goal=progress)


async def progress_note(turn: Turn, *, day: date | None = None) -> str:
    """The goal line for a reply about new contacts ("" without a goal), celebrating once a week.

    Starts with a blank line so callers can append it to their text.
    """
    progress = await goals.celebrate(turn.session, turn.user, turn.now, day=day)
    if progress is None:
        return ""
    return "\n\n" + render("goal/progress", turn.lang, goal=progress)


async def cmd_goal(update: Update, context: BotContext) -> None:
    """Shows the goal (or asks for one); `/goal 10 dinner out` sets it in one line.

    Also called by other features' buttons: `context.args` may be None, nothing is answered.
    """
    typed = " ".join(context.args or []).strip()
    rows: Keyboard = []
    async with user_turn(update, context) as turn:
        if not typed:
            text, rows = await overview(turn)
        elif typed.lower() in STOP_WORDS:
            stopped = await goals.stop(turn.session, turn.user)
            text = render("goal/stopped", turn.lang) if stopped else invalid(turn.lang, "none")
        else:
            try:
                target, reward = goals.parse_goal(typed)
            except GoalInputError as error:
                text = invalid(turn.lang, error.code)
            else:
                if reward is None:
                    await goals.choose_target(turn.session, turn.user, target, turn.now)
                    text, rows = ask_reward(turn.lang, target)
                else:
                    text = await _set(turn, target, reward)
    await reply(update, text, rows)


async def on_typed_answer(turn: Turn, dialog: Dialog, typed: str) -> tuple[str, Keyboard]:
    """A typed answer in the guided /goal; bad input is re-asked with an example."""
    typed = typed[: goals.MAX_INPUT_LENGTH + 1]
    try:
        if dialog.step == GoalStep.REWARD:
            target = goals.pending_target(dialog)
            if target is None:
                raise GoalInputError("not_a_number")
            return await _set(turn, target, goals.parse_reward(typed)), []
        target, reward = goals.parse_goal(typed)
        if reward is None:
            await goals.choose_target(turn.session, turn.user, target, turn.now)
            return ask_reward(turn.lang, target)
        return await _set(turn, target, reward), []
    except GoalInputError as error:
        if dialog.step == GoalStep.REWARD:
            again, rows = ask_reward(turn.lang, goals.pending_target(dialog) or 0)
        else:
            again, rows = ask_target(turn.lang)
        return invalid(turn.lang, error.code) + "\n\n" + again, rows


async def on_goal_button(update: Update, context: BotContext) -> None:
    """Target buttons, Change, Stop, Raise and Cancel."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    toast: str | None = None
    text: str | None = None
    rows: Keyboard = []
    async with user_turn(update, context) as turn:
        stale = label("buttons/stale_question", turn.lang)
        dialog = await goals.open_dialog(turn.session, turn.user)
        action = parsed.action if parsed else ""
        if action == "t" and dialog is not None and dialog.step == GoalStep.TARGET:
            assert parsed is not None
            target = int(parsed.arg) if parsed.arg.isdecimal() else 0
            if target in goals.TARGET_CHOICES:
                await goals.choose_target(turn.session, turn.user, target, turn.now)
                text, rows = ask_reward(turn.lang, target)
            else:
                toast = stale
        elif action == "change":
            await goals.begin_guided(turn.session, turn.user, turn.now)
            text, rows = ask_target(turn.lang)
        elif action == "stop" and await goals.stop(turn.session, turn.user):
            text = render("goal/stopped", turn.lang)
        elif action == "raise" and parsed is not None and parsed.arg.isdecimal():
            current = await goals.current(turn.session, turn.user)
            target = int(parsed.arg)
            if current is None or target != goals.suggest_next(current.weekly_contacts):
                toast = stale
            else:
                text = await _set(turn, target, current.reward)
        elif action == "cancel" and dialog is not None:
            await dialogs.close(turn.session, turn.user)
            text = render("goal/cancelled", turn.lang)
        else:
            toast = stale
    await query.answer(toast)
    if text is not None:
        await edit_or_reply(update, text, rows)
    else:
        await drop_keyboard(update)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["goal", "objectif"], cmd_goal),
        CallbackQueryHandler(on_goal_button, pattern=cb.pattern(FEATURE)),
    ]
