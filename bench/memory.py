"""4. Memory: the bot process must not grow with the number of users in the database.

For each database, twice: a scratch database with `SMALL` (1,000) or `BIG` (100,000) onboarded
users, each with a pending check-in for tomorrow in the outbox, except `FANOUT` (300; 150 with
--quick) of them whose check-in is due now. One bot process (`python -m bot run`) starts against
the sandbox (flood control on), answers a /help, sends the FANOUT check-ins, and two seconds
after the last one its resident memory is read from /proc/<pid>/status: VmRSS (now) and VmHWM
(the peak). Only the database size differs between the two runs: same fan-out, same requests.
Target: RSS with 100,000 users / RSS with 1,000 users <= 1.3. No package is installed for this
(psutil is not a dependency); /proc is read directly.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bench.common import (
    BACKEND_NAMES,
    Check,
    Context,
    Replies,
    Report,
    analyze,
    fmt_ratio,
    now_utc,
    progress,
    running_bot,
    scratch_database,
    seed_checkins,
    seed_users,
    wait_for,
)
from bot.sandbox import BotApiSandbox

NAME = "memory"
TITLE = "4. Memory (bot RSS with 1,000 vs 100,000 users after a fan-out)"
FIRST_USER = 5_000_000
SMALL, BIG = 1_000, 100_000
TARGET = 1.3


async def measure(ctx: Context, backend: str, users: int, fanout: int) -> dict[str, int]:
    async with scratch_database(ctx, backend, NAME) as db, BotApiSandbox() as sandbox:
        sandbox.keep_request_log = False
        now = now_utc()
        tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        await seed_users(db, first_id=FIRST_USER, count=users, now=now - timedelta(days=30))
        await seed_checkins(
            db, first_id=FIRST_USER, count=fanout, day=now.date(),
            due_at=now - timedelta(minutes=1), created_at=now - timedelta(days=1),
        )  # fmt: skip
        await seed_checkins(
            db, first_id=FIRST_USER + fanout, count=users - fanout, day=tomorrow.date(),
            due_at=tomorrow, created_at=now - timedelta(days=1),
        )  # fmt: skip
        await analyze(db)
        chats = {FIRST_USER + n for n in range(fanout)}
        for chat_id in chats:
            sandbox.user(chat_id, first_name="Owner")
        replies = Replies(sandbox)
        progress(f"memory: {BACKEND_NAMES[backend]}, {users:,} users; starting the bot")
        async with running_bot(ctx, sandbox, replies, db, f"memory-{backend}-{users}") as bot:
            started = bot.memory_kib()
            await wait_for(
                lambda: sum(1 for s in sandbox.sends if s.chat_id in chats) >= fanout,
                fanout / 10 + 60, "the fan-out", interval=0.25,
            )  # fmt: skip
            await asyncio.sleep(2)
            after = bot.memory_kib()
        replies.close()
        return {
            "rss_start": started["VmRSS"],
            "rss": after["VmRSS"],
            "hwm": after["VmHWM"],
        }


async def run(ctx: Context) -> Report:
    fanout = ctx.pick(300, 150)
    report = Report(
        NAME,
        TITLE,
        f"`python -m bot run` after a fan-out of {fanout} check-ins, with {SMALL:,} and "
        f"{BIG:,} users (and as many outbox rows) in the database; RSS from /proc/<pid>/status. "
        "See `bench/memory.py`.",
        headers=["database", "users", "RSS when ready", "RSS after fan-out", "peak RSS (VmHWM)"],
    )
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        results = {users: await measure(ctx, backend, users, fanout) for users in (SMALL, BIG)}
        for users, result in results.items():
            report.rows.append(
                [name, f"{users:,}", mib(result["rss_start"]), mib(result["rss"]),
                 mib(result["hwm"])]
            )  # fmt: skip
        value = results[BIG]["rss"] / results[SMALL]["rss"]
        peak = results[BIG]["hwm"] / results[SMALL]["hwm"]
        why = (
            f"{mib(results[SMALL]['rss'])} with {SMALL:,} users, {mib(results[BIG]['rss'])} with "
            f"{BIG:,} (peak ratio {fmt_ratio(peak)}): nothing loads all users or all rows; the "
            "dispatcher claims 60 due rows at a time"
        )
        if value > TARGET:
            why = f"the process grows with the database ({why.split(':')[0]})"
        report.checks.append(
            Check(f"RSS {BIG:,} ÷ {SMALL:,} users, {name}", fmt_ratio(value), f"≤ {TARGET}",
                  value <= TARGET, why)
        )  # fmt: skip
    return report


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"
