"""Runs the bot until SIGINT/SIGTERM, by long polling or behind a webhook, and stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.config import ConfigError, Settings
from bot.context import BotApplication
from bot.delivery.inbox import InboxWorker
from bot.metrics_server import start_metrics
from bot.webhook import build_web_app
from handlers import ALLOWED_UPDATES

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def single_sqlite_process(settings: Settings) -> Iterator[None]:
    """SQLite serves one bot process: a second one (a replica) is refused with a clear message."""
    if not settings.is_sqlite:
        yield
        return
    database = make_url(settings.database_url).database or ""
    lock_path = Path(f"{database}.lock")
    handle: IO[str] = lock_path.open("w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"DATABASE_URL: another bot process already uses the SQLite file {database}; "
                "SQLite runs one process only: use PostgreSQL to run replicas"
            ) from None
        yield
    finally:
        handle.close()


async def serve(application: BotApplication, settings: Settings, *, webhook: bool) -> None:
    """Start, run until a stop signal, then finish in-flight work and stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        metrics = await start_metrics(application, settings)
        if webhook:
            await _serve_webhook(application, settings, stop)
        else:
            assert application.updater is not None
            # Polling confirms an update to Telegram when it fetches the next batch, before the
            # first is handled: a crash in between loses those updates (webhook mode does not).
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            await stop.wait()
            application.bot_data.dispatcher.request_stop()
            await application.updater.stop()
        if metrics is not None:
            await metrics.cleanup()
        await application.stop()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
    logger.info("stopped cleanly")


async def _serve_webhook(
    application: BotApplication, settings: Settings, stop: asyncio.Event
) -> None:
    assert settings.webhook_secret is not None and settings.webhook_url is not None
    inbox = InboxWorker(application)
    runner = web.AppRunner(build_web_app(application, settings, inbox), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_listen, settings.webhook_port)
    await site.start()
    inbox.start()
    await application.bot.set_webhook(
        url=settings.webhook_url,
        secret_token=settings.webhook_secret.get(),
        allowed_updates=ALLOWED_UPDATES,
    )
    logger.info("webhook server on %s:%s", settings.webhook_listen, settings.webhook_port)
    await stop.wait()
    application.bot_data.dispatcher.request_stop()
    await runner.cleanup()  # no new updates; the stored ones wait in the inbox
    await inbox.stop()
