"""`prospect-coach demo`: the real bot and the local Bot API sandbox in one process, in a terminal.

Every bot message prints with its number (`#12`); its inline buttons print lettered, and a letter
presses one: `b` presses button b of the latest message with buttons, `12b` button b of message
#12 (an earlier keyboard still works, as on a phone). Anything else is typed text: plain numbers
are answers, never buttons; a line starting with `'` is sent exactly as written. Charts, calendar
files and exports are saved under data/demo-files/ and their paths printed. `:next` jumps the
clock to the next scheduled message and prints the new date and time; `:quit` leaves.
Scheduled messages print as soon as they are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import string
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.clock import MovableClock, SystemClock
from bot.config import Secret, Settings, normalize_database_url
from bot.context import BotApplication
from bot.db import checkins, outbox, users
from bot.i18n import label, owner_timezone
from bot.sandbox import BotApiSandbox
from bot.sandbox.html_entities import plain_text
from bot.services.preferences import zone

DEMO_USER_ID = 4242
QUIET_SECONDS = 1.1  # longer than the per-chat pacing gap, so a paced follow-up is waited for
REPLY_TIMEOUT = 10.0
WATCH_SECONDS = 0.2  # how often the chat is looked at while you type
MAX_SKIPS = 20  # `:next` moves past scheduled messages that turn out to have nothing to say
LETTERS = string.ascii_lowercase + string.ascii_uppercase
BUTTON = re.compile(rf"^(\d*)([{LETTERS}])$")


class Terminal:
    """Prints the chat as it changes: new bot messages, edits of earlier ones, and their files."""

    def __init__(self, lang: str, files_dir: Path, sandbox: Any, out: Any = sys.stdout) -> None:
        self._lang = lang
        self._files_dir = files_dir
        self._sandbox = sandbox
        self._out = out
        self._shown: dict[int, str] = {}
        self._saved: dict[int, str] = {}  # message id -> path of its file
        self.keyboards: dict[int, list[str]] = {}  # message id -> callback data by letter
        self.latest_keyboard: int | None = None

    def write(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def show_changes(self, messages: list[dict[str, Any]]) -> bool:
        """Print what changed since last time; True when something was printed."""
        printed = False
        for message in messages:
            rendered = self._render(message)
            message_id = message["message_id"]
            if self._shown.get(message_id) == rendered:
                continue
            self._shown[message_id] = rendered
            self.write(rendered)
            printed = True
        return printed

    def has_changes(self, messages: list[dict[str, Any]]) -> bool:
        return any(self._shown.get(m["message_id"]) != self._render(m) for m in messages)

    def button(self, line: str) -> tuple[int, str] | None:
        """The (message id, callback data) a line like `b` or `12b` presses, if any."""
        match = BUTTON.match(line)
        if match is None:
            return None
        message_id = int(match[1]) if match[1] else self.latest_keyboard
        keyboard = self.keyboards.get(message_id) if message_id is not None else None
        index = LETTERS.index(match[2])
        if message_id is None or keyboard is None or index >= len(keyboard):
            return None
        return message_id, keyboard[index]

    def _render(self, message: dict[str, Any]) -> str:
        message_id = message["message_id"]
        body = message.get("text") or message.get("caption") or ""
        lines = body.splitlines() or [""]
        attachment = self._attachment(message)
        if attachment:
            lines = [attachment, *(body.splitlines())]
        prefix = f"#{message_id} bot › "
        indent = " " * len(prefix)
        out = [prefix + lines[0], *(indent + line for line in lines[1:])]
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        keyboard: list[str] = []
        for row in rows:
            cells = []
            for button in row:
                letter = LETTERS[len(keyboard)] if len(keyboard) < len(LETTERS) else "?"
                keyboard.append(button.get("callback_data", ""))
                cells.append(f"[{letter}] {button['text']}")
            out.append(indent + "  ".join(cells))
        if keyboard:
            self.keyboards[message_id] = keyboard
            if self.latest_keyboard is None or message_id >= self.latest_keyboard:
                self.latest_keyboard = message_id
        else:
            self.keyboards.pop(message_id, None)
        return "\n".join(out)

    def _attachment(self, message: dict[str, Any]) -> str | None:
        """Save a photo or document under the files folder once; its line: `[chart] path`."""
        if "photo" in message:
            file_id = message["photo"][-1]["file_id"]
            kind, name = "chart", f"chart-{message['message_id']}.png"
        elif "document" in message:
            file_id = message["document"]["file_id"]
            name = Path(message["document"].get("file_name") or "file").name
            kind = "calendar" if name.endswith(".ics") else "file"
            name = f"{message['message_id']}-{name}"
        else:
            return None
        message_id = message["message_id"]
        if message_id not in self._saved:
            stored = self._sandbox.file(file_id)
            self._files_dir.mkdir(parents=True, exist_ok=True)
            path = self._files_dir / name
            path.write_bytes(stored.data or b"")
            self._saved[message_id] = _shown_path(path)
        return label("demo/attachment", self._lang, kind=kind, path=self._saved[message_id])


def _shown_path(path: Path) -> str:
    """The path relative to where the demo was started when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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


class Demo:
    """One demo session: the bot, the sandbox's user, the movable clock and the terminal."""

    def __init__(
        self,
        lang: str,
        application: BotApplication,
        sandbox: BotApiSandbox,
        user: Any,
        clock: MovableClock,
        terminal: Terminal,
    ) -> None:
        self.lang = lang
        self.application = application
        self.sandbox = sandbox
        self.user = user
        self.clock = clock
        self.terminal = terminal

    async def forget_old_chat(self) -> None:
        """A resumed demo is a new phone: the last run's chat and its messages are gone, so the
        bot must not edit them (Telegram would refuse) nor wait on a question no one can see."""
        async with self.application.bot_data.sessions.begin() as session:
            owner = await users.get_by_telegram_id(session, DEMO_USER_ID)
            if owner is None:
                return
            await checkins.forget_message_ids(session, owner)
            await users.clear_dialog(session, owner)

    async def owner_zone(self) -> tuple[str, str]:
        """The owner's (language, time zone) as the bot knows them, else the demo's defaults."""
        async with self.application.bot_data.sessions() as session:
            owner = await users.get_by_telegram_id(session, DEMO_USER_ID)
        if owner is None:
            return self.lang, "UTC"
        return owner.language, owner.timezone

    async def say(self, key: str, **values: Any) -> None:
        """A line of the demo itself (not the bot), in the owner's language."""
        lang, timezone = await self.owner_zone()
        with owner_timezone(timezone):
            self.terminal.write(label(f"demo/{key}", lang, **values))

    async def jump(self) -> None:
        """Move the clock to the next scheduled message and send it; say the new date and time.

        A due row can turn out to have nothing to say (a reminder for a quote already signed):
        the clock then moves on to the next one, so `:next` always shows something or says why.
        """
        dispatcher = self.application.bot_data.dispatcher
        for _ in range(MAX_SKIPS):
            async with self.application.bot_data.sessions() as session:
                due = await outbox.next_due_at(session)
            if due is None:
                await self.say("nothing_scheduled")
                return
            if due > self.clock.now():
                self.clock.set(due + timedelta(seconds=1))
            await self.announce_time()
            await dispatcher.tick()
            await _settle(self.sandbox, self.user, self.terminal)
            if self.terminal.show_changes(self.user.messages):
                return

    async def announce_time(self) -> None:
        _, timezone = await self.owner_zone()
        local = self.clock.now().astimezone(zone(timezone))
        await self.say("clock", day=local.date(), at=local.time())

    async def watch(self) -> None:
        """While you type: print scheduled messages as soon as they are sent."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            self.terminal.show_changes(self.user.messages)

    async def handle(self, line: str) -> bool:
        """One line of input; False when the demo should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line == ":quit":
            return False
        self.terminal.show_changes(self.user.messages)  # what arrived while you were typing
        if line == ":next":
            await self.jump()
            return True
        pressed = self.terminal.button(line)
        if pressed is not None:
            await self.user.press(*pressed)
        elif line.startswith("/"):
            command, _, args = line.partition(" ")
            await self.user.send_command(command, args)
        else:
            await self.user.send_text(line.removeprefix("'"))
        await _settle(self.sandbox, self.user, self.terminal)
        self.terminal.show_changes(self.user.messages)
        return True


def _read_script(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _clock_file(db_path: Path) -> Path:
    return db_path.with_suffix(".clock")


def _resume_clock(db_path: Path) -> datetime:
    """Start where the last demo on this database left its clock (it may have jumped ahead)."""
    now = SystemClock().now()
    saved = _clock_file(db_path)
    with contextlib.suppress(OSError, ValueError):
        return max(now, datetime.fromisoformat(saved.read_text().strip()))
    return now


def reset(db_path: Path, files_dir: Path) -> None:
    """A fresh start: the demo's database, its clock and the files it saved are removed."""
    for path in (db_path, _clock_file(db_path), Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        path.unlink(missing_ok=True)
    if files_dir.is_dir():
        for saved in files_dir.iterdir():
            if saved.is_file():
                saved.unlink()


async def run_demo(
    *,
    lang: str,
    script: Path | None,
    db_path: Path,
    files_dir: Path | None = None,
    fresh: bool = False,
    start: datetime | None = None,
    out: Any = None,
) -> int:
    """Chat with the bot; returns 0, or 1 when the sandbox had to refuse one of the bot's calls.

    `start` sets the clock of a new demo (tests replay a script on known dates); `out` is
    where the chat is printed (the terminal by default)."""
    lines = _read_script(script) if script else None
    files_dir = files_dir or db_path.parent / "demo-files"
    if fresh:
        reset(db_path, files_dir)
    resuming = db_path.exists()  # noqa: ASYNC240 (once, at start-up)
    db_path.parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    clock = MovableClock(start if start and not resuming else _resume_clock(db_path))
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
        terminal = Terminal(lang, files_dir, sandbox, out or sys.stdout)
        demo = Demo(lang, application, sandbox, user, clock, terminal)
        try:
            await demo.say("banner")
            if resuming:
                await demo.forget_old_chat()
                await demo.say("resumed", db=_shown_path(db_path))
            await _converse(demo, lines)
        finally:
            _clock_file(db_path).write_text(clock.now().isoformat())
            await _stop(application)
        refused = {code: n for code, n in sandbox.errors_served.items() if 400 <= code < 500}
    if refused:
        print(f"the sandbox refused some of the bot's calls: {refused}", file=sys.stderr)
        return 1
    return 0


async def _converse(demo: Demo, lines: list[str] | None) -> None:
    if lines is not None:
        for line in lines:
            demo.terminal.write(f"you › {line}")
            if not await demo.handle(line):
                return
        return
    watcher = asyncio.create_task(demo.watch())
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, "you › ")
            except EOFError:
                return
            if not await demo.handle(line):
                return
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


__all__ = ["run_demo", "reset", "plain_text"]
