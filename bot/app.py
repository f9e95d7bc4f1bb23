"""The composition root: builds the python-telegram-bot Application with everything wired in."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from telegram import BotCommand, BotCommandScopeDefault, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.context import BotApplication, BotContext, BotData
from bot.db.migrate import upgrade_to_head
from bot.db.session import create_engine, create_sessionmaker
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.leader import DispatchLeadership
from bot.delivery.rate_limit import PacedRateLimiter
from bot.fair_updates import FairUpdateProcessor
from bot.i18n import LANGUAGES, label
from handlers.errors import error_handler
from handlers.help import COMMANDS
from handlers.scheduled import scheduled_kinds

logger = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    migrate: bool = True,
    dispatch: bool = True,
) -> BotApplication:
    """The bot, ready for `run_polling`, a webhook server, or a test's `initialize()`/`start()`."""
    context_types = ContextTypes(context=BotContext, bot_data=BotData)
    builder = (
        ApplicationBuilder()
        .token(settings.token.get())
        .context_types(context_types)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .rate_limiter(
            # A paid broadcast may go up to 1000 a second; the per-chat limit still holds.
            PacedRateLimiter(paid_limit=900) if settings.paid_broadcast else PacedRateLimiter()
        )
        .concurrent_updates(FairUpdateProcessor())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)
    if settings.api_file_url:
        builder = builder.base_file_url(settings.api_file_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = cast(BotApplication, builder.build())

    data = application.bot_data
    data.settings = settings
    data.clock = clock or SystemClock()
    data.engine = create_engine(settings.database_url)
    data.sessions = create_sessionmaker(data.engine)
    data.dispatcher = Dispatcher(
        sessions=data.sessions,
        bot=application.bot,
        clock=data.clock,
        kinds=scheduled_kinds(),
        leadership=DispatchLeadership(data.engine),
        paid_broadcast=settings.paid_broadcast,
        claim_timeout=timedelta(seconds=settings.claim_timeout_seconds),
        retry_backoff=timedelta(seconds=settings.retry_backoff_seconds),
        max_in_flight=settings.send_concurrency,
    )
    data.migrate_on_start = migrate

    application.add_handlers(handlers.all_handlers())
    application.add_error_handler(error_handler)
    if dispatch and application.job_queue is not None:
        application.job_queue.run_repeating(
            _dispatch_tick,
            interval=settings.dispatch_interval_seconds,
            first=0.5,
            name="dispatcher",
        )
    return application


async def _dispatch_tick(context: BotContext) -> None:
    """The one clock tick: send whatever the outbox has due."""
    await context.bot_data.dispatcher.tick()


async def _post_init(application: BotApplication) -> None:
    data = application.bot_data
    if data.migrate_on_start:
        await upgrade_to_head(data.engine)
    await set_command_menus(application)


async def _post_shutdown(application: BotApplication) -> None:
    await application.bot_data.dispatcher.shutdown()
    await application.bot_data.engine.dispose()


async def set_command_menus(application: BotApplication) -> None:
    """The command menu in English by default and in French for French-speaking users."""
    for lang in LANGUAGES:
        commands = [BotCommand(name, label(f"commands/{name}", lang)) for name in COMMANDS]
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeDefault(), language_code=None if lang == "en" else lang
        )
