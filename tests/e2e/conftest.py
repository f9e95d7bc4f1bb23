"""End-to-end fixtures: the real Application talking to the local Bot API sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application
from bot.clock import MovableClock
from bot.config import Secret, Settings
from bot.context import BotApplication
from bot.sandbox import BotApiSandbox, SandboxUser
from handlers import ALLOWED_UPDATES


@pytest.fixture
async def sandbox() -> AsyncIterator[BotApiSandbox]:
    async with BotApiSandbox() as server:
        yield server
        refused = {code: n for code, n in server.errors_served.items() if 400 <= code < 500}
        if refused:
            print([(r.method, r.status, r.description) for r in server.requests if r.status >= 400])
        assert not refused, f"the sandbox refused calls the bot made: {refused}"


class Bot:
    """The bot under test; `restart()` stops it and starts a fresh process-like instance."""

    def __init__(self, sandbox: BotApiSandbox, database_url: str, clock: MovableClock) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.settings = Settings(
            token=Secret(sandbox.token),
            database_url=database_url,
            api_base_url=sandbox.base_url,
            api_file_url=sandbox.base_file_url,
        )
        self.app: BotApplication | None = None

    async def start(self) -> None:
        # Tests tick the dispatcher themselves, after moving the clock.
        app = build_application(self.settings, clock=self.clock, dispatch=False)
        await app.initialize()
        assert app.post_init is not None and app.updater is not None
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
        self.app = app

    async def stop(self) -> None:
        app = self.app
        assert app is not None and app.updater is not None and app.post_shutdown is not None
        await self.sandbox.wait_idle(timeout=5)
        await app.updater.stop()
        await app.stop()
        await app.post_shutdown(app)
        await app.shutdown()
        self.app = None

    async def restart(self) -> None:
        await self.stop()
        # A real restart takes longer than Telegram's per-chat second, which the new process's
        # rate limiter cannot know about: wait it out rather than provoke a 429.
        await asyncio.sleep(1.0)
        await self.start()

    @property
    def application(self) -> BotApplication:
        assert self.app is not None
        return self.app

    async def tick(self) -> Any:
        """One dispatcher tick at the clock's current time; waits for the sends to settle."""
        report = await self.application.bot_data.dispatcher.tick()
        await self.sandbox.wait_idle(timeout=5)
        return report


@pytest.fixture
async def bot(
    sandbox: BotApiSandbox, engine: AsyncEngine, database_url: str, clock: MovableClock
) -> AsyncIterator[Bot]:
    # `engine` migrated and emptied the database; the bot gets its own engine on the same URL.
    running = Bot(sandbox, database_url, clock)
    await running.start()
    yield running
    if running.app is not None:
        await running.stop()


async def say(user: SandboxUser, sandbox: BotApiSandbox, text: str) -> dict[str, Any]:
    """Send a command or text and return the bot's next message."""
    if text.startswith("/"):
        command, _, args = text.partition(" ")
        await user.send_command(command, args)
    else:
        await user.send_text(text)
    message = await user.next_message(timeout=10)
    await sandbox.wait_idle(timeout=5)
    return message


async def tap(
    user: SandboxUser, sandbox: BotApiSandbox, button: str, message: Any = None
) -> dict[str, Any]:
    """Press a button (by text) of a message (the latest with buttons by default); return the
    message as it stands after the bot reacted (edited in place or the next one sent)."""
    target = message or next(m for m in reversed(user.messages) if user.buttons(m))
    before = len(user.messages)

    def current() -> dict[str, Any] | None:
        return next((m for m in user.messages if m["message_id"] == target["message_id"]), None)

    snapshot = current()
    query_id = await user.press(target, button)
    # The bot answers the press, then edits or sends: wait for that reaction, not just for a
    # quiet moment (under load the edit can come well after the answer). A stale press gets
    # only a toast, so an answer with text also ends the wait.
    answered = await user.wait_for_answer(query_id, timeout=10)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (0.5 if answered.answer_text else 10)
    while current() == snapshot and len(user.messages) == before and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await sandbox.wait_idle(timeout=10)
    messages = user.messages
    if len(messages) > before:
        user.skip_pending()
        return messages[-1]
    return next(m for m in messages if m["message_id"] == target["message_id"])


def button_texts(user: SandboxUser, message: dict[str, Any]) -> list[str]:
    return [text for row in user.buttons(message) for text, _ in row]
