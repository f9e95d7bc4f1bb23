"""The real `prospect-coach run` as a subprocess against the sandbox, by polling and by webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import User
from bot.sandbox import BotApiSandbox
from handlers import ALLOWED_UPDATES
from tests.e2e.conftest import say, tap
from tests.e2e.processes import BotProcess, bot_env, free_port

SECRET = "e2e-webhook-secret_123"


@pytest.fixture
async def process_env(
    sandbox: BotApiSandbox, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> dict[str, str]:
    return bot_env(sandbox, database_url, LOG_LEVEL="DEBUG")


@pytest.fixture
async def running(process_env: dict[str, str], tmp_path: Path) -> AsyncIterator[BotProcess]:
    bot = BotProcess(process_env, tmp_path / "bot.log")
    yield bot
    await bot.stop()
    logs = bot.log.read_text(errors="replace")
    assert process_env["TELEGRAM_BOT_TOKEN"] not in logs, "the token leaked into the logs"
    assert process_env["TELEGRAM_BOT_TOKEN"].split(":", 1)[1] not in logs
    assert "Traceback" not in logs, logs[-3000:]


async def onboarding_across_a_restart(
    bot: BotProcess, sandbox: BotApiSandbox, engine: AsyncEngine, *args: str
) -> None:
    user = sandbox.user(301, first_name="Proc", language_code="fr")
    welcome = await say(user, sandbox, "/start")
    assert "Bonjour Proc" in welcome["text"]
    await tap(user, sandbox, "17:30")
    await bot.stop()  # stopped mid-onboarding
    await bot.start(*args)
    assert "Quels jours" in (await say(user, sandbox, "Bruxelles"))["text"]
    await tap(user, sandbox, "Terminé ✓")
    await say(user, sandbox, "/settings")
    await tap(user, sandbox, "💶 Devise")
    menu = await tap(user, sandbox, "CHF")
    assert "Devise\u00a0: CHF" in menu["text"]
    async with engine.connect() as conn:
        row = (await conn.execute(select(User.timezone, User.currency, User.onboarded_at))).one()
    assert (
        row.timezone == "Europe/Brussels" and row.currency == "CHF" and row.onboarded_at is not None
    )


async def test_polling_process(
    running: BotProcess, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    await running.start()
    await onboarding_across_a_restart(running, sandbox, engine)
    # The command menu is set per language at start-up.
    menus = {
        language: [c["command"] for c in commands]
        for (_, language), commands in sandbox.commands.items()
    }
    assert menus[""][:2] == ["checkin", "log"] and menus["fr"][:2] == ["point", "noter"]
    # Only the update types the bot handles, and its menu in private chats only.
    assert sandbox.allowed_updates == list(ALLOWED_UPDATES)
    assert {scope for scope, _ in sandbox.commands} == {'{"type": "all_private_chats"}'}


async def test_webhook_process_checks_the_secret(
    running: BotProcess, process_env: dict[str, str], sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    process_env.update(
        WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port)
    )
    await running.start("--webhook")
    await wait_for_webhook(sandbox)
    await onboarding_across_a_restart(running, sandbox, engine, "--webhook")
    await wait_for_webhook(sandbox)
    assert sandbox.allowed_updates == list(ALLOWED_UPDATES)

    forged: dict[str, Any] = {
        "update_id": 999_999,
        "message": {
            "message_id": 1, "date": 0, "chat": {"id": 666, "type": "private"},
            "from": {"id": 666, "is_bot": False, "first_name": "Mallory"}, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }  # fmt: skip
    async with httpx.AsyncClient() as client:
        missing = await client.post(url, json=forged)
        wrong = await client.post(
            url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        health = await client.get(f"http://127.0.0.1:{port}/healthz")
        public_metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
        metrics_port = process_env["METRICS_PORT"]
        metrics = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert (missing.status_code, wrong.status_code) == (403, 403)
    # The public port says up or down, nothing more; metrics are on their own (loopback) port.
    assert (health.status_code, health.text) == (200, "up")
    assert public_metrics.status_code == 404
    assert metrics.status_code == 200 and "prospect_coach_updates_handled" in metrics.text
    await asyncio.sleep(0.5)
    async with engine.connect() as conn:
        assert (
            await conn.scalar(select(func.count()).select_from(User).where(User.telegram_id == 666))
            == 0
        )


async def wait_for_webhook(sandbox: BotApiSandbox) -> None:
    for _ in range(200):
        if sandbox.webhook is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot never set its webhook")
