"""1. Update throughput: check-in taps a second through the whole bot, against a bare echo bot.

Both bots run in this process and long-poll the same kind of local Bot API sandbox (one event
loop: the sandbox's own work is in both numbers). The sandbox's flood control is OFF here: this
measures the CPU and database cost of an update, not Telegram's 30 a second.

- The full bot is `bot.app.build_application` on a scratch database (SQLite, then PostgreSQL)
  with `USERS` onboarded users created in the database. Each round moves the bot's clock one day
  on; every user sends /checkin (not timed: those replies are `sendMessage`s, paced at 28.5 a
  second by the bot's rate limiter), then, timed, every user taps through the check-in: "6+",
  "0", "0", "Yes" (the last tap completes it and shows the summary). Each tap is one callback
  update: the handler locks the user's row, stores the answer, answers the callback query and
  edits the message. Taps and edits are not `send*` calls, so the per-chat pacing of 1 a second
  does not apply to them; users tap concurrently (one tap in flight per user), so the bot is
  always busy.
- The echo bot is a bare python-telegram-bot Application with the same Defaults and
  `concurrent_updates(True)`: one MessageHandler that replies with four buttons, one
  CallbackQueryHandler that answers the query and edits the message. Same driver, same taps.

Reported: taps per second of each, and the ratio full / echo, measured back to back for each
database (target >= 0.5). The number of completed check-ins in the database is checked.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bench.common import (
    BACKEND_NAMES,
    Check,
    Context,
    Replies,
    Report,
    fmt_ratio,
    progress,
    scratch_database,
    seed_users,
)
from bot.app import build_application
from bot.clock import MovableClock
from bot.config import Secret, Settings
from bot.sandbox import BotApiSandbox, SandboxUser

NAME = "throughput"
TITLE = "1. Update throughput (check-in taps through the full bot vs a bare echo bot)"
FIRST_USER = 2_000_000
TAPS = ((0, 3), (0, 0), (0, 0), (0, 0))  # 6+, 0, 0, then "Yes" (first row of the block step)
TARGET = 0.5
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday morning; moved a day per round


class Outcome:
    def __init__(self) -> None:
        self.taps = 0
        self.seconds = 0.0
        self.failures = 0
        self.statements = 0  # SQL statements the bot ran during the timed taps
        self.cpu = 0.0  # CPU seconds of this process (bot + sandbox, all threads) while timed


async def drive(
    sandbox: BotApiSandbox,
    users: list[SandboxUser],
    *,
    command: str,
    rounds: int,
    before_round: Callable[[], None] = lambda: None,
    statements: Callable[[], int] = lambda: 0,
) -> Outcome:
    """Rounds of: every user sends `command` (untimed), then taps the four answers (timed)."""
    replies = Replies(sandbox)
    outcome = Outcome()
    loop = asyncio.get_running_loop()
    try:
        for _ in range(rounds):
            before_round()
            waiters = [replies.expect(user.chat_id) for user in users]
            for user in users:
                await user.send_command(command)
            asked = await asyncio.gather(*(asyncio.wait_for(w, 60) for w in waiters))

            async def tap_through(user: SandboxUser, message_id: int | None) -> int:
                done = 0
                for button in TAPS:
                    assert message_id is not None
                    waiter = replies.expect(user.chat_id)
                    await user.press(message_id, button)
                    try:
                        event = await asyncio.wait_for(waiter, 30)
                    except TimeoutError:
                        outcome.failures += 1
                        return done
                    done += 1
                    if event.kind == "message":  # replied instead of editing: tap on that one
                        message_id = event.message_id
                return done

            started, counted, cpu = loop.time(), statements(), time.process_time()
            done = await asyncio.gather(
                *(tap_through(u, e.message_id) for u, e in zip(users, asked, strict=True))
            )
            outcome.seconds += loop.time() - started
            outcome.cpu += time.process_time() - cpu
            outcome.statements += statements() - counted
            outcome.taps += sum(done)
    finally:
        replies.close()
    return outcome


def echo_application(sandbox: BotApiSandbox) -> Application[Any, Any, Any, Any, Any, Any]:
    """The baseline: a bare PTB bot that replies with buttons and edits on every tap."""
    counter = itertools.count()
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(t, callback_data=f"echo:{t}") for t in ("0", "1–2", "3–5", "6+")]]
    )

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await update.effective_chat.send_message("Tap a number.", reply_markup=keyboard)

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(
            f"You tapped <b>{query.data}</b> ({next(counter)}).", reply_markup=keyboard
        )

    application = (
        ApplicationBuilder()
        .token(sandbox.token)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, on_message))
    application.add_handler(CallbackQueryHandler(on_tap))
    return application


async def run_echo(users_n: int, rounds: int) -> Outcome:
    async with BotApiSandbox(flood_control=False) as sandbox:
        sandbox.keep_request_log = False
        users = [sandbox.user(FIRST_USER + n, first_name=f"Echo {n}") for n in range(users_n)]
        application = echo_application(sandbox)
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            return await drive(sandbox, users, command="/start", rounds=rounds)
        finally:
            await sandbox.wait_idle(timeout=10)
            await application.updater.stop()
            await application.stop()
            await application.shutdown()


async def statements_by_step(
    sandbox: BotApiSandbox, user: SandboxUser, statements: Callable[[], int]
) -> list[int]:
    """One user alone taps through one check-in: SQL statements the bot runs for each tap."""
    replies = Replies(sandbox)
    try:
        waiter = replies.expect(user.chat_id)
        await user.send_command("/checkin")
        message_id = (await asyncio.wait_for(waiter, 30)).message_id
        await sandbox.wait_idle(timeout=10)
        counts = []
        for button in TAPS:
            assert message_id is not None
            before = statements()
            waiter = replies.expect(user.chat_id)
            await user.press(message_id, button)
            await asyncio.wait_for(waiter, 30)
            await sandbox.wait_idle(timeout=10)
            counts.append(statements() - before)
        return counts
    finally:
        replies.close()


async def run_full(
    ctx: Context, backend: str, users_n: int, rounds: int
) -> tuple[Outcome, int, list[int]]:
    """Taps through the real bot; also returns the completed check-ins found in the database
    and, from one more check-in tapped alone, the SQL statements of each of its four taps."""
    async with (
        scratch_database(ctx, backend, NAME) as db,
        BotApiSandbox(flood_control=False) as sandbox,
    ):
        sandbox.keep_request_log = False
        await seed_users(db, first_id=FIRST_USER, count=users_n, now=START)
        users = [sandbox.user(FIRST_USER + n, first_name=f"Owner {n}") for n in range(users_n)]
        clock = MovableClock(START)
        settings = Settings(
            token=Secret(sandbox.token),
            database_url=db.url,
            api_base_url=sandbox.base_url,
            api_file_url=sandbox.base_file_url,
        )
        application = build_application(settings, clock=clock, dispatch=False)
        executed = [0]

        def count_statement(*_: Any) -> None:
            executed[0] += 1

        engine = application.bot_data.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count_statement)
        await application.initialize()
        assert application.post_init is not None and application.updater is not None
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            outcome = await drive(
                sandbox,
                users,
                command="/checkin",
                rounds=rounds,
                before_round=lambda: clock.advance(timedelta(days=1)),
                statements=lambda: executed[0],
            )
            clock.advance(timedelta(days=1))
            steps = await statements_by_step(sandbox, users[0], lambda: executed[0])
        finally:
            await sandbox.wait_idle(timeout=10)
            await application.updater.stop()
            await application.stop()
            assert application.post_shutdown is not None
            await application.post_shutdown(application)
            await application.shutdown()
        async with db.engine.connect() as conn:
            completed = (
                await conn.execute(text("SELECT count(*) FROM checkin WHERE step = 'done'"))
            ).scalar_one()
        return outcome, int(completed) - 1, steps


def cpu_ms(outcome: Outcome) -> str:
    return f"{outcome.cpu / outcome.taps * 1000:.1f}" if outcome.taps else "-"


async def run(ctx: Context) -> Report:
    users_n = ctx.pick(100, 50)
    rounds = ctx.pick(4, 2)
    report = Report(
        NAME,
        TITLE,
        f"{users_n} users tapping concurrently, {rounds} rounds of 4 taps each "
        f"({users_n * rounds * 4} taps per bot); sandbox flood control OFF; "
        "both bots in this process, polling the sandbox. See `bench/throughput.py`.",
        headers=[
            "database",
            "bot",
            "taps",
            "seconds",
            "taps/s",
            "CPU ms/tap",
            "SQL/tap",
            "full/echo",
        ],  # fmt: skip
    )
    # Quiet: a failed tap is counted, not logged a hundred times.
    logging.getLogger("telegram").setLevel(logging.ERROR)
    for backend in ctx.backends:
        name = BACKEND_NAMES[backend]
        progress(f"throughput: echo bot ({users_n} users, {rounds} rounds)")
        echo = await run_echo(users_n, rounds)
        progress(f"throughput: full bot on {name}")
        started = time.monotonic()
        full, completed, steps = await run_full(ctx, backend, users_n, rounds)
        progress(f"throughput: full bot on {name} took {time.monotonic() - started:.0f} s")
        echo_rate = echo.taps / echo.seconds if echo.seconds else 0.0
        full_rate = full.taps / full.seconds if full.seconds else 0.0
        value = full_rate / echo_rate if echo_rate else float("nan")
        per_tap = full.statements / full.taps if full.taps else 0.0
        report.rows.append(
            [name, "echo (bare PTB)", str(echo.taps), f"{echo.seconds:.2f}", f"{echo_rate:.0f}",
             cpu_ms(echo), "0", ""]
        )  # fmt: skip
        report.rows.append(
            [name, "full bot", str(full.taps), f"{full.seconds:.2f}", f"{full_rate:.0f}",
             cpu_ms(full), f"{per_tap:.1f}", fmt_ratio(value)]
        )  # fmt: skip
        expected = users_n * rounds
        failures = full.failures + echo.failures
        met = value >= TARGET and failures == 0 and completed == expected
        why = (
            f"the full bot handles {full_rate:.0f} taps/s against {echo_rate:.0f} for the echo bot"
            f" ({cpu_ms(full)} against {cpu_ms(echo)} ms of CPU a tap, sandbox included in both)"
            f"; {completed}/{expected} check-ins completed in the database"
        )
        if failures:
            why += f"; {failures} taps got no answer within 30 s"
        if value < TARGET:
            why += (
                ". Each tap adds a database transaction of about "
                f"{per_tap:.0f} statements (user row locked, answer stored, next question; on "
                "the last tap the summary, averages, goal and coaching) to the two Bot API calls "
                "the echo bot makes too"
            )
        report.checks.append(
            Check(f"taps/s full ÷ echo, {name}", fmt_ratio(value), f"≥ {TARGET}", met, why)
        )
        report.notes.append(
            f"{name}: SQL statements of each tap of one check-in, tapped alone: "
            + " / ".join(str(n) for n in steps)
            + " (the last tap completes it: the summary with 14-day averages and streak, the "
            "weekly goal, and the coaching verdict recomputed from the history and stored)."
        )
    report.notes.append(
        "Flood control of the sandbox is off for this benchmark only. Taps are answered by "
        "answerCallbackQuery + editMessageText, which the bot's PacedRateLimiter does not pace "
        "(it paces send* calls), so per-chat pacing does not limit the taps; the untimed "
        "/checkin replies are paced (28.5/s overall)."
    )
    return report
