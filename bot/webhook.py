"""Webhook HTTP routes: check Telegram's secret, store the update durably, then answer 200."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Protocol
from urllib.parse import urlparse

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from bot.config import Settings
from bot.context import BotApplication
from bot.db import inbox
from bot.db.models import OutboxMessage, OutboxStatus
from bot.metrics import METRICS

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
    """The routes: the webhook, /healthz and /metrics."""
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
        try:
            async with data.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            logger.exception("health check: database unreachable")
            return web.json_response({"status": "database unreachable"}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics(_request: web.Request) -> web.Response:
        now = data.clock.now()
        async with data.sessions() as session:
            depth, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxMessage.due_at)).where(
                        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now
                    )
                )
            ).one()
        METRICS.outbox_depth.set(depth)
        METRICS.outbox_lag.set((now - oldest).total_seconds() if oldest else 0)
        body = generate_latest(METRICS.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app.router.add_post(webhook_path(settings), receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
