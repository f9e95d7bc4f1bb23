"""/log (activity outside check-ins), /pause and /resume."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import Dialog, DialogName, Quote
from bot.i18n import label, render
from bot.services import checkins, dialogs, edits, quotes
from bot.services.activity_input import ActivityInputError, ActivityKind, parse_log
from bot.services.checkins import MAX_PAUSE_DAYS, PAUSE_CHOICES
from bot.services.dialogs import GUIDED_TTL
from bot.services.preferences import zone
from bot.services.quote_input import QuoteInputError
from handlers import callback_data as cb
from handlers import goals
from handlers.common import Keyboard, Turn, edit_or_reply, reply, user_turn

FEATURE = "log"


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
            entries, quote = await _entries_and_quote(turn, text_in)
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
            on_quote = None
            if quote is not None and any(k == ActivityKind.FOLLOW_UPS for k, _ in entries):
                await quotes.note_follow_up(quote, turn.user, turn.now)  # the follow-up's quote
                on_quote = quote
            text = render(
                "activity/logged", turn.lang, entries=entries, totals=totals, quote=on_quote
            )
            text += await goals.progress_note(turn)  # the weekly goal, celebrated once reached
    await reply(update, text)


async def _entries_and_quote(
    turn: Turn, text_in: str
) -> tuple[list[tuple[ActivityKind, int]], Quote | None]:
    """The /log entries, and the quote a follow-up is on: the one named after the entries
    ("1 relance Dupont SARL"), else the only open quote. Raises ActivityInputError."""
    try:
        entries = parse_log(text_in)
    except ActivityInputError:
        named, rest = await quotes.named_in(turn.session, turn.user, text_in, turn.now)
        if named is None:
            raise
        entries = parse_log(rest)
        if not any(kind == ActivityKind.FOLLOW_UPS for kind, _ in entries):
            raise  # a client's name only belongs in a follow-up: the first error stands
        return entries, named
    if not any(kind == ActivityKind.FOLLOW_UPS for kind, _ in entries):
        return entries, None
    return entries, await quotes.only_open(turn.session, turn.user, turn.now)


async def on_log_button(update: Update, context: BotContext) -> None:
    """A one-tap "+1" from the /log menu."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    await query.answer()
    if parsed is not None and parsed.action == "pause":
        await _on_pause_button(update, context, parsed.arg)
        return
    if parsed is None or parsed.arg not in ActivityKind.__members__.values():
        return
    async with user_turn(update, context) as turn:
        entries = [(ActivityKind(parsed.arg), 1)]
        totals = await checkins.log_activity(turn.session, turn.user, entries, turn.now)
        text = render("activity/logged", turn.lang, entries=entries, totals=totals, quote=None)
        text += await goals.progress_note(turn)
    await edit_or_reply(update, text)


def _pause_rows(lang: str) -> Keyboard:
    return [
        [
            (label("buttons/pause_days", lang, days=days), cb.pack(FEATURE, "pause", days))
            for days in PAUSE_CHOICES
        ]
    ]


async def cmd_pause(update: Update, context: BotContext) -> None:
    """Stops check-ins: `/pause 2 weeks`, `/pause jusqu'au 5 janvier`; alone, asks how long."""
    typed = " ".join(context.args or [])
    rows: Keyboard | None = None
    async with user_turn(update, context) as turn:
        if not typed.strip():
            await dialogs.begin(turn.session, turn.user, DialogName.PAUSE, "how_long", turn.now)
            text, rows = render("activity/pause_ask", turn.lang), _pause_rows(turn.lang)
        else:
            text = await _pause_for(turn, typed)
    await reply(update, text, rows)


async def _pause_for(turn: Turn, typed: str) -> str:
    """Pause for what was typed, or say how to write it (nothing changes)."""
    today = checkins.local_today(turn.user, turn.now)
    try:
        last_day = checkins.pause_end(typed, today)
    except QuoteInputError:
        return render("activity/pause_invalid", turn.lang, max_days=MAX_PAUSE_DAYS)
    return await _paused_text(turn, last_day)


async def _paused_text(turn: Turn, last_day: date) -> str:
    dialog = await dialogs.current(turn.session, turn.user)
    if dialog is not None and dialog.name == DialogName.PAUSE:
        await dialogs.close(turn.session, turn.user)
    resume_on = await checkins.pause_through(turn.session, turn.user, last_day, turn.now)
    return render("activity/paused", turn.lang, until=last_day, resume_on=resume_on)


def waits_for_pause(dialog: Dialog | None, now: datetime) -> bool:
    """A bare /pause asked how long, recently enough for typed text to answer it."""
    return (
        dialog is not None
        and dialog.name == DialogName.PAUSE
        and now - dialog.updated_at <= GUIDED_TTL
    )


async def on_typed_pause(turn: Turn, text: str) -> tuple[str, Keyboard | None]:
    """How long, typed after a bare /pause; unreadable input asks again."""
    today = checkins.local_today(turn.user, turn.now)
    try:
        last_day = checkins.pause_end(text, today)
    except QuoteInputError:
        invalid = render("activity/pause_invalid", turn.lang, max_days=MAX_PAUSE_DAYS)
        return invalid, _pause_rows(turn.lang)
    return await _paused_text(turn, last_day), None


async def _on_pause_button(update: Update, context: BotContext, arg: str) -> None:
    if not arg.isdecimal() or int(arg) not in PAUSE_CHOICES:
        return
    async with user_turn(update, context) as turn:
        today = checkins.local_today(turn.user, turn.now)
        text = await _paused_text(turn, today + timedelta(days=int(arg) - 1))
    await edit_or_reply(update, text)


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
