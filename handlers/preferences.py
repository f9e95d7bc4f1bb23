"""/start, /settings and the preference questions: check-in time, zone, days, language, currency."""

from __future__ import annotations

from datetime import time

from babel.dates import get_day_names, get_timezone_location
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import Dialog, DialogName
from bot.i18n import BABEL_LOCALES, LANGUAGES, label, render
from bot.services import accounts, dialogs, onboarding, preferences, schedules
from bot.services.onboarding import PrefStep
from handlers import callback_data as cb
from handlers import coaching
from handlers import partners as partner_handlers
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

FEATURE = "pref"
SETTINGS_FEATURE = "set"
TYPED = "other"


async def cmd_start(update: Update, context: BotContext) -> None:
    """Greets the user; new users are walked through the three onboarding questions."""
    if await partner_handlers.on_invite_start(update, context):
        return  # an invite link: the partner needs no onboarding
    async with user_turn(update, context) as turn:
        if accounts.reactivate(turn.user, turn.now) and onboarding.is_onboarded(turn.user):
            await schedules.sync(turn.session, turn.user, turn.now)
        if onboarding.is_onboarded(turn.user):
            await dialogs.close(turn.session, turn.user)
            text, rows = render("start/welcome_back", turn.lang, user=turn.user), None
        else:
            step = await onboarding.begin_onboarding(turn.session, turn.user, turn.now)
            dialog = await dialogs.current(turn.session, turn.user)
            assert dialog is not None
            welcome = render("start/welcome", turn.lang, name=turn.user.first_name)
            question, rows = question_for(turn, dialog, step)
            text = f"{welcome}\n\n{question}"
    await reply(update, text, rows)


async def cmd_settings(update: Update, context: BotContext) -> None:
    """Shows the current settings with a button for each one."""
    async with user_turn(update, context) as turn:
        text, rows = settings_menu(turn)
    await reply(update, text, rows)


def settings_menu(turn: Turn) -> tuple[str, Keyboard]:
    user = turn.user
    text = render(
        "settings/menu",
        turn.lang,
        checkin_time=user.checkin_time,
        timezone=user.timezone,
        days=day_names(user.checkin_days, turn.lang),
        currency=user.currency,
        paused_until=user.paused_until,
    )
    rows = [
        [
            (
                label("buttons/settings_time", turn.lang),
                cb.pack(SETTINGS_FEATURE, "open", PrefStep.TIME),
            ),
            (
                label("buttons/settings_timezone", turn.lang),
                cb.pack(SETTINGS_FEATURE, "open", PrefStep.TIMEZONE),
            ),
        ],
        [
            (
                label("buttons/settings_days", turn.lang),
                cb.pack(SETTINGS_FEATURE, "open", PrefStep.DAYS),
            ),
            (
                label("buttons/settings_language", turn.lang),
                cb.pack(SETTINGS_FEATURE, "open", PrefStep.LANGUAGE),
            ),
        ],
        [
            (
                label("buttons/settings_currency", turn.lang),
                cb.pack(SETTINGS_FEATURE, "open", PrefStep.CURRENCY),
            )
        ],
    ]
    return text, rows


def day_names(mask: int, lang: str) -> list[str]:
    names = get_day_names("wide", locale=BABEL_LOCALES[lang])
    return [names[d] for d in preferences.days_in(mask)]


def zone_label(zone: str, lang: str) -> str:
    if zone.startswith("UTC") or zone in preferences.ZONE_LABELS:
        return preferences.ZONE_LABELS.get(zone, zone)
    return str(get_timezone_location(zone, locale=BABEL_LOCALES[lang], return_city=True))


def question_for(turn: Turn, dialog: Dialog, step: PrefStep) -> tuple[str, Keyboard]:
    """The text and buttons of one preference question."""
    lang = turn.lang
    other = label("buttons/other", lang)
    if step == PrefStep.TIME:
        times = [
            (t.strftime("%H:%M"), cb.pack(FEATURE, step, t.strftime("%H%M")))
            for t in preferences.TIME_CHOICES
        ]
        return render("preferences/ask_time", lang), [
            times,
            [(other, cb.pack(FEATURE, step, TYPED))],
        ]
    if step == PrefStep.TIMEZONE:
        zones: list[list[tuple[str, str]]] = [
            [(zone_label(z, lang), cb.pack(FEATURE, step, z))]
            for z in preferences.ZONE_CHOICES[lang]
        ]
        zones.append([(other, cb.pack(FEATURE, step, TYPED))])
        return render("preferences/ask_timezone", lang, current=turn.user.timezone), zones
    if step == PrefStep.DAYS:
        mask = onboarding.pending_days(dialog, turn.user)
        names = get_day_names("abbreviated", locale=BABEL_LOCALES[lang])
        toggles = [
            (
                label("buttons/day_toggle", lang, day=names[d], on=bool(mask & (1 << d))),
                cb.pack(FEATURE, "day", d),
            )
            for d in range(7)
        ]
        done = label("buttons/done", lang)
        return render("preferences/ask_days", lang), [
            toggles[:4],
            toggles[4:],
            [(done, cb.pack(FEATURE, "days", "done"))],
        ]
    if step == PrefStep.LANGUAGE:
        return render("preferences/ask_language", lang), [
            [
                (label(f"buttons/language_{code}", lang), cb.pack(FEATURE, step, code))
                for code in LANGUAGES
            ]
        ]
    currencies = [(code, cb.pack(FEATURE, step, code)) for code in preferences.CURRENCY_CHOICES]
    return render("preferences/ask_currency", lang, current=turn.user.currency), [
        currencies,
        [(other, cb.pack(FEATURE, step, TYPED))],
    ]


async def on_settings_button(update: Update, context: BotContext) -> None:
    """A settings menu button: asks that setting's question."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    await query.answer()
    if parsed is None or parsed.arg not in PrefStep.__members__.values():
        await drop_keyboard(update)
        return
    async with user_turn(update, context) as turn:
        dialog = await onboarding.begin_setting(
            turn.session, turn.user, PrefStep(parsed.arg), turn.now
        )
        text, rows = question_for(turn, dialog, PrefStep(parsed.arg))
    await edit_or_reply(update, text, rows)


async def on_preference_button(update: Update, context: BotContext) -> None:
    """An answer tapped on a preference question; a stale question only loses its buttons."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    toast: str | None = None
    text: str | None = None
    rows: Keyboard | None = None
    async with user_turn(update, context) as turn:
        dialog = await dialogs.current(turn.session, turn.user)
        if parsed is None or dialog is None or not _asks(dialog, parsed.action):
            toast = label("buttons/stale_question", turn.lang)
        elif parsed.arg == TYPED:
            text = render(f"preferences/type_{dialog.step}", turn.lang)
        elif parsed.action == "day":
            await onboarding.toggle_day(turn.session, dialog, turn.user, int(parsed.arg) % 7)
            text, rows = question_for(turn, dialog, PrefStep.DAYS)
        else:
            value = _button_value(
                PrefStep(dialog.step), parsed.arg, onboarding.pending_days(dialog, turn.user)
            )
            if value is None:
                toast = label("buttons/no_day_selected", turn.lang)
            else:
                text, rows = await _after_answer(turn, dialog, value)
    await query.answer(toast)
    if text is not None:
        await edit_or_reply(update, text, rows)
    elif dialog is None or parsed is None or not _asks(dialog, parsed.action):
        await drop_keyboard(update)


def _asks(dialog: Dialog, action: str) -> bool:
    """Whether the open dialog is waiting for this button's answer."""
    step = PrefStep.DAYS if action in ("day", "days") else action
    return dialog.name in onboarding.PREFERENCE_DIALOGS and dialog.step == step


def _button_value(step: PrefStep, arg: str, pending_days: int) -> time | str | int | None:
    if step == PrefStep.TIME:
        return preferences.parse_time(arg)
    if step == PrefStep.TIMEZONE:
        return preferences.parse_timezone(arg)
    if step == PrefStep.DAYS:
        return pending_days or None
    if step == PrefStep.LANGUAGE:
        return arg if arg in LANGUAGES else None
    return preferences.parse_currency(arg)


async def on_typed_answer(turn: Turn, dialog: Dialog, text: str) -> tuple[str, Keyboard | None]:
    """A typed answer to the open preference question; bad input gets a re-ask with an example."""
    step = PrefStep(dialog.step)
    parsers = {
        PrefStep.TIME: preferences.parse_time,
        PrefStep.TIMEZONE: preferences.parse_timezone,
        PrefStep.DAYS: preferences.parse_days,
        PrefStep.CURRENCY: preferences.parse_currency,
        PrefStep.LANGUAGE: lambda t: (
            "fr"
            if t.strip().lower()[:2] == "fr"
            else ("en" if t.strip().lower()[:2] == "en" else None)
        ),
    }
    value = parsers[step](text[:100])
    if value is None:
        question, rows = question_for(turn, dialog, step)
        return render(f"preferences/invalid_{step}", turn.lang) + "\n\n" + question, rows
    return await _after_answer(turn, dialog, value)


async def _after_answer(
    turn: Turn, dialog: Dialog, value: time | str | int
) -> tuple[str, Keyboard | None]:
    was_onboarding = dialog.name == DialogName.ONBOARDING
    following = await onboarding.answer(turn.session, turn.user, dialog, value, turn.now)
    if following is not None:
        new_dialog = await dialogs.current(turn.session, turn.user)
        assert new_dialog is not None
        return question_for(turn, new_dialog, following)
    if onboarding.is_onboarded(turn.user):
        next_at = (await schedules.sync(turn.session, turn.user, turn.now)).next_checkin
    else:
        next_at = None
    if was_onboarding and onboarding.is_onboarded(turn.user):
        return render(
            "start/onboarding_done",
            turn.lang,
            checkin_time=turn.user.checkin_time,
            timezone=turn.user.timezone,
            days=day_names(turn.user.checkin_days, turn.lang),
            next_checkin=next_at.astimezone(preferences.zone(turn.user.timezone))
            if next_at
            else None,
        ), coaching.pace_rows(turn.lang)  # the optional usual week, and the quiz
    saved = render("settings/saved", turn.lang)
    text, rows = settings_menu(turn)
    return f"{saved}\n\n{text}", rows


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("start", cmd_start),
        CommandHandler(["settings", "reglages", "parametres"], cmd_settings),
        CallbackQueryHandler(on_settings_button, pattern=cb.pattern(SETTINGS_FEATURE)),
        CallbackQueryHandler(on_preference_button, pattern=cb.pattern(FEATURE)),
    ]
