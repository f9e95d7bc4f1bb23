"""4. Memory: the bot process must not grow with the number of owners, active ones included.

For each database, twice: a scratch database with `SMALL` (1,000) or `BIG` (100,000) onboarded
owners, every one of them with a check-in due within the hour (the first ones now, the others
spread over the next 60 minutes, as on a morning where everyone is active). One bot process
(`python -m bot run`, `PAID_BROADCAST=true`, `SEND_CONCURRENCY=16` so it touches owners as fast
as it can) sends the due check-ins; its resident memory (VmRSS, /proc/<pid>/status) is read when
ready and after every checkpoint of owners touched (each touched owner: row loaded, check-in
composed, sent through the limiter, marked sent, next one planned).

In the small database every owner is touched; in the big one the bench cannot touch 100,000
within its time budget, so the RSS growth per touched owner is fitted (least squares) over the
checkpoints and extrapolated to 100,000: ratio = (RSS at the last checkpoint + slope x the
owners left) / RSS with all 1,000 touched, the slope fitted over the checkpoints after the first
(warm-up). Target <= 1.3. The extrapolation is printed with the measured points, so a reader
can judge it; with --quick too few owners are touched for the fit to mean anything.
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
TITLE = "4. Memory (bot RSS with 1,000 vs 100,000 active owners)"
FIRST_USER = 5_000_000
SMALL, BIG = 1_000, 100_000
TARGET = 1.3


async def measure(
    ctx: Context, backend: str, users: int, checkpoints: list[int]
) -> list[tuple[int, int]]:
    """(owners touched, VmRSS KiB) when ready and at each checkpoint."""
    async with scratch_database(ctx, backend, NAME) as db, BotApiSandbox() as sandbox:
        sandbox.keep_request_log = False
        sandbox.auto_create_chats = True  # 100,000 chats: the sandbox makes them on first send
        now = now_utc()
        await seed_users(db, first_id=FIRST_USER, count=users, now=now - timedelta(days=30))
        due_now = checkpoints[-1]
        await seed_checkins(
            db, first_id=FIRST_USER, count=due_now, day=now.date(),
            due_at=now - timedelta(minutes=1), created_at=now - timedelta(days=1),
        )  # fmt: skip
        step = max(1, (users - due_now) // 60)
        for minute in range(60):  # the others due within the hour, a slice each minute
            first = FIRST_USER + due_now + minute * step
            count = step if minute < 59 else users - due_now - 59 * step
            if count > 0:
                await seed_checkins(
                    db, first_id=first, count=count, day=now.date(),
                    due_at=now + timedelta(minutes=minute + 1), created_at=now - timedelta(days=1),
                )  # fmt: skip
        await analyze(db)
        replies = Replies(sandbox)
        progress(f"memory: {BACKEND_NAMES[backend]}, {users:,} owners; starting the bot")
        points: list[tuple[int, int]] = []

        def touched() -> int:
            return sum(1 for s in sandbox.sends if FIRST_USER <= s.chat_id < FIRST_USER + users)

        env = {"PAID_BROADCAST": "true", "SEND_CONCURRENCY": "16"}
        async with running_bot(
            ctx, sandbox, replies, db, f"memory-{backend}-{users}", **env
        ) as bot:
            points.append((touched(), bot.memory_kib()["VmRSS"]))
            for mark in checkpoints:
                await wait_for(
                    lambda m=mark: touched() >= m, mark / 5 + 60, f"{mark} owners touched",
                    interval=0.25,
                )  # fmt: skip
                await asyncio.sleep(1)  # the last rows get marked sent
                points.append((mark, bot.memory_kib()["VmRSS"]))
        replies.close()
        return points


def slope(points: list[tuple[int, int]]) -> float:
    """KiB per touched owner, least squares over the checkpoints after warm-up (the first
    checkpoint fills the caches: compiled SQL, templates, connections), or all if too few."""
    fitted = points[2:] if len(points) >= 4 else points[1:]  # skip "ready" and warm-up
    xs = [float(x) for x, _ in fitted]
    ys = [float(y) for _, y in fitted]
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


async def run(ctx: Context) -> Report:
    big_marks = ctx.pick([100, 200, 300], [50, 100])
    report = Report(
        NAME,
        TITLE,
        f"`python -m bot run` with {SMALL:,} and {BIG:,} owners, all due within the hour; RSS "
        f"from /proc/<pid>/status after each checkpoint of owners touched ({SMALL:,}: all; "
        f"{BIG:,}: {', '.join(f'{m:,}' for m in big_marks)}, then extrapolated). See "
        "`bench/memory.py`.",
        headers=["database", "owners", "RSS (MiB) when ready, then at owners touched"],
    )
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        small_marks = ctx.pick([150, 300], [100])
        small = await measure(ctx, backend, SMALL, small_marks)
        big = await measure(ctx, backend, BIG, big_marks)
        report.data[backend] = {"small": small, "big": big}
        for users, points in ((SMALL, small), (BIG, big)):
            report.rows.append(
                [name, f"{users:,}", ", ".join(f"{mib(k)} at {n:,}" for n, k in points)]
            )
        per_owner = max(slope(big), 0.0)
        last_touched, last_rss = big[-1]
        projected = last_rss + per_owner * (BIG - last_touched)
        value = projected / small[-1][1]
        report.data[backend]["kib_per_owner"] = per_owner
        report.data[backend]["projected_kib"] = projected
        report.checks.append(
            Check(
                f"RSS {BIG:,} ÷ {SMALL:,} active owners, {name}",
                fmt_ratio(value),
                f"≤ {TARGET}",
                value <= TARGET,
                f"{small[-1][0]:,} of {SMALL:,} touched: {mib(small[-1][1])} MiB; {BIG:,} "
                f"owners, {last_touched:,} touched: {mib(last_rss)} MiB, growing "
                f"{per_owner:.2f} KiB per touched owner (fitted), so about "
                f"{mib(int(projected))} MiB with all {BIG:,} touched (extrapolated, not measured)",
            )
        )
    return report


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"
