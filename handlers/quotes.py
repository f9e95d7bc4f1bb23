"""/quote (one line or guided), /quotes (the pipeline, paged, with buttons) and quote reminders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import Dialog, OutboxMessage, Quote, QuoteStatus, User
from bot.delivery.outgoing import Outgoing
from bot.i18n import label, render
from bot.services import edits, quotes, typed_answers
from bot.services.quote_input import (
    DEFAULT_VALIDITY_DAYS,
    QuoteDraft,
    QuoteInputError,
    parse_quote_line,
    parse_validity,
)
from bot.services.quotes import QuoteStep
from handlers import callback_data as cb
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

logger = logging.getLogger(__name__)

FEATURE = "quote"
REMINDER = "r"  # origin of a button: a reminder; "l<page>" is a page of /quotes


# ---------------------------------------------------------------------------------------------
# Views


def _button(
    name: str, lang: str, action: str, arg: str | int = "", **values: object
) -> tuple[str, str]:
    return label(f"buttons/quote_{name}", lang, **values), cb.pack(FEATURE, action, arg)


def _cancel_row(lang: str) -> list[tuple[str, str]]:
    return [_button("cancel", lang, "cancel")]


def _validity_rows(lang: str) -> Keyboard:
    return [
        [_button("days", lang, "valid", days, days=days) for days in quotes.VALIDITY_CHOICES],
        [_button("date", lang, "date"), *_cancel_row(lang)],
    ]


def _question(lang: str, step: QuoteStep, data: dict[str, object]) -> tuple[str, Keyboard]:
    """The guided question for a step, with its buttons."""
    if step == QuoteStep.CLIENT:
        return render("quotes/ask_client", lang), [_cancel_row(lang)]
    if step == QuoteStep.AMOUNT:
        return render("quotes/ask_amount", lang, client=data.get("client", "")), [_cancel_row(lang)]
    if step == QuoteStep.VALIDITY:
        return render("quotes/ask_validity", lang, client=data.get("client", "")), _validity_rows(
            lang
        )
    return render("quotes/ask_extend_typed", lang), [_cancel_row(lang)]


def _totals(lang: str, pipeline: quotes.Pipeline) -> str:
    return render("quotes/totals", lang, pipeline=pipeline)


async def _saved_text(turn: Turn, quote: Quote) -> tuple[str, Keyboard]:
    pipeline = await quotes.pipeline(turn.session, turn.user, turn.now)
    text = render("quotes/saved", turn.lang, quote=quote, today=pipeline.today)
    rows = [[_button("list", turn.lang, "page", 0)]]
    return f"{text}\n\n{_totals(turn.lang, pipeline)}", rows


def _invalid(lang: str, error: QuoteInputError, step: str) -> str:
    """What is wrong with the input, and an example of the right form for this step."""
    try:
        day: date | None = date.fromisoformat(error.details.get("date", ""))
    except ValueError:
        day = None
    return render(
        "quotes/invalid", lang, code=error.code, details=error.details, step=step, day=day
    )


async def list_view(
    turn: Turn, page_number: int, notice: str | None = None
) -> tuple[str, Keyboard]:
    """A page of open and expired quotes with their buttons, and the pipeline's totals."""
    pipeline = await quotes.pipeline(turn.session, turn.user, turn.now)
    page = quotes.page_of(pipeline.listed, page_number)
    lang = turn.lang
    parts = [notice] if notice else []
    if not page.quotes:
        parts.append(render("quotes/empty", lang))
    else:
        parts.append(
            render("quotes/list", lang, page=page, pipeline=pipeline, today=pipeline.today)
        )
    parts.append(_totals(lang, pipeline))
    origin = f"l{page.number}"
    rows: list[list[tuple[str, str]]] = []
    for n, quote in enumerate(page.quotes, start=page.first_index):
        arg = f"{quote.id}|{origin}"
        rows.append(
            [
                _button("followed", lang, "fu", arg, n=n),
                _button("signed", lang, "sign", arg, n=n),
                _button("lost", lang, "lost", arg, n=n),
                _button("extend", lang, "ext", arg, n=n),
                _button("delete", lang, "del", arg, n=n),
            ]
        )
    nav = []
    if page.number > 0:
        nav.append(_button("previous", lang, "page", page.number - 1))
    if page.number < page.count - 1:
        nav.append(_button("next", lang, "page", page.number + 1))
    if nav:
        rows.append(nav)
    if await quotes.recently_closed(turn.session, turn.user, turn.now):
        rows.append([_button("closed_list", lang, "closed")])
    return "\n\n".join(parts), rows


async def closed_view(turn: Turn) -> tuple[str, Keyboard]:
    """Quotes signed or lost lately, each with "↩️ Reopen" (a tap too fast is undone here)."""
    closed = await quotes.recently_closed(turn.session, turn.user, turn.now)
    rows: list[list[tuple[str, str]]] = [
        [_button("reopen", turn.lang, "reopen", f"{quote.id}|l0", n=n)]
        for n, quote in enumerate(closed, start=1)
    ]
    rows.append([_button("list", turn.lang, "page", 0)])
    return render("quotes/closed_list", turn.lang, quotes=closed), rows


def reminder_view(lang: str, quote: Quote, today: date) -> tuple[str, Keyboard]:
    """A reminder about one quote, with Signed / Lost / Extend."""
    text = render("quotes/reminder", lang, quote=quote, days_left=(quote.expires_on - today).days)
    arg = f"{quote.id}|{REMINDER}"
    rows = [
        [_button("followed", lang, "fu", arg, n=None)],
        [
            _button("signed", lang, "sign", arg, n=None),
            _button("lost", lang, "lost", arg, n=None),
            _button("extend", lang, "ext", arg, n=None),
        ],
    ]
    return text, rows


def _extend_question(lang: str, quote: Quote, today: date, origin: str) -> tuple[str, Keyboard]:
    arg = f"{quote.id}|{origin}"
    rows = [
        [
            _button("plus_days", lang, "extby", f"{quote.id}|{days}|{origin}", days=days)
            for days in quotes.EXTEND_CHOICES
        ],
        [_button("back", lang, "back", arg)],
    ]
    return render("quotes/ask_extend", lang, quote=quote, today=today), rows


# ---------------------------------------------------------------------------------------------
# Commands


async def cmd_quote(update: Update, context: BotContext) -> None:
    """Registers a quote: `/quote Dupont SARL 4 500 € 30j`; alone, asks client, amount, validity."""
    typed = _command_text(update, context)
    rows: Keyboard | None = None
    async with user_turn(update, context) as turn:
        if not typed.strip():
            await quotes.start_guided(turn.session, turn.user, turn.now)
            text, rows = _question(turn.lang, QuoteStep.CLIENT, {})
        else:
            await quotes.cancel_dialog(turn.session, turn.user)
            try:
                draft = parse_quote_line(typed, quotes.local_today(turn.user, turn.now))
            except QuoteInputError as error:
                text = _invalid(turn.lang, error, "line")
            else:
                message = update.effective_message
                text, rows = await _register_or_confirm(
                    turn, draft, message.message_id if message else None
                )
    await reply(update, text, rows)


async def _register_or_confirm(
    turn: Turn, draft: QuoteDraft, message_id: int | None = None
) -> tuple[str, Keyboard]:
    """Register the quote, or first ask "register it?" for a repeat or an unusual amount;
    `message_id`: the one-line /quote that typed it (an edit of it corrects this quote)."""
    why = await quotes.confirmation_needed(turn.session, turn.user, draft, turn.now)
    if why is None:
        quote = await quotes.register(turn.session, turn.user, draft, turn.now)
        edits.remember_quote(quote, message_id)
        return await _saved_text(turn, quote)
    await quotes.hold_for_confirmation(turn.session, turn.user, draft, why, turn.now)
    return _confirm_question(turn.lang, draft, why, turn.user.currency)


def _confirm_question(
    lang: str, draft: QuoteDraft, why: str, default_currency: str
) -> tuple[str, Keyboard]:
    text = render(
        "quotes/confirm",
        lang,
        why=why,
        client=draft.client,
        amount=draft.amount,
        currency=draft.currency or default_currency,
        ceiling=quotes.AMOUNT_CEILING,
    )
    return text, [[_button("register", lang, "confok"), *_cancel_row(lang)]]


async def cmd_quotes(update: Update, context: BotContext) -> None:
    """Lists open quotes by expiry with Signed / Lost / Extend / Delete, paged, and the totals.

    Works from a command and from another feature's button: it then answers the button press
    itself (do not answer it first) and sends the list as a new message.
    """
    async with user_turn(update, context) as turn:
        text, rows = await list_view(turn, 0)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except BadRequest as exc:
            logger.info("button press already answered: %s", exc)
    await reply(update, text, rows)


def _command_text(update: Update, context: BotContext) -> str:
    """What follows the command, as typed (spaces and quotes kept)."""
    message = update.effective_message
    if message is not None and message.text:
        parts = message.text.split(maxsplit=1)
        return parts[1] if len(parts) > 1 else ""
    return " ".join(context.args or [])


# ---------------------------------------------------------------------------------------------
# Typed answers (routed here by handlers/text.py)


async def on_typed_answer(turn: Turn, dialog: Dialog, text: str) -> tuple[str, Keyboard | None]:
    """The answer to the open guided /quote question; bad input is re-asked with an example."""
    step = QuoteStep(dialog.step)
    if step == QuoteStep.CONFIRM:
        return await _typed_confirmation(turn, dialog, text)
    try:
        if step == QuoteStep.CLIENT:
            await quotes.answer_client(turn.session, turn.user, text, turn.now)
        elif step == QuoteStep.AMOUNT:
            await quotes.answer_amount(turn.session, turn.user, dialog, text, turn.now)
        elif step == QuoteStep.VALIDITY:
            today = quotes.local_today(turn.user, turn.now)
            expires_on = parse_validity(text, today)
            return await _finish(turn, dialog, expires_on)
        else:
            quote = await quotes.extend_typed(turn.session, turn.user, dialog, text, turn.now)
            if quote is None:
                return render("quotes/not_available", turn.lang), None
            return render("quotes/extended", turn.lang, quote=quote), None
    except QuoteInputError as error:
        again, rows = _question(turn.lang, step, dialog.data)
        return f"{_invalid(turn.lang, error, step)}\n\n{again}", rows
    following = QuoteStep(dialog.step)  # set_dialog moved the same row to the next step
    return _question(turn.lang, following, dialog.data)


async def _typed_confirmation(
    turn: Turn, dialog: Dialog, text: str
) -> tuple[str, Keyboard | None]:
    """"yes" / "oui" registers the held quote, "no" / "non" drops it; anything else asks again."""
    answer = typed_answers.yes_no(text)
    if answer == typed_answers.YES:
        quote = await quotes.confirm_held(turn.session, turn.user, turn.now)
        if quote is None:
            return render("quotes/not_available", turn.lang), None
        return await _saved_text(turn, quote)
    if answer == typed_answers.NO:
        await quotes.cancel_dialog(turn.session, turn.user)
        return render("quotes/cancelled", turn.lang), None
    draft = quotes.held_draft(dialog)
    if draft is None:
        await quotes.cancel_dialog(turn.session, turn.user)
        return render("quotes/not_available", turn.lang), None
    text, rows = _confirm_question(
        turn.lang, draft, str(dialog.data.get("why", "")), turn.user.currency
    )
    return render("quotes/confirm_yes_no", turn.lang) + "\n\n" + text, rows


async def _finish(turn: Turn, dialog: Dialog, expires_on: date) -> tuple[str, Keyboard | None]:
    draft = quotes.guided_draft(dialog, expires_on)
    if draft is not None:
        why = await quotes.confirmation_needed(turn.session, turn.user, draft, turn.now)
        if why is not None:
            await quotes.hold_for_confirmation(turn.session, turn.user, draft, why, turn.now)
            return _confirm_question(turn.lang, draft, why, turn.user.currency)
    quote = await quotes.finish_guided(turn.session, turn.user, dialog, expires_on, turn.now)
    if quote is None:  # the answers were lost: start over rather than store half a quote
        await quotes.start_guided(turn.session, turn.user, turn.now)
        text, rows = _question(turn.lang, QuoteStep.CLIENT, {})
        return f"{render('quotes/start_over', turn.lang)}\n\n{text}", rows
    return await _saved_text(turn, quote)


# ---------------------------------------------------------------------------------------------
# Buttons


@dataclass(frozen=True)
class _Reply:
    """What a button press gets: a toast, and maybe a new text and keyboard for its message."""

    toast: str | None = None
    text: str | None = None
    rows: Keyboard | None = None
    drop_keyboard: bool = False  # a stale question: take its buttons away


async def on_quote_button(update: Update, context: BotContext) -> None:
    """Every /quote and /quotes button; quote ids are only ever looked up among the user's own."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    async with user_turn(update, context) as turn:
        try:
            assert parsed is not None
            answer = await _on_button(turn, parsed.action, parsed.arg)
        except (AssertionError, ValueError):
            answer = _Reply(toast=label("buttons/quote_stale", turn.lang))
    await query.answer(answer.toast)
    if answer.text is not None:
        await edit_or_reply(update, answer.text, answer.rows)
    elif answer.drop_keyboard:
        await drop_keyboard(update)


async def _on_button(turn: Turn, action: str, arg: str) -> _Reply:
    lang = turn.lang
    if action == "page":
        return _Reply(None, *await list_view(turn, int(arg or 0)))
    if action in ("valid", "date", "cancel"):
        return await _on_guided_button(turn, action, arg)
    if action == "confok":
        quote = await quotes.confirm_held(turn.session, turn.user, turn.now)
        if quote is None:
            return _Reply(toast=label("buttons/quote_stale", lang), drop_keyboard=True)
        return _Reply(None, *await _saved_text(turn, quote))
    if action == "closed":
        return _Reply(None, *await closed_view(turn))
    quote_id, *rest = arg.split("|")
    quote = await quotes.get(turn.session, turn.user, _id(quote_id))
    origin = rest[-1] if rest else ""
    if quote is None:  # unknown, deleted, or another user's: all look the same
        return _Reply(toast=label("buttons/quote_not_available", lang))
    if action == "back":
        await quotes.cancel_dialog(turn.session, turn.user)
        return await _back_to(turn, origin, None, quote)
    if action == "reopen":
        if not await quotes.reopen(turn.session, turn.user, quote, turn.now):
            return _Reply(toast=label("buttons/quote_stale", lang))
        return await _back_to(turn, "l0", render("quotes/reopened", lang, quote=quote))
    if quote.status != QuoteStatus.OPEN:
        return _Reply(toast=label("buttons/quote_closed", lang))
    if action == "fu":
        done = await quotes.follow_up(turn.session, turn.user, quote, turn.now)
        notice = render("quotes/followed_up", lang, quote=quote, again=not done)
        if origin == REMINDER:
            text, rows = reminder_view(lang, quote, quotes.local_today(turn.user, turn.now))
            return _Reply(None, f"{notice}\n\n{text}", rows)
        return await _back_to(turn, origin, notice)
    if origin == REMINDER and action in ("sign", "lost", "ext"):
        await quotes.note_follow_up(quote, turn.user, turn.now)
    today = quotes.local_today(turn.user, turn.now)
    if action == "sign":
        await quotes.mark_signed(turn.session, turn.user, quote, turn.now)
        return await _back_to(turn, origin, render("quotes/signed", lang, quote=quote), quote)
    if action == "lost":
        await quotes.mark_lost(turn.session, turn.user, quote, turn.now)
        return await _back_to(turn, origin, render("quotes/lost", lang, quote=quote), quote)
    if action == "ext":
        await quotes.start_extend(turn.session, turn.user, quote, turn.now)
        return _Reply(None, *_extend_question(lang, quote, today, origin))
    if action == "extby":
        days = int(rest[0])
        if days not in quotes.EXTEND_CHOICES:
            raise ValueError(days)
        await quotes.cancel_dialog(turn.session, turn.user)
        try:
            expires_on = quotes.extended_by(quote, days, today)
        except QuoteInputError as error:
            return _Reply(
                toast=label(
                    "buttons/quote_too_long", lang, max_days=error.details.get("max_days", "")
                )
            )
        await quotes.extend(turn.session, turn.user, quote, expires_on, turn.now)
        return await _back_to(turn, origin, render("quotes/extended", lang, quote=quote))
    if action == "del":
        arg = f"{quote.id}|{origin}"
        rows = [[_button("delete_yes", lang, "delok", arg), _button("keep", lang, "back", arg)]]
        return _Reply(None, render("quotes/confirm_delete", lang, quote=quote), rows)
    if action == "delok":
        text = render("quotes/deleted", lang, quote=quote)
        await quotes.delete(turn.session, turn.user, quote)
        return await _back_to(turn, origin, text)
    raise ValueError(action)


def _id(text: str) -> int:
    """A quote id from button data; out of range reads as 0 (no such quote), never a DB error."""
    value = int(text)
    return value if 0 < value < 2**31 else 0


async def _back_to(
    turn: Turn, origin: str, notice: str | None, quote: Quote | None = None
) -> _Reply:
    """After an action: the /quotes page it came from, the reminder, or just the notice."""
    if origin.startswith("l"):
        return _Reply(None, *await list_view(turn, int(origin[1:] or 0), notice))
    if notice is not None:
        if quote is None:
            return _Reply(None, notice, None)
        # Closed from a reminder: one tap takes it back.
        return _Reply(
            None, notice, [[_button("reopen", turn.lang, "reopen", f"{quote.id}|l0", n=None)]]
        )
    if quote is not None and origin == REMINDER and quote.status == QuoteStatus.OPEN:
        return _Reply(
            None, *reminder_view(turn.lang, quote, quotes.local_today(turn.user, turn.now))
        )
    return _Reply(None, *await list_view(turn, 0))


async def _on_guided_button(turn: Turn, action: str, arg: str) -> _Reply:
    lang = turn.lang
    dialog = await quotes.open_dialog(turn.session, turn.user, turn.now)
    stale = _Reply(toast=label("buttons/quote_stale", lang), drop_keyboard=True)
    if action == "cancel":
        if dialog is None:
            return stale
        await quotes.cancel_dialog(turn.session, turn.user)
        return _Reply(None, render("quotes/cancelled", lang), None)
    if dialog is None or dialog.step != QuoteStep.VALIDITY:
        return stale
    if action == "date":
        return _Reply(None, render("quotes/ask_date", lang), [_cancel_row(lang)])
    days = int(arg) if arg else DEFAULT_VALIDITY_DAYS
    try:
        expires_on = quotes.validity_from_days(days, quotes.local_today(turn.user, turn.now))
    except QuoteInputError as error:
        text, rows = _question(lang, QuoteStep.VALIDITY, dialog.data)
        return _Reply(None, f"{_invalid(lang, error, QuoteStep.VALIDITY)}\n\n{text}", rows)
    return _Reply(None, *await _finish(turn, dialog, expires_on))


# ---------------------------------------------------------------------------------------------
# Scheduled reminders


async def compose_reminder(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """A reminder before (or the day after) a quote's expiry, while it is still open."""
    quote = await quotes.due_reminder(session, user, row, now)
    if quote is None:
        return None
    text, rows = reminder_view(user.language, quote, quotes.local_today(user, now))
    return Outgoing(text, rows)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["quote", "devis"], cmd_quote),
        CommandHandler(["quotes", "mesdevis", "pipeline"], cmd_quotes),
        CallbackQueryHandler(on_quote_button, pattern=cb.pattern(FEATURE)),
    ]
