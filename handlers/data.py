"""/export, /import (and the file sent after it), /forget and /privacy: the owner's own data."""

from __future__ import annotations

import asyncio
import logging

from telegram import Document, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.db.models import Dialog, DialogName
from bot.i18n import label, pick_language, render, splits_on_semicolons
from bot.services import accounts, data_format, privacy
from bot.services.data_format import ImportRefused, Payload, Problem
from handlers import callback_data as cb
from handlers import partners as partner_handlers
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn
from handlers.preferences import day_names

logger = logging.getLogger(__name__)

FEATURE = "data"  # data:imp:<token> / data:impno: / data:fgt:<token> / data:fgtno:
SHOWN_PROBLEMS = 5
MAX_MB = data_format.MAX_FILE_BYTES // (1024 * 1024)


def _cancel_row(lang: str) -> list[tuple[str, str]]:
    return [(label("buttons/data_import_cancel", lang), cb.pack(FEATURE, "impno"))]


def _refused_text(lang: str, filename: str, refused: ImportRefused) -> str:
    shown: list[Problem] = refused.problems[:SHOWN_PROBLEMS]
    return render(
        "data/import_invalid",
        lang,
        filename=filename,
        problems=shown,
        more=max(0, refused.total - len(shown)),
        max_mb=MAX_MB,
        columns=",".join(data_format.CSV_COLUMNS),
    )


async def cmd_export(update: Update, context: BotContext) -> None:
    """Sends the owner two files: everything the coach keeps (JSON) and daily activity (CSV)."""
    async with user_turn(update, context) as turn:
        files = await privacy.export(turn.session, turn.user, turn.now)
        json_caption = render("data/export_json", turn.lang, days=files.days, quotes=files.quotes)
        csv_caption = render("data/export_csv", turn.lang)
        excel_caption = render("data/export_excel", turn.lang)
        with_excel = splits_on_semicolons(turn.lang, turn.user.timezone)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(files.json_bytes, filename=files.json_name, caption=json_caption)
    await chat.send_document(files.csv_bytes, filename=files.csv_name, caption=csv_caption)
    if with_excel:
        await chat.send_document(
            files.excel_bytes, filename=files.excel_name, caption=excel_caption
        )


async def cmd_import(update: Update, context: BotContext) -> None:
    """Asks for the file to import (the JSON of /export or a daily-activity CSV)."""
    async with user_turn(update, context) as turn:
        await privacy.begin_import(turn.session, turn.user, turn.now)
        text = render(
            "data/import_ask",
            turn.lang,
            max_mb=MAX_MB,
            columns=",".join(data_format.CSV_COLUMNS),
        )
        rows = [_cancel_row(turn.lang)]
    await reply(update, text, rows)


async def _download(context: BotContext, file_id: str) -> bytes | None:
    try:
        file = await context.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())
    except TelegramError as error:
        logger.warning("could not download an imported file: %s", error)
        return None


def _preview_text(
    turn: Turn, filename: str, summary: privacy.ImportSummary, payload: Payload
) -> str:
    profile = payload.profile if summary.settings else None
    return render(
        "data/import_preview",
        turn.lang,
        filename=filename,
        summary=summary,
        profile=profile,
        days=day_names(profile.checkin_days, turn.lang) if profile else [],
        language=label(f"buttons/language_{profile.language}", turn.lang) if profile else "",
    )


async def on_document(update: Update, context: BotContext) -> None:
    """A file sent (after /import or not): checked whole, then shown for confirmation."""
    message = update.effective_message
    assert message is not None and message.document is not None
    document: Document = message.document
    filename = document.file_name or "?"
    async with user_turn(update, context) as turn:
        lang, now = turn.lang, turn.now
        today = privacy.local_today(turn.user, turn.now)
        waiting = await privacy.import_dialog(turn.session, turn.user) is not None
    rows: Keyboard | None = [_cancel_row(lang)] if waiting else None
    if document.file_size is not None and document.file_size > data_format.MAX_FILE_BYTES:
        refused = ImportRefused([Problem("too_big")])
        await reply(update, _refused_text(lang, filename, refused), rows)
        return
    data = await _download(context, document.file_id)
    if data is None:
        await reply(update, render("data/import_download_failed", lang), rows)
        return
    try:
        payload = await asyncio.to_thread(
            privacy.check_file, data, document.file_name, document.mime_type, today=today, now=now
        )
    except ImportRefused as refused:
        await reply(update, _refused_text(lang, filename, refused), rows)
        return
    async with user_turn(update, context) as turn:
        summary = await privacy.preview(turn.session, turn.user, payload, turn.now)
        if summary.is_empty():
            await privacy.cancel_import(turn.session, turn.user)
            text, rows = render("data/import_nothing_new", turn.lang, filename=filename), None
        else:
            token = await privacy.hold(
                turn.session,
                turn.user,
                payload,
                turn.now,
                filename=filename,
                file_id=document.file_id,
                file_digest=privacy.digest(data),
                mime_type=document.mime_type,
            )
            text = _preview_text(turn, filename, summary, payload)
            rows = [
                [
                    (
                        label("buttons/data_import_confirm", turn.lang),
                        cb.pack(FEATURE, "imp", token),
                    ),
                    *_cancel_row(turn.lang),
                ]
            ]
    await reply(update, text, rows)


async def _confirm_import(update: Update, context: BotContext, token: str) -> None:
    query = update.callback_query
    assert query is not None
    async with user_turn(update, context) as turn:
        lang, user_id = turn.lang, turn.user.id
        today = privacy.local_today(turn.user, turn.now)
        pending = await privacy.pending_import(turn.session, turn.user, token, turn.now)
    if pending is None:
        await query.answer(label("buttons/data_stale", lang))
        await drop_keyboard(update)
        return
    await query.answer()
    payload = pending.payload
    if payload is None and pending.file_id:
        # Too big for the dialog row: the same file again, checked again.
        data = await _download(context, pending.file_id)
        try:
            if data is None or privacy.digest(data) != pending.digest:
                raise ImportRefused([Problem("changed")])
            payload = await asyncio.to_thread(
                privacy.check_file,
                data,
                pending.filename,
                pending.mime_type,
                today=today,
                now=context.bot_data.clock.now(),
            )
        except ImportRefused:
            await edit_or_reply(update, render("data/import_expired", lang))
            return
    assert payload is not None
    # Merged in short transactions, slice by slice: a big file never blocks other owners.
    bot_data = context.bot_data
    summary = await privacy.confirm_import_in_chunks(
        bot_data.sessions, user_id, token, payload, bot_data.clock.now()
    )
    text = None
    if summary is not None:
        async with user_turn(update, context) as turn:  # in the language the import may have set
            text = render("data/import_done", turn.lang, summary=summary)
    if text is not None:
        await edit_or_reply(update, text)
    # else a second tap raced the first one, which imported and says so: leave its message be


async def cmd_forget(update: Update, context: BotContext) -> None:
    """Asks, once more, before erasing everything the coach keeps about the owner."""
    async with user_turn(update, context) as turn:
        counts = await privacy.counts(turn.session, turn.user)
        token = await privacy.begin_forget(turn.session, turn.user, turn.now)
        text = render("data/forget_confirm", turn.lang, counts=counts)
        rows = [
            [(label("buttons/data_forget_confirm", turn.lang), cb.pack(FEATURE, "fgt", token))],
            [(label("buttons/data_forget_keep", turn.lang), cb.pack(FEATURE, "fgtno"))],
        ]
    await reply(update, text, rows)


async def _forget(update: Update, context: BotContext, token: str) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    lang = pick_language(update.effective_user.language_code)
    erased = None
    # Not user_turn: a second tap after the erasure must not open a new account.
    async with context.bot_data.sessions.begin() as session:
        user = await accounts.find(session, update.effective_user.id, lock=True)
        if user is not None:
            lang = user.language
            erased = await privacy.forget(session, user, token, context.bot_data.clock.now())
    if erased is None:
        await query.answer(label("buttons/data_stale", lang))
        await drop_keyboard(update)
        return
    logger.info("a user erased their data (%s rows)", sum(erased.values()))
    await query.answer()
    await edit_or_reply(update, render("data/forget_done", lang))


async def on_data_button(update: Update, context: BotContext) -> None:
    """Confirm or cancel an import; erase or keep the owner's data."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    action = parsed.action if parsed is not None else ""
    if parsed is not None and action == "imp":
        await _confirm_import(update, context, parsed.arg)
        return
    if parsed is not None and action == "fgt":
        await _forget(update, context, parsed.arg)
        return
    text: str | None = None
    async with user_turn(update, context) as turn:
        lang = turn.lang
        if action == "impno" and await privacy.cancel_import(turn.session, turn.user):
            text = render("data/import_cancelled", lang)
        elif action == "fgtno" and await privacy.keep(turn.session, turn.user):
            text = render("data/forget_kept", lang)
    await query.answer(None if text else label("buttons/data_stale", lang))
    if text is not None:
        await edit_or_reply(update, text)
    else:
        await drop_keyboard(update)


def on_typed_text(turn: Turn, dialog: Dialog) -> tuple[str, Keyboard]:
    """Text typed while /import waits for a file (or for Confirm)."""
    assert dialog.name == DialogName.IMPORT
    return render("data/import_waiting", turn.lang, max_mb=MAX_MB), [_cancel_row(turn.lang)]


async def cmd_privacy(update: Update, context: BotContext) -> None:
    """What the coach keeps, why, and how to take it out or erase it."""
    async with user_turn(update, context) as turn:
        text = render("data/privacy", turn.lang) + await partner_handlers.privacy_note(turn)
    await reply(update, text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["export", "exporter"], cmd_export),
        CommandHandler(["import", "importer"], cmd_import),
        CommandHandler(["forget", "oublier"], cmd_forget),
        CommandHandler(["privacy", "confidentialite", "donnees"], cmd_privacy),
        MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE, on_document),
        CallbackQueryHandler(on_data_button, pattern=cb.pattern(FEATURE)),
    ]
