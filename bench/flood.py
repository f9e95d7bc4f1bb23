"""6. Flooding: one user sending 50 messages a second must not slow everyone else down.

For each database: one bot process (`python -m bot run`, sandbox flood control on) and
onboarded users in a scratch database. Other users' latency is measured with /checkin probes as
in `bench/latency.py` (`RATE` a second, each from a different user; command queued in the
sandbox → reply received by the sandbox):

- baseline: probes for 8 s (5 with --quick), nobody flooding;
- flood: one onboarded user sends a text message 50 times a second for 10 s (7 with
  --quick; each text gets a "not understood" reply, which the bot paces at 1 a second in that
  chat); probes continue during the flood and for 15 s (5) after it, and every probe may wait
  until the end of that window for its reply.

Reported: other users' p50/p99 with and without the flooder and their ratio (target: a small
bound, here p99 ratio <= 3 and every probe answered), and for the flooder: replies received by
the end of the flood, the backlog of unanswered messages then (target: no pile-up, at most one
second of flood, 50), how fast it drains and how long it would take, and whether the bot stops
within 10 s (5 with --quick) of SIGTERM with that backlog. When other users stop getting
replies, the flooder's backlog at that moment is reported too (the first unanswered probe).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from bench.common import (
    BACKEND_NAMES,
    BotProcess,
    Check,
    Context,
    Replies,
    Report,
    cycle_users,
    fmt_ratio,
    ms,
    now_utc,
    percentile,
    probe,
    progress,
    ratio,
    scratch_database,
    seed_users,
)
from bot.sandbox import BotApiSandbox

NAME = "flood"
TITLE = "6. Flooding (other users' replies while one user sends 50 messages a second)"
PROBE_FIRST = 7_000_000
FLOODER = 7_900_000
RATE = 4.0
FLOOD_RATE = 50.0
TARGET_P99 = 3.0


async def flood(sandbox: BotApiSandbox, seconds: float) -> int:
    user = sandbox.user(FLOODER, first_name="Flooder")
    loop = asyncio.get_running_loop()
    start = loop.time()
    count = int(FLOOD_RATE * seconds)
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / FLOOD_RATE - loop.time()))
        await user.send_text(f"spam {n}")
    return count


@dataclass
class FloodResult:
    baseline: list[float | None]
    during: list[float | None]
    after: list[float | None]
    sent: int  # the flooder's messages
    answered_at_end: int  # replies to the flooder when the flood stopped
    left: int  # still unanswered at the end of the window
    drain_rate: float  # replies to the flooder a second after the flood
    drained_after: float | None  # seconds after the flood until the last reply, if seen
    window: float  # seconds watched after the flood
    stuck_after: float | None  # into the flood, when other users stopped getting replies
    backlog_when_stuck: int | None  # flooder's messages waiting for a reply at that moment
    clean_stop: bool
    stop_seconds: float
    floods_served: int = 0

    @property
    def backlog_end(self) -> int:
        return self.sent - self.answered_at_end


async def measure(
    ctx: Context, backend: str, baseline_s: float, flood_s: float, after_s: float,
    stop_timeout: float,
) -> FloodResult:  # fmt: skip
    probes = int(RATE * (baseline_s + flood_s + after_s)) + 10
    async with scratch_database(ctx, backend, NAME) as db, BotApiSandbox() as sandbox:
        sandbox.keep_request_log = False
        now = now_utc()
        await seed_users(db, first_id=PROBE_FIRST, count=probes, now=now - timedelta(days=30))
        await seed_users(db, first_id=FLOODER, count=1, now=now - timedelta(days=30))
        users = cycle_users(sandbox, PROBE_FIRST, probes)
        replies = Replies(sandbox)
        replies.track.add(FLOODER)
        loop = asyncio.get_running_loop()
        bot = BotProcess(ctx, sandbox, db.url, f"flood-{backend}")
        await bot.start()
        try:
            await bot.wait_ready(sandbox, replies, user_id=99_999_999)
            progress(f"flood: {BACKEND_NAMES[backend]}: baseline, {baseline_s:.0f} s")
            baseline = await probe(sandbox, replies, users, rate=RATE, duration=baseline_s, wait=30)
            progress(f"flood: {BACKEND_NAMES[backend]}: one user sends 50/s for {flood_s:.0f} s")
            flood_start = loop.time()
            deadline = flood_start + flood_s + after_s
            flooding = asyncio.create_task(flood(sandbox, flood_s))
            sent_at: list[float] = []
            during_task = asyncio.create_task(
                probe(sandbox, replies, users, rate=RATE, duration=flood_s, wait=0,
                      deadline=deadline, sent_at=sent_at)
            )  # fmt: skip
            sent = await flooding
            flood_end = loop.time()
            answered_at_end = replies.messages[FLOODER]
            after = await probe(
                sandbox, replies, users, rate=RATE, duration=after_s - 1, wait=0,
                deadline=deadline,
            )  # fmt: skip
            during = await during_task
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            window_end = loop.time()
            answered_at_window = replies.messages[FLOODER]
            times = list(replies.times.get(FLOODER, []))
        finally:
            stop_began = loop.time()
            clean = await bot.stop(grace=stop_timeout)
            stop_seconds = loop.time() - stop_began
        replies.close()
    stuck = next((at for at, v in zip(sent_at, during, strict=True) if v is None), None)
    backlog_when_stuck = None
    if stuck is not None:
        flooded_by_then = min(sent, int((stuck - flood_start) * FLOOD_RATE) + 1)
        backlog_when_stuck = flooded_by_then - sum(1 for t in times if t <= stuck)
    return FloodResult(
        baseline=baseline, during=during, after=after, sent=sent,
        answered_at_end=answered_at_end, left=sent - answered_at_window,
        drain_rate=(answered_at_window - answered_at_end) / (window_end - flood_end),
        drained_after=times[sent - 1] - flood_end if len(times) >= sent else None,
        window=window_end - flood_end,
        stuck_after=None if stuck is None else stuck - flood_start,
        backlog_when_stuck=backlog_when_stuck, clean_stop=clean, stop_seconds=stop_seconds,
        floods_served=sandbox.errors_served.get(429, 0),
    )  # fmt: skip


async def run(ctx: Context) -> Report:
    baseline_s = ctx.pick(8.0, 3.0)
    flood_s, after_s = ctx.pick(10.0, 4.0), ctx.pick(15.0, 3.0)
    stop_timeout = ctx.pick(10.0, 5.0)
    report = Report(
        NAME,
        TITLE,
        f"Baseline {baseline_s:.0f} s of {RATE:.0f} /checkin probes a second from other users, "
        f"then one user sends {FLOOD_RATE:.0f} texts a second for {flood_s:.0f} s while the "
        f"probes go on (and for {after_s:.0f} s after); a probe may wait for its reply until "
        f'the end of that window, else it counts as "no reply". See `bench/flood.py`.',
        headers=["database", "other users' probes", "answered", "p50", "p99", "max"],
    )
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        r = await measure(ctx, backend, baseline_s, flood_s, after_s, stop_timeout)
        groups = (
            ("baseline (no flood)", r.baseline),
            ("sent during the flood", r.during),
            ("sent after it stopped", r.after),
        )
        for label, values in groups:
            report.rows.append(
                [name, label, f"{sum(v is not None for v in values)}/{len(values)}",
                 *(ms(percentile(values, q)) for q in (50, 99, 100))]
            )  # fmt: skip
        flooded = r.during + r.after
        p50 = ratio(percentile(flooded, 50), percentile(r.baseline, 50))
        p99 = ratio(percentile(flooded, 99), percentile(r.baseline, 99))
        unanswered = sum(v is None for v in flooded)
        why = (
            f"other users: p50 {ms(percentile(r.baseline, 50))} → "
            f"{ms(percentile(flooded, 50))}, p99 {ms(percentile(r.baseline, 99))} → "
            f"{ms(percentile(flooded, 99))}; {unanswered} of {len(flooded)} probes got no reply "
            f"within the {r.window:.0f} s after the flood"
        )
        if r.stuck_after is not None:
            why += (
                f". Replies to everyone stopped {r.stuck_after:.1f} s into the flood, when "
                f"{r.backlog_when_stuck} of the flooder's updates were waiting for their paced "
                "reply: python-telegram-bot's `concurrent_updates(True)` runs at most 256 "
                "updates at once, and each flooder update holds its slot while its reply waits "
                "for the 1/s per-chat pacing"
            )
        report.checks.append(
            Check(f"others' p50 / p99 with ÷ without a flooder, {name}",
                  f"{fmt_ratio(p50)} / {fmt_ratio(p99)}",
                  f"p99 ≤ {TARGET_P99:.0f}, all answered", p99 <= TARGET_P99 and not unanswered,
                  why)
        )  # fmt: skip
        if r.drained_after is not None:
            drain = f"the backlog drained {r.drained_after:.0f} s after the flood stopped"
        else:
            projected = r.left / r.drain_rate if r.drain_rate > 0 else float("inf")
            drain = (
                f"{r.left} still unanswered {r.window:.0f} s after the flood; at "
                f"{r.drain_rate:.1f} replies/s that is ~{projected:.0f} s more"
            )
        stop = (
            f"SIGTERM stopped the bot in {r.stop_seconds:.1f} s"
            if r.clean_stop
            else f"the bot did not stop within {stop_timeout:.0f} s of SIGTERM and was killed "
            "(PTB's Application.stop waits for every queued update)"
        )
        report.checks.append(
            Check(
                f"flooder's backlog when the flood stops, {name}",
                f"{r.backlog_end} of {r.sent}",
                "no pile-up",
                r.backlog_end <= FLOOD_RATE,
                f"{r.answered_at_end} replies to the flooder during the flood (1/s per chat); "
                f"{drain}; {stop}; {r.floods_served} 429s served",
            )
        )
        progress(f"flood: {name}: p99 ratio {fmt_ratio(p99)}, backlog {r.backlog_end}")
    return report
