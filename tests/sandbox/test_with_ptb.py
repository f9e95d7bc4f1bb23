"""A real python-telegram-bot Application against the sandbox: polling, webhook, errors."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.sandbox import BotApiSandbox

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Call Acme\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@dataclass
class Errors:
    """Exceptions that reached the Application's error handler."""

    seen: list[BaseException] = field(default_factory=list)


def build_app(sandbox: BotApiSandbox, errors: Errors) -> Application:
    """The small bot under test: /start with a button, the button edits, files round-trip."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done ✅", callback_data="done:1")]])
        name = update.message.from_user.first_name if update.message.from_user else "?"
        await update.message.reply_html(
            f"<b>Hello {name}</b> &amp; welcome!\nArgs: {' '.join(context.args or [])}",
            reply_markup=markup,
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Saved")
        # With Defaults, PTB adds parse_mode here too; the sandbox must tolerate it like Telegram.
        await query.edit_message_reply_markup(reply_markup=None)
        await query.edit_message_text("<i>Marked done</i>")

    async def plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_document(ICS, filename="plan.ics", caption="Your plan")

    async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        telegram_file = await update.message.document.get_file()
        data = await telegram_file.download_as_bytearray()
        await update.message.reply_text(f"Got {len(data)} bytes: {bytes(data).decode()!r}")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.seen.append(context.error)

    app = (
        ApplicationBuilder()
        .token(sandbox.token)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, disable_notification=True))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("plan", plan))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_error_handler(on_error)
    return app


@pytest.fixture
async def sandbox() -> AsyncIterator[BotApiSandbox]:
    async with BotApiSandbox(per_chat_limit=5) as running:
        yield running


@pytest.fixture
async def errors() -> Errors:
    return Errors()


@pytest.fixture
async def polling_app(sandbox: BotApiSandbox, errors: Errors) -> AsyncIterator[Application]:
    app = build_app(sandbox, errors)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_start_reply_press_and_edit(
    sandbox: BotApiSandbox, polling_app: Application, errors: Errors
) -> None:
    user = sandbox.user(1001, first_name="Dana")
    await user.send_command("/start", args="from-ad")
    reply = await user.next_message()
    assert reply["text"] == "Hello Dana & welcome!\nArgs: from-ad"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 10}]
    assert user.buttons(reply) == [[("Done ✅", "done:1")]]

    query_id = await user.press(reply, "Done ✅")
    assert (await user.wait_for_answer(query_id)).answer == {"text": "Saved"}
    edited = await user.wait_for(lambda m: m.get("text") == "Marked done")
    assert edited["message_id"] == reply["message_id"]
    assert edited["entities"] == [{"type": "italic", "offset": 0, "length": 11}]
    assert "reply_markup" not in edited
    assert len(sandbox.message(1001, reply["message_id"]).history) == 2  # markup, then text
    await sandbox.wait_idle()
    assert [m.sender for m in sandbox.transcript(1001)] == ["user", "bot"]
    assert "user pressed [Done ✅]" in user.transcript()
    assert errors.seen == []
    assert not sandbox.errors_served


async def test_documents_round_trip_through_multipart_and_file_urls(
    sandbox: BotApiSandbox, polling_app: Application, errors: Errors
) -> None:
    user = sandbox.user(1002)
    await user.send_command("/plan")
    sent = await user.next_message()
    stored = sandbox.file_of(sent)
    assert (stored.filename, stored.mime_type, stored.data) == ("plan.ics", "text/calendar", ICS)
    assert sent["caption"] == "Your plan"
    assert stored.data is not None and b"SUMMARY:Call Acme" in stored.data

    await user.send_document("leads.csv", b"name\nAcme\n", "text/csv")
    answer = await user.next_message()
    assert answer["text"] == "Got 10 bytes: 'name\\nAcme\\n'"
    assert errors.seen == []


# PTB itself reads the deprecated int retry_after while building RetryAfter.
@pytest.mark.filterwarnings("ignore:.*retry_after.*")
async def test_flood_block_and_markup_errors_surface_as_ptb_exceptions(
    sandbox: BotApiSandbox, polling_app: Application
) -> None:
    bot = polling_app.bot
    sandbox.user(1003)
    for n in range(5):
        await bot.send_message(1003, f"burst {n}")
    # PTB renders parameters.retry_after into the message (reading .retry_after warns in 22.x).
    with pytest.raises(RetryAfter, match="Retry in 1 seconds"):
        await bot.send_message(1003, "one too many")

    sandbox.user(1004)
    sandbox.block(1004)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1004, "hello?")

    sandbox.user(1005)
    with pytest.raises(BadRequest, match="(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(1005, "line<br>break", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(
            1005,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data="d" * 65)]]
            ),
        )
    assert sandbox.errors_served == {429: 1, 403: 1, 400: 2}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_pushes_updates_with_the_secret(
    sandbox: BotApiSandbox, errors: Errors
) -> None:
    app = build_app(sandbox, errors)
    port = free_port()
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url=f"http://127.0.0.1:{port}/hook",
        secret_token="hook-secret",
    )
    try:
        assert sandbox.webhook is not None and sandbox.webhook.secret_token == "hook-secret"
        user = sandbox.user(1006, first_name="Eve")
        await user.send_command("/start")
        reply = await user.next_message()
        assert reply["text"].startswith("Hello Eve")
        assert [d.status for d in sandbox.webhook_deliveries] == [200]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert errors.seen == []
