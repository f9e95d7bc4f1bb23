"""`prospect-coach demo`: the real bot and the local Bot API sandbox in one process, in a terminal.

Bot messages print as text; inline buttons print numbered and a number presses one, except on a
keyboard of counts (a check-in's 0 1 2 3 4 5+): there a typed number is the count itself, sent
as text, so "4" stores 4. Lines that start with `'` are sent as they are (to type a number while
buttons show). `:next` jumps the clock
to the next scheduled message (a check-in, a reminder) so you can see it arrive; `:quit` leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.clock import MovableClock, SystemClock
from bot.config import Secret, Settings, normalize_database_url
from bot.context import BotApplication
from bot.db import outbox
from bot.sandbox import BotApiSandbox
from bot.sandbox.html_entities import plain_text

DEMO_USER_ID = 4242
QUIET_SECONDS = 1.1  # longer than the per-chat pacing gap, so a paced follow-up is waited for
REPLY_TIMEOUT = 10.0


class Terminal:
    """Prints the chat as it changes: new bot messages, and edits of earlier ones."""

    def __init__(self, out: Any = sys.stdout) -> None:
        self._out = out
        self._shown: dict[int, str] = {}
        self.buttons: list[tuple[int, str]] = []  # (message id, callback data) by number - 1
        self.counts = False  # the keyboard shown offers counts: typed numbers are answers

    def show_changes(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            rendered = self._render(message)
            if self._shown.get(message["message_id"]) == rendered:
                continue
            self._shown[message["message_id"]] = rendered
            self._out.write(rendered + "\n")
        self._out.flush()

    def has_changes(self, messages: list[dict[str, Any]]) -> bool:
        return any(
            self._shown.get(m["message_id"]) != self._render(m, numbering=False) for m in messages
        )

    def _render(self, message: dict[str, Any], *, numbering: bool = True) -> str:
        body = message.get("text") or message.get("caption") or ""
        if "text" not in message and "caption" in message:
            body = f"[{'photo' if 'photo' in message else 'document'}] {body}"
        lines = body.splitlines() or [""]
        out = ["bot › " + lines[0], *("      " + line for line in lines[1:])]
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        if rows:
            buttons: list[tuple[int, str]] = []
            texts = [button["text"] for row in rows for button in row]
            for row in rows:
                cells = []
                for button in row:
                    buttons.append((message["message_id"], button.get("callback_data", "")))
                    cells.append(f"[{len(buttons)}] {button['text']}")
                out.append("      " + "  ".join(cells))
            if numbering:
                self.buttons = buttons
                self.counts = "0" in texts and "1" in texts
        return "\n".join(out)


async def _settle(sandbox: BotApiSandbox, user: Any, terminal: Terminal) -> None:
    """Wait for the bot to react (a new or edited message), then for it to go quiet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_TIMEOUT
    while not terminal.has_changes(user.messages) and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    with contextlib.suppress(TimeoutError):
        await sandbox.wait_idle(timeout=REPLY_TIMEOUT, settle=QUIET_SECONDS)


async def _start(settings: Settings, clock: MovableClock) -> BotApplication:
    application = build_application(settings, clock=clock)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    return application


async def _stop(application: BotApplication) -> None:
    assert application.updater is not None
    await application.updater.stop()
    await application.stop()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
    await application.shutdown()


async def _jump_to_next(application: BotApplication, clock: MovableClock) -> bool:
    """Move the demo clock to the next scheduled message and send it."""
    async with application.bot_data.sessions() as session:
        due = await outbox.next_due_at(session)
    if due is None:
        return False
    if due > clock.now():
        clock.set(due + timedelta(seconds=1))
    await application.bot_data.dispatcher.tick()
    return True


def _read_script(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


async def run_demo(*, lang: str, script: Path | None, db_path: Path) -> int:
    """Chat with the bot; returns 0, or 1 when the sandbox had to refuse one of the bot's calls."""
    lines = _read_script(script) if script else None
    db_path.parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, at start-up)
    clock = MovableClock(SystemClock().now())
    terminal = Terminal()
    async with BotApiSandbox() as sandbox:
        settings = Settings(
            token=Secret(sandbox.token),
            database_url=normalize_database_url(f"sqlite:///{db_path}"),
            api_base_url=sandbox.base_url,
            api_file_url=sandbox.base_file_url,
            dispatch_interval_seconds=2,
        )
        application = await _start(settings, clock)
        user = sandbox.user(
            DEMO_USER_ID, first_name="Camille" if lang == "fr" else "Sam", language_code=lang
        )
        if lines is None:
            print(
                "Prospect Coach demo — type /start. Numbers press buttons, "
                "':next' jumps to the next scheduled message, ':quit' leaves."
            )
        try:
            await _converse(user, sandbox, application, clock, terminal, lines)
        finally:
            await _stop(application)
        refused = {code: n for code, n in sandbox.errors_served.items() if 400 <= code < 500}
    if refused:
        print(f"the sandbox refused some of the bot's calls: {refused}", file=sys.stderr)
        return 1
    return 0


async def _converse(
    user: Any,
    sandbox: BotApiSandbox,
    application: BotApplication,
    clock: MovableClock,
    terminal: Terminal,
    lines: list[str] | None,
) -> None:
    script = iter(lines) if lines is not None else None
    while True:
        if script is not None:
            line = next(script, None)
            if line is None:
                return
            print(f"you › {line}")
        else:
            try:
                line = await asyncio.to_thread(input, "you › ")
            except EOFError:
                return
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == ":quit":
            return
        if line == ":next":
            if not await _jump_to_next(application, clock):
                print("(nothing is scheduled)")
        elif (
            line.isdecimal()
            and not terminal.counts
            and terminal.buttons
            and 1 <= int(line) <= len(terminal.buttons)
        ):
            message_id, data = terminal.buttons[int(line) - 1]
            await user.press(message_id, data)
        elif line.startswith("/"):
            command, _, args = line.partition(" ")
            await user.send_command(command, args)
        else:
            await user.send_text(line.removeprefix("'"))
        await _settle(sandbox, user, terminal)
        terminal.show_changes(user.messages)


__all__ = ["run_demo", "plain_text"]
