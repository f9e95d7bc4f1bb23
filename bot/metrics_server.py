"""Prometheus metrics on their own listener (METRICS_LISTEN:METRICS_PORT, loopback by default),
never on the public webhook port: they tell how many people use the bot and how it fares."""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from bot.config import Settings
from bot.context import BotApplication
from bot.db.models import OutboxMessage, OutboxStatus
from bot.metrics import METRICS

logger = logging.getLogger(__name__)


def build_metrics_app(application: BotApplication) -> web.Application:
    data = application.bot_data

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

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


async def start_metrics(application: BotApplication, settings: Settings) -> web.AppRunner | None:
    """Serve /metrics; None when switched off (METRICS_PORT=0) or the port is taken (the bot
    runs on without metrics rather than not at all, and says so)."""
    if not settings.metrics_port:
        return None
    runner = web.AppRunner(build_metrics_app(application), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.metrics_listen, settings.metrics_port).start()
    except OSError as exc:
        logger.warning(
            "METRICS_PORT: cannot listen on %s:%s (%s); running without metrics",
            settings.metrics_listen,
            settings.metrics_port,
            exc.strerror or exc,
        )
        await runner.cleanup()
        return None
    logger.info("metrics on %s:%s/metrics", settings.metrics_listen, settings.metrics_port)
    return runner
