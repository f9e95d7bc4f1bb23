"""2. Fan-out: thousands of check-ins due the same minute, sent as fast as Telegram allows.

For each database: `COUNT` onboarded users (3,000; 600 with --quick) each with a check-in outbox
row due a minute ago are written straight into a scratch database; then one bot process
(`python -m bot run`, DISPATCH_INTERVAL_SECONDS=1) starts against the sandbox with its flood
control ON (Telegram's limits: 30 a second overall with a burst of 30, 1 a second per chat).

Measured from the sandbox's record of accepted sends (`sandbox.sends`): the rate from the first
to the last check-in sent, (n - 1) / (t_last - t_first), against the 30 a second limit (target
>= 27/s), the 429s the sandbox served (target 0), the most sends in any one second, and that
every row ends `sent`, each chat getting exactly one message.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from dataclasses import dataclass
from datetime import timedelta

from bench.common import (
    BACKEND_NAMES,
    Check,
    Context,
    Replies,
    Report,
    analyze,
    now_utc,
    outbox_counts,
    progress,
    running_bot,
    scratch_database,
    seed_checkins,
    seed_users,
    wait_for,
)
from bot.delivery.dispatcher import BATCH_SIZE
from bot.sandbox import BotApiSandbox, max_in_window

NAME = "fanout"
TITLE = "2. Fan-out (check-ins due the same minute vs the 30/s limit)"
FIRST_USER = 3_000_000
TARGET_RATE = 27.0


@dataclass
class FanoutResult:
    sent: int  # check-ins accepted by the sandbox
    duplicates: int  # extra messages to a chat that already had its check-in
    span: float  # seconds from the first to the last
    max_1s: int  # most sends in any one-second window
    floods: int  # 429s served
    other_errors: int
    rows_sent: int  # outbox rows marked sent
    typical_gap: float  # median time between two sends
    pauses: int  # gaps longer than twice the median
    pause_seconds: float  # time those pauses added
    batch_pauses: int  # ...of which among the first sends of a dispatcher batch
    batch_pause_seconds: float

    @property
    def rate(self) -> float:
        return (self.sent - 1) / self.span if self.sent > 1 and self.span > 0 else math.nan


async def measure(ctx: Context, backend: str, count: int) -> FanoutResult:
    async with (
        scratch_database(ctx, backend, NAME) as db,
        BotApiSandbox() as sandbox,  # flood control on: Telegram's limits
    ):
        sandbox.keep_request_log = False
        now = now_utc()
        await seed_users(db, first_id=FIRST_USER, count=count, now=now - timedelta(days=30))
        await seed_checkins(
            db, first_id=FIRST_USER, count=count, day=now.date(),
            due_at=now - timedelta(minutes=1), created_at=now - timedelta(days=1),
        )  # fmt: skip
        await analyze(db)
        chats = {FIRST_USER + n for n in range(count)}
        for chat_id in chats:
            sandbox.user(chat_id, first_name="Owner")
        replies = Replies(sandbox)

        def checkins_sent() -> int:
            return sum(1 for s in sandbox.sends if s.chat_id in chats)

        progress(f"fanout: {count} check-ins due on {BACKEND_NAMES[backend]}; starting the bot")
        async with running_bot(ctx, sandbox, replies, db, f"fanout-{backend}"):
            limit = count / 20 + 60
            try:
                await wait_for(lambda: checkins_sent() >= count, limit, "every check-in sent")
            except TimeoutError:
                progress(f"fanout: only {checkins_sent()}/{count} sent in {limit:.0f} s")
            await asyncio.sleep(1)  # the last rows get marked sent
        replies.close()
        counts = await outbox_counts(db)
        sends = [s for s in sandbox.sends if s.chat_id in chats]
        errors = sum(sandbox.errors_served.values())
        floods = sandbox.errors_served.get(429, 0)
    times = sorted(s.time for s in sends)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    typical = statistics.median(gaps) if gaps else math.nan
    # Pauses: gaps over twice the typical spacing, and those at a batch start (the dispatcher
    # claims BATCH_SIZE rows, composes them all at once, then sends them one by one): gap n is
    # between sends n and n + 1, so n % BATCH_SIZE < 3 is within a batch's first four sends.
    pauses = [(n, gap) for n, gap in enumerate(gaps) if gap > 2 * typical]
    at_batch = [gap for n, gap in pauses if n % BATCH_SIZE < 3]
    return FanoutResult(
        sent=len(sends),
        duplicates=len(sends) - len({s.chat_id for s in sends}),
        span=times[-1] - times[0] if len(times) > 1 else math.nan,
        max_1s=max_in_window(times, 1.0),
        floods=floods,
        other_errors=errors - floods,
        rows_sent=counts.get("sent", 0),
        typical_gap=typical,
        pauses=len(pauses),
        pause_seconds=sum(gap - typical for _, gap in pauses),
        batch_pauses=len(at_batch),
        batch_pause_seconds=sum(gap - typical for gap in at_batch),
    )


async def run(ctx: Context) -> Report:
    count = ctx.pick(3000, 600)
    report = Report(
        NAME,
        TITLE,
        f"{count:,} users due at once, one bot process (`python -m bot run`), sandbox flood "
        "control ON (30/s overall, 1/s per chat). Rate = (sends - 1) / (last send - first "
        "send) in `sandbox.sends`. See `bench/fanout.py`.",
        headers=["database", "sent", "seconds", "msg/s", "max in 1 s", "429s", "other errors",
                 "duplicates", "outbox rows sent"],
    )  # fmt: skip
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        r = await measure(ctx, backend, count)
        report.rows.append(
            [name, f"{r.sent}/{count}", f"{r.span:.1f}", f"{r.rate:.1f}", str(r.max_1s),
             str(r.floods), str(r.other_errors), str(r.duplicates), str(r.rows_sent)]
        )  # fmt: skip
        progress(f"fanout: {name}: {r.rate:.1f} msg/s, {r.floods} 429s")
        complete = r.sent == count and r.duplicates == 0 and r.rows_sent == count
        pace = 1 / r.typical_gap
        why = (
            f"{r.sent} of {count} check-ins in {r.span:.1f} s. Between pauses sends leave every "
            f"{r.typical_gap * 1000:.1f} ms (median, {pace:.1f}/s: the bot's PacedRateLimiter "
            f"is set to 28.5/s); {r.pauses} pauses longer than twice that cost "
            f"{r.pause_seconds:.1f} s, {r.batch_pauses} of them ({r.batch_pause_seconds:.1f} s) "
            f"between the first four sends of a {BATCH_SIZE}-row batch"
        )
        if not complete:
            why += "; NOT every user got exactly one check-in"
        report.checks.append(
            Check(f"msg/s, {name}", f"{r.rate:.1f}/s", f"≥ {TARGET_RATE:.0f}/s",
                  r.rate >= TARGET_RATE and complete, why)
        )  # fmt: skip
        report.checks.append(
            Check(f"429s served, {name}", str(r.floods), "0", r.floods == 0,
                  f"the busiest second held {r.max_1s} sends (Telegram allows about 30)")
        )  # fmt: skip
    report.notes.append(
        "How sends are paced: the dispatcher claims more rows while earlier ones are still "
        "going out, and composes, sends and marks one row at a time (`max_in_flight=1`), so the "
        "rate is the bot's PacedRateLimiter (28.5/s) less the pauses counted above."
    )
    return report
