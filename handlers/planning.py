"""/plan: weekly prospecting blocks (typed or guided), their .ics file, pings, "did it happen?"."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from babel.dates import get_day_names
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import Dialog, OutboxMessage, PlanBlock, User
from bot.delivery.outgoing import Outgoing
from bot.i18n import BABEL_LOCALES, label, render
from bot.services import calendar_export, dialogs, planning, schedule
from bot.services.checkins import Reason
from bot.services.planning import BlockStatus, Outcome, PlanInputError, PlanStep
from bot.services.preferences import parse_time, zone
from handlers import callback_data as cb
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

logger = logging.getLogger(__name__)

FEATURE = "plan"
TYPED = "other"
AfterReply = Callable[[], Awaitable[None]]


# ----------------------------------------------------------------------------- texts and buttons


def _day_names(lang: str, *, short: bool = False) -> list[str]:
    names = get_day_names("abbreviated" if short else "wide", locale=BABEL_LOCALES[lang])
    return [str(names[d]) for d in range(7)]


def _block_rows(blocks: list[PlanBlock], lang: str) -> list[dict[str, object]]:
    names = _day_names(lang)
    return [
        {
            "day": names[b.weekday],
            "start": b.start_time,
            "end": planning.end_of(b.start_time, b.duration_minutes),
        }
        for b in blocks
    ]


def _next_block(blocks: list[PlanBlock], user: User, now: datetime) -> datetime | None:
    tz = zone(user.timezone)
    moments = []
    for block in blocks:
        found = schedule.next_occurrence(now, block.start_time, 1 << block.weekday, tz)
        if found is not None:
            moments.append(found[1])
    return min(moments).astimezone(tz) if moments else None


async def overview(turn: Turn, *, notice: str | None = None) -> tuple[str, Keyboard]:
    """The plan, its adherence over four weeks and its buttons (or the first guided question)."""
    blocks = await planning.blocks(turn.session, turn.user)
    if not blocks:
        dialog = await planning.begin_guided(turn.session, turn.user, turn.now)
        text, first_rows = question(turn.lang, dialog)
        intro = render("plan/intro", turn.lang)
        return "\n\n".join(t for t in (notice, intro, text) if t), first_rows
    adherence = await planning.recent_adherence(turn.session, turn.user, turn.now)
    paused_until = turn.user.paused_until
    text = render(
        "plan/overview",
        turn.lang,
        blocks=_block_rows(blocks, turn.lang),
        adherence=adherence,
        weeks=planning.ADHERENCE_WEEKS,
        next_at=_next_block(blocks, turn.user, turn.now),
        paused_until=paused_until
        if paused_until and paused_until >= planning.local_today(turn.user, turn.now)
        else None,
    )
    if notice:
        text = f"{notice}\n\n{text}"
    short = _day_names(turn.lang, short=True)
    removes = [
        (
            label("buttons/plan_remove", turn.lang, day=short[b.weekday], at=b.start_time),
            cb.pack(FEATURE, "rm", b.id),
        )
        for b in blocks
    ]
    rows: list[list[tuple[str, str]]] = [
        [(label("buttons/plan_add", turn.lang), cb.pack(FEATURE, "new"))]
    ]
    rows += [removes[i : i + 3] for i in range(0, len(removes), 3)]
    rows.append(
        [
            (label("buttons/plan_calendar", turn.lang), cb.pack(FEATURE, "ics")),
            (label("buttons/plan_clear", turn.lang), cb.pack(FEATURE, "clear")),
        ]
    )
    return text, rows


def question(lang: str, dialog: Dialog) -> tuple[str, Keyboard]:
    """The open question of the guided /plan."""
    step = PlanStep(dialog.step)
    cancel = [(label("buttons/plan_cancel", lang), cb.pack(FEATURE, "cancel"))]
    other = label("buttons/other", lang)
    if step == PlanStep.DAYS:
        mask = planning.pending_days(dialog)
        names = _day_names(lang, short=True)
        toggles = [
            (
                label("buttons/day_toggle", lang, day=names[d], on=bool(mask & (1 << d))),
                cb.pack(FEATURE, "day", d),
            )
            for d in range(7)
        ]
        done = (label("buttons/done", lang), cb.pack(FEATURE, "days", "done"))
        return render("plan/ask_days", lang), [toggles[:4], toggles[4:], [done], cancel]
    if step == PlanStep.START:
        times = [
            (t.strftime("%H:%M"), cb.pack(FEATURE, "at", t.strftime("%H%M")))
            for t in planning.START_CHOICES
        ]
        days = [
            n for d, n in enumerate(_day_names(lang)) if planning.pending_days(dialog) & (1 << d)
        ]
        return render("plan/ask_start", lang, days=days), [
            times[:3],
            [*times[3:], (other, cb.pack(FEATURE, "at", TYPED))],
            cancel,
        ]
    durations = [
        (label("buttons/plan_duration", lang, minutes=m), cb.pack(FEATURE, "dur", m))
        for m in planning.DURATION_CHOICES
    ]
    return render("plan/ask_duration", lang, start=planning.pending_start(dialog)), [
        durations,
        [(other, cb.pack(FEATURE, "dur", TYPED))],
        cancel,
    ]


def invalid(lang: str, code: str) -> str:
    return render("plan/invalid", lang, code=code, max_blocks=planning.MAX_BLOCKS)


def calendar_file(lang: str, user: User, blocks: list[PlanBlock], now: datetime) -> bytes:
    return calendar_export.plan_calendar(
        blocks,
        user_id=user.id,
        timezone=user.timezone,
        today=planning.local_today(user, now),
        now=now,
        title=label("plan/ics_title", lang),
        description=label("plan/ics_description", lang),
        alarm_text=label("plan/ics_alarm", lang),
        calendar_name=label("plan/ics_calendar_name", lang),
    )


async def _saved(
    update: Update, turn: Turn, saved: planning.Saved
) -> tuple[str, Keyboard, AfterReply]:
    """The confirmation of a saved plan and, sent right after it, its calendar file."""
    notice = render("plan/saved", turn.lang, added=saved.added, replaced=saved.replaced)
    text, rows = await overview(turn, notice=notice)
    return text, rows, await _calendar_sender(update, turn)


async def _calendar_sender(update: Update, turn: Turn) -> AfterReply:
    """Sends the plan's .ics (built now, inside the transaction) once the caller has replied."""
    blocks = await planning.blocks(turn.session, turn.user)
    content = calendar_file(turn.lang, turn.user, blocks, turn.now)
    caption = render("plan/calendar_caption", turn.lang, count=len(blocks))

    async def send() -> None:
        chat = update.effective_chat
        if chat is not None:
            await chat.send_document(
                document=content, filename=calendar_export.ICS_FILENAME, caption=caption
            )

    return send


# ----------------------------------------------------------------------------- /plan


async def cmd_plan(update: Update, context: BotContext) -> None:
    """Shows the plan (or asks for one); `/plan tue thu 9:00-10:00` saves blocks in one line.

    Also called by other features' buttons: `context.args` may be None, nothing is answered.
    """
    typed = " ".join(context.args or []).strip()
    after: AfterReply | None = None
    async with user_turn(update, context) as turn:
        if not typed:
            text, rows = await overview(turn)
        else:
            try:
                specs = planning.parse_plan(typed)
                saved = await planning.save_typed(turn.session, turn.user, specs, turn.now)
            except PlanInputError as error:
                text, rows = invalid(turn.lang, error.code), []
            else:
                text, rows, after = await _saved(update, turn, saved)
    await reply(update, text, rows)
    if after is not None:
        await after()


async def on_typed_answer(
    update: Update, turn: Turn, dialog: Dialog, typed: str
) -> tuple[str, Keyboard, AfterReply | None]:
    """A typed answer in the guided /plan; bad input is re-asked with an example.

    The third value, when not None, sends the calendar file: call it after replying.
    """
    typed = typed[: planning.MAX_INPUT_LENGTH + 1]
    step = PlanStep(dialog.step)
    try:
        if step == PlanStep.DAYS:
            try:
                specs = planning.parse_plan(typed)  # the whole plan in one line works here too
            except PlanInputError:
                mask = planning.parse_plan_days(typed)
                if mask is None:
                    raise PlanInputError("no_days") from None
                await planning.choose_days(turn.session, dialog, mask, turn.now)
                text, rows = question(turn.lang, dialog)
                return text, rows, None
            saved = await planning.save_typed(turn.session, turn.user, specs, turn.now)
            return await _saved(update, turn, saved)
        if step == PlanStep.START:
            start = parse_time(typed)
            if start is None:
                # "9h-10h" or "14h 90min" answers both questions at once.
                try:
                    [spec, *_] = planning.parse_plan(f"mon {typed}")
                except PlanInputError as error:
                    unclear = error.code in ("unreadable", "no_days")
                    raise PlanInputError("bad_time" if unclear else error.code) from None
                await planning.choose_start(turn.session, dialog, spec.start, turn.now)
                return await _finish(update, turn, dialog, spec.duration)
            await planning.choose_start(turn.session, dialog, start, turn.now)
            text, rows = question(turn.lang, dialog)
            return text, rows, None
        duration = planning.parse_duration(typed)
        if duration is None:
            raise PlanInputError("bad_duration")
        return await _finish(update, turn, dialog, duration)
    except PlanInputError as error:
        text, rows = await _reask(turn, dialog, error.code)
        return text, rows, None


async def _reask(turn: Turn, dialog: Dialog, code: str) -> tuple[str, Keyboard]:
    """Why the answer was refused, then the same question; a full plan ends the dialog."""
    if code == "too_many_blocks":
        await dialogs.close(turn.session, turn.user)
        return await overview(turn, notice=invalid(turn.lang, code))
    again, rows = question(turn.lang, dialog)
    return invalid(turn.lang, code) + "\n\n" + again, rows


async def _finish(
    update: Update, turn: Turn, dialog: Dialog, duration: int
) -> tuple[str, Keyboard, AfterReply | None]:
    saved = await planning.choose_duration(turn.session, turn.user, dialog, duration, turn.now)
    return await _saved(update, turn, saved)


async def on_plan_button(update: Update, context: BotContext) -> None:
    """Every /plan button: guided answers, remove, calendar file, clear, and block answers."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    toast: str | None = None
    text: str | None = None
    rows: Keyboard = []
    after: AfterReply | None = None
    async with user_turn(update, context) as turn:
        try:
            if parsed is None:
                toast = label("buttons/stale_question", turn.lang)
            elif parsed.action in ("did", "why"):
                toast, text, rows = await _block_answer(turn, parsed.action, parsed.arg)
            elif parsed.action in ("day", "days", "at", "dur"):
                toast, text, rows, after = await _guided_button(
                    update, turn, parsed.action, parsed.arg
                )
            else:
                toast, text, rows, after = await _plan_button(
                    update, turn, parsed.action, parsed.arg
                )
        except ValueError:  # a payload this version did not make
            toast, text, after = label("buttons/stale_question", turn.lang), None, None
    await query.answer(toast)
    if text is not None:
        await edit_or_reply(update, text, rows)
    elif toast is not None:
        await drop_keyboard(update)
    if after is not None:
        await after()


async def _plan_button(
    update: Update, turn: Turn, action: str, arg: str
) -> tuple[str | None, str | None, Keyboard, AfterReply | None]:
    lang = turn.lang
    if action == "new":
        dialog = await planning.begin_guided(turn.session, turn.user, turn.now)
        text, rows = question(lang, dialog)
        return None, text, rows, None
    if action == "cancel":
        if await planning.open_dialog(turn.session, turn.user) is None:
            return label("buttons/stale_question", lang), None, [], None
        await dialogs.close(turn.session, turn.user)
        return None, render("plan/cancelled", lang), [], None
    if action == "rm":
        removed = await planning.remove_block(turn.session, turn.user, int(arg), turn.now)
        notice = render("plan/removed", lang) if removed else None
        if not removed and not await planning.blocks(turn.session, turn.user):
            return label("buttons/stale_question", lang), None, [], None
        text, rows = await overview(turn, notice=notice)
        return None, text, rows, None
    if action == "ics":
        blocks = await planning.blocks(turn.session, turn.user)
        if not blocks:
            return label("buttons/stale_question", lang), None, [], None
        sender = await _calendar_sender(update, turn)
        return label("buttons/plan_calendar_sent", lang), None, [], sender
    if action == "clear":
        if not await planning.blocks(turn.session, turn.user):
            return label("buttons/stale_question", lang), None, [], None
        return (
            None,
            render("plan/clear_confirm", lang),
            [
                [
                    (label("buttons/plan_clear_yes", lang), cb.pack(FEATURE, "clear_yes")),
                    (label("buttons/plan_clear_no", lang), cb.pack(FEATURE, "clear_no")),
                ]
            ],
            None,
        )
    if action == "clear_yes":
        count = await planning.clear(turn.session, turn.user, turn.now)
        if not count:
            return label("buttons/stale_question", lang), None, [], None
        return None, render("plan/cleared", lang, count=count), [], None
    if action == "clear_no":
        text, rows = await overview(turn)
        return None, text, rows, None
    raise ValueError(action)


async def _guided_button(
    update: Update, turn: Turn, action: str, arg: str
) -> tuple[str | None, str | None, Keyboard, AfterReply | None]:
    lang = turn.lang
    stale = label("buttons/stale_question", lang)
    dialog = await planning.open_dialog(turn.session, turn.user)
    wanted = {"day": PlanStep.DAYS, "days": PlanStep.DAYS, "at": PlanStep.START}.get(
        action, PlanStep.DURATION
    )
    if dialog is None or dialog.step != wanted:
        return stale, None, [], None
    if arg == TYPED:
        text = render(f"plan/type_{dialog.step}", lang)
        return (
            None,
            text,
            [[(label("buttons/plan_cancel", lang), cb.pack(FEATURE, "cancel"))]],
            None,
        )
    if action == "day":
        await planning.toggle_day(turn.session, dialog, int(arg), turn.now)
    elif action == "days":
        mask = planning.pending_days(dialog)
        if not mask:
            return label("buttons/no_day_selected", lang), None, [], None
        await planning.choose_days(turn.session, dialog, mask, turn.now)
    elif action == "at":
        start = parse_time(arg)
        if start is None:
            return stale, None, [], None
        await planning.choose_start(turn.session, dialog, start, turn.now)
    else:
        try:
            text, rows, after = await _finish(update, turn, dialog, int(arg))
        except PlanInputError as error:
            text, rows = await _reask(turn, dialog, error.code)
            return None, text, rows, None
        return None, text, rows, after
    text, rows = question(lang, dialog)
    return None, text, rows, None


# ----------------------------------------------------------------------------- block pings


def _end_question(lang: str, session_id: int) -> Keyboard:
    return [
        [
            (label(f"buttons/plan_{s}", lang), cb.pack(FEATURE, "did", f"{session_id}|{s}"))
            for s in (BlockStatus.DONE, BlockStatus.MOVED, BlockStatus.SKIPPED)
        ]
    ]


async def _block_answer(
    turn: Turn, action: str, arg: str
) -> tuple[str | None, str | None, Keyboard]:
    lang = turn.lang
    stale = label("buttons/stale_question", lang)
    session_text, value = arg.split("|", 1)
    session_id = int(session_text)
    if action == "did":
        outcome, occurrence = await planning.answer(
            turn.session, turn.user, session_id, BlockStatus(value), turn.now
        )
        if outcome != Outcome.STORED or occurrence is None:
            return stale, None, []
        if occurrence.status == BlockStatus.SKIPPED:
            return (
                None,
                render("plan/ask_skip_reason", lang),
                [
                    [
                        (
                            label(f"buttons/reason_{r}", lang),
                            cb.pack(FEATURE, "why", f"{session_id}|{r}"),
                        )
                    ]
                    for r in Reason
                ],
            )
    else:
        outcome, occurrence = await planning.give_reason(
            turn.session, turn.user, session_id, value, turn.now
        )
        if outcome != Outcome.STORED or occurrence is None:
            return stale, None, []
    adherence = await planning.recent_adherence(turn.session, turn.user, turn.now)
    text = render(
        "plan/answered",
        lang,
        status=occurrence.status,
        reason=occurrence.reason,
        adherence=adherence,
        weeks=planning.ADHERENCE_WEEKS,
    )
    return None, text, []


async def compose_block_start(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """ "Your prospecting block starts now", when it still makes sense; plans the next one."""
    occurrence = await planning.begin_block(session, user, row, now)
    if occurrence is None:
        return None
    block = occurrence.block
    text = render(
        "plan/block_start",
        user.language,
        name=user.first_name,
        start=block.start_time,
        end=planning.end_of(block.start_time, block.duration_minutes),
    )
    return Outgoing(text)


async def after_block_start_sent(
    session: AsyncSession, row: OutboxMessage, user: User, message_id: int, now: datetime
) -> None:
    await planning.after_block_started(session, user, row, now)


async def compose_block_end(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """ "Did your prospecting block happen?", unless it was already answered."""
    found = await planning.pending_question(session, user, row)
    if found is None:
        return None
    occurrence, block = found
    duration = block.duration_minutes if block else planning.DEFAULT_DURATION
    text = render(
        "plan/block_end",
        user.language,
        day=occurrence.local_date,
        start=occurrence.start_time,
        end=planning.end_of(occurrence.start_time, duration),
    )
    return Outgoing(text, _end_question(user.language, occurrence.id))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["plan", "planifier"], cmd_plan),
        CallbackQueryHandler(on_plan_button, pattern=cb.pattern(FEATURE)),
    ]
