"""5. Reply latency under load: how long a user waits for an answer while a fan-out is sending.

For each database: one bot process (`python -m bot run`, sandbox flood control on) and onboarded
users created in a scratch database. Probes are /checkin commands, `RATE` a second (open loop:
sent on schedule whatever the replies), each from a different user so the 1 a second per-chat
pacing never applies; a probe's latency is the time from the command entering the sandbox's
update queue to the bot's reply (the first question) arriving at the sandbox, on the sandbox's
clock. Each /checkin writes: it creates the day's check-in.

- quiet: probes for 15 s (5 with --quick) with nothing else going on;
- fan-out: check-ins for 30 × (duration + 10) other users are made due now (more than the bot
  sends in the window), and once the dispatcher's sends have begun, probes for as long again.

Reported: p50/p90/p99/max of both, the ratios, and the fan-out's own rate during the window
(replies and fan-out share the bot's 28.5 a second). No target: this is a report.
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

from bench.common import (
    BACKEND_NAMES,
    Check,
    Context,
    Replies,
    Report,
    analyze,
    cycle_users,
    fmt_ratio,
    ms,
    now_utc,
    percentile,
    probe,
    progress,
    ratio,
    running_bot,
    scratch_database,
    seed_checkins,
    seed_users,
    wait_for,
)
from bot.sandbox import BotApiSandbox

NAME = "latency"
TITLE = "5. Reply latency under load (a /checkin while a fan-out runs)"
PROBE_FIRST = 6_000_000
FAN_FIRST = 6_100_000
RATE = 4.0
TIMEOUT = 30.0


async def measure(
    ctx: Context, backend: str, duration: float
) -> tuple[list[float | None], list[float | None], float, int]:
    fanout = math.ceil(30 * (duration + 10))  # outlasts the probes even at the full 30/s
    probes = int(RATE * duration)
    async with scratch_database(ctx, backend, NAME) as db, BotApiSandbox() as sandbox:
        sandbox.keep_request_log = False
        now = now_utc()
        await seed_users(db, first_id=PROBE_FIRST, count=2 * probes, now=now - timedelta(days=30))
        await seed_users(db, first_id=FAN_FIRST, count=fanout, now=now - timedelta(days=30))
        await analyze(db)
        fan_chats = {FAN_FIRST + n for n in range(fanout)}
        for chat_id in fan_chats:
            sandbox.user(chat_id, first_name="Owner")
        users = cycle_users(sandbox, PROBE_FIRST, 2 * probes)
        replies = Replies(sandbox)
        loop = asyncio.get_running_loop()

        def fan_sends() -> int:
            return sum(1 for s in sandbox.sends if s.chat_id in fan_chats)

        async with running_bot(ctx, sandbox, replies, db, f"latency-{backend}"):
            progress(f"latency: {BACKEND_NAMES[backend]}: quiet, {probes} probes")
            quiet = await probe(sandbox, replies, users, rate=RATE, duration=duration, wait=TIMEOUT)
            await seed_checkins(
                db, first_id=FAN_FIRST, count=fanout, day=now.date(),
                due_at=now - timedelta(minutes=1), created_at=now - timedelta(days=1),
            )  # fmt: skip
            await wait_for(lambda: fan_sends() >= 30, 30, "the fan-out to start", interval=0.05)
            progress(f"latency: {BACKEND_NAMES[backend]}: {fanout} due; {probes} probes")
            first, started = fan_sends(), loop.time()
            loaded = await probe(
                sandbox, replies, users, rate=RATE, duration=duration, wait=TIMEOUT
            )
            fan_rate = (fan_sends() - first) / (loop.time() - started)
        replies.close()
        return quiet, loaded, fan_rate, sandbox.errors_served.get(429, 0)


async def run(ctx: Context) -> Report:
    duration = ctx.pick(15.0, 5.0)
    report = Report(
        NAME,
        TITLE,
        f"{RATE:.0f} /checkin probes a second for {duration:.0f} s, each from a different user, "
        "without and then during a fan-out; latency = command queued in the sandbox → reply "
        "received by the sandbox. See `bench/latency.py`.",
        headers=["database", "phase", "probes", "p50", "p90", "p99", "max", "fan-out msg/s"],
    )
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        quiet, loaded, fan_rate, floods = await measure(ctx, backend, duration)
        for phase, values, rate in (("quiet", quiet, ""), ("during fan-out", loaded, fan_rate)):
            answered = sum(v is not None for v in values)
            report.rows.append(
                [name, phase, f"{answered}/{len(values)}",
                 *(ms(percentile(values, q)) for q in (50, 90, 99, 100)),
                 f"{rate:.1f}" if rate else ""]
            )  # fmt: skip
        p50 = ratio(percentile(loaded, 50), percentile(quiet, 50))
        p99 = ratio(percentile(loaded, 99), percentile(quiet, 99))
        report.checks.append(
            Check(
                f"p50 / p99 during ÷ without fan-out, {name}",
                f"{fmt_ratio(p50)} / {fmt_ratio(p99)}",
                "report",
                None,
                f"p50 {ms(percentile(quiet, 50))} → {ms(percentile(loaded, 50))}, "
                f"p99 {ms(percentile(quiet, 99))} → {ms(percentile(loaded, 99))} "
                f"while the fan-out sent {fan_rate:.1f} msg/s; {floods} 429s served",
            )
        )
    report.notes.append(
        "Replies and the fan-out share the bot's one overall bucket (28.5 sends a second): "
        "during a fan-out a reply waits for the next free slot, about 35 ms, on top of its "
        "handler's database work, which competes with the dispatcher's transactions."
    )
    return report
