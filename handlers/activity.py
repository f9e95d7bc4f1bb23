"""/log (activity outside check-ins), /pause and /resume."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import label, render
from bot.services import checkins, edits
from bot.services.activity_input import ActivityInputError, ActivityKind, parse_log
from bot.services.preferences import zone
from handlers import callback_data as cb
from handlers import goals
from handlers.common import edit_or_reply, reply, user_turn

FEATURE = "log"
MAX_PAUSE_DAYS = 365
DEFAULT_PAUSE_DAYS = 7


async def cmd_log(update: Update, context: BotContext) -> None:
    """Records activity: `/log 3 calls`, `/log 2 rdv`; alone, offers one-tap buttons."""
    text_in = " ".join(context.args or [])
    async with user_turn(update, context) as turn:
        if not text_in.strip():
            rows = [
                [(label(f"buttons/log_{kind}", turn.lang), cb.pack(FEATURE, "add", kind))]
                for kind in ActivityKind
            ]
            text = render("activity/log_menu", turn.lang)
            await reply(update, text, rows)
            return
        try:
            entries = parse_log(text_in)
        except ActivityInputError as error:
            text = render("activity/log_invalid", turn.lang, code=error.code, word=error.word)
        else:
            message = update.effective_message
            totals = await edits.record_log(
                turn.session,
                turn.user,
                entries,
                turn.now,
                message_id=message.message_id if message is not None else None,
            )
            text = render("activity/logged", turn.lang, entries=entries, totals=totals)
            text += await goals.progress_note(turn)  # the weekly goal, celebrated once reached
    await reply(update, text)


async def on_log_button(update: Update, context: BotContext) -> None:
    """A one-tap "+1" from the /log menu."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    await query.answer()
    if parsed is None or parsed.arg not in ActivityKind.__members__.values():
        return
    async with user_turn(update, context) as turn:
        entries = [(ActivityKind(parsed.arg), 1)]
        totals = await checkins.log_activity(turn.session, turn.user, entries, turn.now)
        text = render("activity/logged", turn.lang, entries=entries, totals=totals)
        text += await goals.progress_note(turn)
    await edit_or_reply(update, text)


async def cmd_pause(update: Update, context: BotContext) -> None:
    """Stops check-ins for a few days (a week by default): `/pause 14`."""
    args = context.args or []
    async with user_turn(update, context) as turn:
        days = DEFAULT_PAUSE_DAYS
        if args:
            raw = args[0]
            if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAUSE_DAYS or len(args) > 1:
                await reply(
                    update, render("activity/pause_invalid", turn.lang, max_days=MAX_PAUSE_DAYS)
                )
                return
            days = int(raw)
        until = await checkins.pause(turn.session, turn.user, days, turn.now)
        text = render("activity/paused", turn.lang, until=until, days=days)
    await reply(update, text)


async def cmd_resume(update: Update, context: BotContext) -> None:
    """Restarts check-ins from the next check-in time."""
    async with user_turn(update, context) as turn:
        was_paused = turn.user.paused_until is not None
        next_at = await checkins.resume(turn.session, turn.user, turn.now)
        local = next_at.astimezone(zone(turn.user.timezone)) if next_at else None
        text = render("activity/resumed", turn.lang, was_paused=was_paused, next_checkin=local)
    await reply(update, text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["log", "noter"], cmd_log),
        CommandHandler("pause", cmd_pause),
        CommandHandler(["resume", "reprendre"], cmd_resume),
        CallbackQueryHandler(on_log_button, pattern=cb.pattern(FEATURE)),
    ]
