"""Webhook mode: an aiohttp server that checks Telegram's secret header before taking an update."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy import text
from telegram import Update

from bot.config import Settings
from bot.context import BotApplication

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(settings: Settings) -> str:
    return urlparse(settings.webhook_url or "").path or "/telegram"


def build_web_app(application: BotApplication, settings: Settings) -> web.Application:
    """The HTTP routes: the webhook itself and /healthz."""
    secret = settings.webhook_secret.get().encode() if settings.webhook_secret else b""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        # Constant-time comparison: the secret must not leak through response timing.
        if not secret or not hmac.compare_digest(given, secret):
            logger.warning("webhook call refused: missing or wrong secret token")
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(json.loads(await request.read()), application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="bad update")
        if update is not None:
            await application.update_queue.put(update)
        return web.Response(text="ok")

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with application.bot_data.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            logger.exception("health check: database unreachable")
            return web.json_response({"status": "database unreachable"}, status=503)
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(webhook_path(settings), receive)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(application: BotApplication, settings: Settings) -> None:
    """Register the webhook with Telegram and serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        assert settings.webhook_secret is not None
        await application.bot.set_webhook(
            url=settings.webhook_url or "",
            secret_token=settings.webhook_secret.get(),
            allowed_updates=Update.ALL_TYPES,
        )
        await application.start()
        runner = web.AppRunner(build_web_app(application, settings), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_listen, settings.webhook_port)
        await site.start()
        logger.info(
            "webhook server listening on %s:%s", settings.webhook_listen, settings.webhook_port
        )
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await application.stop()
