"""7. A Monday: weekly reviews with their charts; startup time and the first chart's cost.

For each database: 30 onboarded owners (8 with --quick) with four weeks of completed
check-ins and their Monday review (`weekly_review`, the chart; `weekly_review_details`, the
words) due now, in a scratch database. The real dispatcher (`bot.delivery.dispatcher`, built by
`build_application` with `PAID_BROADCAST` so Telegram's 30 a second is not what is measured,
sandbox flood control off) sends them all, in this process. Every chart render
(`handlers.coaching.chart_png`) is timed (wall and the rendering thread's CPU) and, while it
runs, a second connection checks whether a write transaction is held on the database: on SQLite
by trying `BEGIN IMMEDIATE` without waiting, on PostgreSQL by looking for another backend with a
transaction id in `pg_stat_activity`. Reported: render time per owner p50/p90 (max beside it:
the sample is small), the total and the process CPU, extrapolated to 10,000 owners (linearly:
each owner's review is independent), and whether a write transaction was held while rendering.

Startup: `python -m bot run` against a migrated database, from the process start to its answer
to a first /help (migration check, polling, handlers). First chart: in a fresh interpreter, the
first `chart_png` (which imports matplotlib) against the second one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import handlers.coaching
from bench.common import (
    BACKEND_NAMES,
    ROOT,
    Check,
    Context,
    Database,
    Replies,
    Report,
    ms,
    outbox_counts,
    percentile,
    progress,
    running_bot,
    scratch_database,
    seed_users,
)
from bot.app import build_application
from bot.clock import MovableClock
from bot.config import Secret, Settings
from bot.db.models import CheckIn, OutboxMessage
from bot.sandbox import BotApiSandbox
from bot.services import reports, schedules
from bot.services.coaching import DayActivity

NAME = "weekly"
TITLE = "7. A Monday (weekly reviews with charts), startup and the first chart"
FIRST_USER = 8_000_000
MONDAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 0, 1, tzinfo=UTC)  # a minute after the reviews were due (00:00)
SCALE = 10_000


async def seed_reviews(
    db: Database,
    owners: int,
    *,
    first_id: int = FIRST_USER,
    monday: date = MONDAY,
    now: datetime = NOW,
) -> None:
    """`owners` owners with four weeks of check-ins and their review of `monday` due now."""
    await seed_users(db, first_id=first_id, count=owners, now=now - timedelta(days=60))
    async with AsyncSession(db.engine) as session, session.begin():
        ids = (
            await session.execute(
                text("SELECT id FROM user_account WHERE telegram_id >= :f AND telegram_id < :t"),
                {"f": first_id, "t": first_id + owners},
            )
        ).scalars()
        due = min(now - timedelta(minutes=1), datetime.combine(monday, datetime.min.time(), UTC))
        for user_id in ids:
            for n in range(1, 29):
                day = monday - timedelta(days=n)
                moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
                session.add(
                    CheckIn(
                        user_id=user_id, local_date=day, step="done", contacts=(n * 7) % 9,
                        meetings=n % 3, proposals=n % 2, block_done="yes", asked_at=moment,
                        completed_at=moment,
                    )
                )  # fmt: skip
            for kind, before in ((reports.WEEKLY_REVIEW_KIND, 2), (reports.WEEKLY_DETAILS_KIND, 1)):
                session.add(
                    OutboxMessage(
                        user_id=user_id, kind=kind,
                        dedupe_key=schedules.review_key(kind, user_id, monday),
                        due_at=due - timedelta(seconds=before),
                        payload={"monday": monday.isoformat()}, status="pending", attempts=0,
                        created_at=now - timedelta(days=7),
                    )
                )  # fmt: skip


class WriteProbe:
    """From the rendering thread: is a write transaction held on the database right now?"""

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        self.db = db
        self.loop = loop

    def held(self) -> bool:
        if self.db.is_sqlite:
            path = self.db.url.split(":///", 1)[1]
            conn = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                conn.close()
        return asyncio.run_coroutine_threadsafe(self._pg(), self.loop).result(10)

    async def _pg(self) -> bool:
        async with self.db.engine.connect() as conn:
            held = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND backend_xid IS NOT NULL "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar_one()
            await conn.rollback()
        return int(held) > 0


async def monday(ctx: Context, backend: str, owners: int) -> dict[str, Any]:
    async with (
        scratch_database(ctx, backend, NAME) as db,
        BotApiSandbox(flood_control=False) as sandbox,
    ):
        sandbox.keep_request_log = False
        await seed_reviews(db, owners)
        for n in range(owners):
            sandbox.user(FIRST_USER + n, first_name=f"Owner {FIRST_USER + n}")
        settings = Settings(
            token=Secret(sandbox.token),
            database_url=db.url,
            api_base_url=sandbox.base_url,
            api_file_url=sandbox.base_file_url,
            paid_broadcast=True,
        )
        application = build_application(settings, clock=MovableClock(NOW), dispatch=False)
        probe = WriteProbe(db, asyncio.get_running_loop())
        renders: list[tuple[float, float, bool]] = []  # wall s, thread CPU s, write held
        original = handlers.coaching.chart_png

        def timed_chart(lang: str, review: reports.Review) -> bytes:
            held = probe.held()
            wall, cpu = time.perf_counter(), time.thread_time()
            png = original(lang, review)
            renders.append((time.perf_counter() - wall, time.thread_time() - cpu, held))
            return png

        handlers.coaching.chart_png = timed_chart
        await application.initialize()
        try:
            assert application.post_init is not None
            await application.post_init(application)
            original("en", sample_review())  # matplotlib's import is measured on its own below
            cpu, started = time.process_time(), time.perf_counter()
            for _ in range(20):
                await application.bot_data.dispatcher.tick()
                counts = await outbox_counts(db)
                if counts.get("pending", 0) == 0 and counts.get("claimed", 0) == 0:
                    break
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
        finally:
            handlers.coaching.chart_png = original
            assert application.post_shutdown is not None
            await application.post_shutdown(application)
            await application.shutdown()
        photos = sum(1 for s in sandbox.sends if s.method == "sendPhoto")
        return {
            "owners": owners,
            "seconds": seconds,
            "cpu": cpu,
            "photos": photos,
            "messages": len(sandbox.sends),
            "counts": counts,
            "render_wall": [r[0] for r in renders],
            "render_cpu": [r[1] for r in renders],
            "write_held": sum(r[2] for r in renders),
            "threads": threading.active_count(),
        }


def sample_review() -> reports.Review:
    """Four weeks of activity, as the Monday review draws them."""
    days = tuple(
        DayActivity(MONDAY - timedelta(days=n), (n * 7) % 9, n % 3, n % 2) for n in range(28, 0, -1)
    )
    return reports.Review(
        first=days[0].day, last=days[-1].day, week=reports.Totals(0, 0, 0, 0), before=None,
        weeks_before=0, reported_days=7, goal=None, expiring=(), chart=days,
    )  # fmt: skip


FIRST_CHART = """
import time
started = time.perf_counter()
from handlers.coaching import chart_png
from bench.weekly import sample_review
imported = time.perf_counter()
review = sample_review()
t = time.perf_counter(); chart_png("en", review); first = time.perf_counter() - t
t = time.perf_counter(); chart_png("en", review); second = time.perf_counter() - t
print(imported - started, first, second)
"""


def first_chart() -> tuple[float, float, float]:
    """(import of the bot's chart code, first chart with matplotlib's import, second chart)."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CHART], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


async def startup(ctx: Context, backend: str) -> float:
    async with scratch_database(ctx, backend, "startup") as db, BotApiSandbox() as sandbox:
        sandbox.keep_request_log = False
        replies = Replies(sandbox)
        began = time.perf_counter()
        async with running_bot(ctx, sandbox, replies, db, f"startup-{backend}"):
            took = time.perf_counter() - began
        replies.close()
        return took


async def run(ctx: Context) -> Report:
    owners = ctx.pick(30, 8)
    report = Report(
        NAME,
        TITLE,
        f"{owners} owners' Monday reviews (chart, then details) due at once, sent by the real "
        "dispatcher in this process with PAID_BROADCAST and the sandbox's flood control off; "
        f"extrapolated to {SCALE:,} owners. See `bench/weekly.py`.",
        headers=["database", "owners", "charts sent", "messages", "total", "CPU (process)",
                 "render p50", "render p90", "render max", "render CPU p50",
                 f"{SCALE:,} owners (extrapolated)", "renders under a write transaction"],
    )  # fmt: skip
    for backend in ctx.slow_backends:
        name = BACKEND_NAMES[backend]
        progress(f"weekly: {owners} reviews on {name}")
        r = await monday(ctx, backend, owners)
        report.data[backend] = r
        walls, cpus = r["render_wall"], r["render_cpu"]
        per_owner = r["seconds"] / owners
        report.rows.append(
            [name, str(owners), str(r["photos"]), str(r["messages"]), f"{r['seconds']:.1f} s",
             f"{r['cpu']:.1f} s", ms(percentile(walls, 50)), ms(percentile(walls, 90)),
             ms(max(walls, default=float("nan"))), ms(percentile(cpus, 50)),
             f"{per_owner * SCALE / 60:.0f} min, CPU {r['cpu'] / owners * SCALE / 60:.0f} min",
             f"{r['write_held']} of {len(walls)}"]
        )  # fmt: skip
        report.checks.append(
            Check(
                f"no write transaction held while rendering, {name}",
                f"{r['write_held']} of {len(walls)} renders under one",
                "0",
                r["write_held"] == 0 and len(walls) > 0,
                "the dispatcher composes a row inside its transaction "
                "(`Dispatcher._compose_and_send`), and `compose_weekly_review` plans next "
                "Monday (a write) before drawing the chart in a thread: the write lock (SQLite: "
                "every transaction is BEGIN IMMEDIATE) is held for the whole render"
                if r["write_held"]
                else "each chart is drawn with no write transaction open",
            )
        )
        report.checks.append(
            Check(
                f"a Monday of {SCALE:,} reviews, {name}",
                f"{per_owner * SCALE / 60:.0f} min (render p50 {ms(percentile(walls, 50))}, "
                f"p90 {ms(percentile(walls, 90))})",
                "report",
                None,
                f"{owners} owners took {r['seconds']:.1f} s and {r['cpu']:.1f} s of CPU (two "
                f"messages each), so {SCALE:,} take about {per_owner * SCALE / 60:.0f} min and "
                f"{r['cpu'] / owners * SCALE / 60:.0f} min of CPU on this machine, one row at a "
                f"time; without PAID_BROADCAST the {2 * SCALE:,} messages alone need "
                f"{2 * SCALE / 29.7 / 60:.0f} min at 29.7/s",
            )
        )
    imported, first, second = first_chart()
    report.data["first_chart"] = {"import": imported, "first": first, "second": second}
    report.checks.append(
        Check(
            "first chart's import cost",
            f"{ms(first - second)} (first chart {ms(first)}, next {ms(second)})",
            "report",
            None,
            f"importing the bot's handlers takes {ms(imported)}; matplotlib is imported on the "
            "first chart (inside `activity_chart`), so a bot that never draws does not pay it",
        )
    )
    for backend in ctx.slow_backends:
        took = await startup(ctx, backend)
        report.data[f"{backend}.startup"] = took
        report.checks.append(
            Check(
                f"startup to the first handled update, {BACKEND_NAMES[backend]}",
                ms(took),
                "report",
                None,
                "`python -m bot run` started → its answer to /help arrived at the sandbox "
                "(interpreter, imports, migration check, first poll)",
            )
        )
    return report
