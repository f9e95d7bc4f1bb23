"""5. Reply latency under load: how long a user waits for an answer while a fan-out and a
Monday's weekly reviews are being sent.

For each database: one bot process (`python -m bot run`, sandbox flood control on and strict)
and onboarded owners in a scratch database. Probes are /checkin commands, `RATE` a second (open
loop: sent on schedule whatever the replies), each from a different owner so the per-chat pacing
never applies; a probe's latency is measured at the client side of the sandbox, from the
command entering its update queue to the bot's reply (the first question) arriving, on the
sandbox's clock. Each /checkin writes: it creates the day's check-in.

- quiet: probes for `DURATION` s with nothing else going on;
- loaded: check-ins for 30 x (duration + 10) other owners are made due now (more than the bot
  sends in the window), and `REVIEWS` owners with four weeks of history get their weekly review
  (chart and details) due now too; once the dispatcher's sends have begun, probes for as long
  again.

Reported: p50/p90, p99 where the sample has hundreds of probes (else the highest percentile it
supports), max, their ratios loaded / quiet, and what the fan-out sent meanwhile (replies,
check-ins and charts share the bot's 30 a second).
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
    tail,
    tail_label,
    wait_for,
)
from bench.weekly import seed_reviews
from bot.sandbox import BotApiSandbox

NAME = "latency"
TITLE = "5. Reply latency under load (a /checkin while a fan-out runs)"
PROBE_FIRST = 6_000_000
FAN_FIRST = 6_100_000
RATE = 10.0
REVIEW_FIRST = 6_500_000
TIMEOUT = 30.0


async def measure(
    ctx: Context, backend: str, duration: float
) -> tuple[list[float | None], list[float | None], float, int, int]:
    fanout = math.ceil(30 * (duration + 10))  # outlasts the probes even at the full 30/s
    probes = int(RATE * duration)
    async with scratch_database(ctx, backend, NAME) as db, BotApiSandbox() as sandbox:
        sandbox.keep_request_log = False
        now = now_utc()
        await seed_users(db, first_id=PROBE_FIRST, count=2 * probes, now=now - timedelta(days=30))
        await seed_users(db, first_id=FAN_FIRST, count=fanout, now=now - timedelta(days=30))
        await analyze(db)
        reviews = ctx.pick(60, 10)
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
            await seed_reviews(db, reviews, first_id=REVIEW_FIRST, monday=now.date(), now=now_utc())
            for n in range(reviews):
                sandbox.user(REVIEW_FIRST + n, first_name=f"Owner {REVIEW_FIRST + n}")
            await wait_for(  # the reviews are due first (oldest first): either may lead
                lambda: fan_sends() + sum(1 for s in sandbox.sends if s.method == "sendPhoto")
                >= 10,
                60, "the fan-out to start", interval=0.05,
            )  # fmt: skip
            progress(f"latency: {BACKEND_NAMES[backend]}: {fanout} due; {probes} probes")
            first, started = fan_sends(), loop.time()
            loaded = await probe(
                sandbox, replies, users, rate=RATE, duration=duration, wait=TIMEOUT
            )
            fan_rate = (fan_sends() - first) / (loop.time() - started)
        replies.close()
        charts = sum(1 for s in sandbox.sends if s.method == "sendPhoto")
        return quiet, loaded, fan_rate, sandbox.errors_served.get(429, 0), charts


async def run(ctx: Context) -> Report:
    duration = ctx.pick(30.0, 3.0)
    report = Report(
        NAME,
        TITLE,
        f"{RATE:.0f} /checkin probes a second for {duration:.0f} s, each from a different owner, "
        "without and then during a fan-out of check-ins and weekly reviews; latency = command "
        "queued in the sandbox → reply received by the sandbox. See `bench/latency.py`.",
        headers=["database", "phase", "probes", "p50", "p90", "p99", "max",
                 "fan-out msg/s", "charts sent"],
    )  # fmt: skip
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        quiet, loaded, fan_rate, floods, charts = await measure(ctx, backend, duration)
        report.data[backend] = {
            "quiet": quiet, "loaded": loaded, "fan_rate": fan_rate, "floods": floods,
            "charts": charts,
        }  # fmt: skip
        for phase, values, rate in (("quiet", quiet, ""), ("loaded", loaded, fan_rate)):
            answered = sum(v is not None for v in values)
            p99 = ms(percentile(values, 99)) if tail_label(len(values)) == "p99" else "n < 300"
            report.rows.append(
                [name, phase, f"{answered}/{len(values)}", ms(percentile(values, 50)),
                 ms(percentile(values, 90)), p99, ms(percentile(values, 100)),
                 f"{rate:.1f}" if rate else "", str(charts) if rate else ""]
            )  # fmt: skip
        label = tail_label(min(len(quiet), len(loaded)))
        p50 = ratio(percentile(loaded, 50), percentile(quiet, 50))
        high = ratio(tail(loaded), tail(quiet))
        report.checks.append(
            Check(
                f"p50 / {label} loaded ÷ quiet, {name}",
                f"{fmt_ratio(p50)} / {fmt_ratio(high)}",
                "report",
                None,
                f"p50 {ms(percentile(quiet, 50))} → {ms(percentile(loaded, 50))}, "
                f"{label} {ms(tail(quiet))} → {ms(tail(loaded))} ({len(loaded)} probes a phase)"
                f" while the fan-out sent {fan_rate:.1f} msg/s and {charts} weekly charts went "
                f"out; {floods} 429s served",
            )
        )
    report.notes.append(
        "Replies and the fan-out share the bot's one overall window (30 sends in any 1.01 s): "
        "during a fan-out a reply waits for the next free slot, about 34 ms, behind sends "
        "already queued, on top of its handler's database work, which competes with the "
        "dispatcher's transactions (on SQLite, one writer at a time: a chart rendered inside the "
        "dispatcher's transaction holds everyone's write lock, see the weekly benchmark)."
    )
    return report
