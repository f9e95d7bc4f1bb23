"""The composition root: builds the python-telegram-bot Application with everything wired in."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import cast

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.context import BotApplication, BotContext, BotData
from bot.db.migrate import upgrade_to_head
from bot.db.session import create_engine, create_sessionmaker
from bot.delivery import retention
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.leader import DispatchLeadership
from bot.delivery.rate_limit import PacedRateLimiter
from bot.delivery.sweep import ScheduleSweep
from bot.fair_updates import FairUpdateProcessor
from bot.i18n import LANGUAGES, command_name, label
from bot.services import schedules
from handlers.errors import error_handler
from handlers.flood import tell_what_was_not_read
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
    processor = FairUpdateProcessor(max_waiting=settings.max_waiting_updates)
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
        .concurrent_updates(processor)
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

    processor.on_shed = partial(tell_what_was_not_read, application)
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
        replan=schedules.after_settled,
    )
    data.sweep = ScheduleSweep(sessions=data.sessions, clock=data.clock)
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
        application.job_queue.run_repeating(
            _sweep_tick,
            interval=settings.sweep_interval_seconds,
            first=settings.sweep_interval_seconds,
            name="schedule-sweep",
        )
        application.job_queue.run_repeating(
            _retention_tick, interval=retention.INTERVAL_SECONDS, first=60, name="retention"
        )
    return application


async def _dispatch_tick(context: BotContext) -> None:
    """The one clock tick: send whatever the outbox has due."""
    await context.bot_data.dispatcher.tick()


async def _sweep_tick(context: BotContext) -> None:
    """Repair any owner whose scheduled messages drifted from what they should be."""
    report = await context.bot_data.sweep.run()
    if report.repaired:
        logger.warning("schedule sweep: %s of %s owners repaired", report.repaired, report.checked)


async def _retention_tick(context: BotContext) -> None:
    """Delete sent messages and handled updates past their retention period."""
    data = context.bot_data
    await retention.prune(
        data.sessions,
        data.clock.now(),
        outbox_days=data.settings.outbox_retention_days,
        inbox_days=data.settings.inbox_retention_days,
    )


async def _post_init(application: BotApplication) -> None:
    data = application.bot_data
    if data.migrate_on_start:
        await upgrade_to_head(data.engine)
    await set_command_menus(application)


async def _post_shutdown(application: BotApplication) -> None:
    await application.bot_data.dispatcher.shutdown()
    await application.bot_data.engine.dispose()


async def set_command_menus(application: BotApplication) -> None:
    """The command menu, in private chats only (the bot coaches nowhere else), in English by
    default and in French for French-speaking users."""
    for lang in LANGUAGES:
        commands = [
            BotCommand(command_name(key, lang), label(f"commands/{key}", lang))
            for key in COMMANDS
        ]
        language = None if lang == "en" else lang
        # An older version set the menu for every chat, groups included: take that one down.
        await application.bot.delete_my_commands(
            scope=BotCommandScopeDefault(), language_code=language
        )
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeAllPrivateChats(), language_code=language
        )
