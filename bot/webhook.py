"""Webhook HTTP routes: check Telegram's secret, store the update durably, then answer 200."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Protocol
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy import text

from bot.config import Settings
from bot.context import BotApplication
from bot.db import inbox

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024


class Notifiable(Protocol):
    def notify(self) -> None: ...


def webhook_path(settings: Settings) -> str:
    return urlparse(settings.webhook_url or "").path or "/telegram"


def build_web_app(
    application: BotApplication, settings: Settings, worker: Notifiable
) -> web.Application:
    """The public routes: the webhook and /healthz (metrics have their own listener)."""
    secret = settings.webhook_secret.get().encode() if settings.webhook_secret else b""
    data = application.bot_data

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        # Constant-time comparison: the secret must not leak through response timing.
        if not secret or not hmac.compare_digest(given, secret):
            logger.warning("webhook call refused: missing or wrong secret token")
            return web.Response(status=403, text="forbidden")
        try:
            payload = json.loads(await request.read())
            update_id = int(payload["update_id"])
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="bad update")
        # Stored before Telegram hears 200: a crash after this line loses nothing, and a
        # redelivered update_id is recognised and handled once.
        async with data.sessions.begin() as session:
            new = await inbox.store(session, update_id, payload, data.clock.now())
        if new:
            worker.notify()
        return web.Response(text="ok")

    async def healthz(_request: web.Request) -> web.Response:
        # Up or down, nothing more: this port is public (behind the proxy).
        try:
            async with data.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            logger.exception("health check: database unreachable")
            return web.Response(status=503, text="down")
        return web.Response(text="up")

    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app.router.add_post(webhook_path(settings), receive)
    app.router.add_get("/healthz", healthz)
    return app
