"""What the benchmarks share: scratch databases, bulk seeding, the bot as a subprocess, reply
timing through the sandbox, percentiles and the report each benchmark returns.

Nothing here changes the application: the benchmarks drive the real code (`build_application`,
`python -m bot run`, `bot.db.outbox.claim_due`) against the local Bot API sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import normalize_database_url
from bot.db.migrate import upgrade_to_head
from bot.db.session import create_engine
from bot.sandbox import BotApiSandbox, SandboxUser
from bot.sandbox.models import ChatEvent

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_STARTED = time.monotonic()


# ---------------------------------------------------------------------------- run context


@dataclass
class Context:
    """Options of one `python -m bench` run, shared by every benchmark."""

    quick: bool
    backends: tuple[str, ...]
    workdir: Path
    skipped_backends: dict[str, str] = field(default_factory=dict)

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    @property
    def slow_backends(self) -> tuple[str, ...]:
        """The databases a benchmark measures: with --quick (a smoke test), only the first."""
        return self.backends[:1] if self.quick else self.backends


def progress(message: str) -> None:
    """One progress line on stderr-free stdout, stamped with the time since the run began."""
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


# ---------------------------------------------------------------------------- report


@dataclass
class Check:
    """One target: what was measured, against what, met or not (None: reported only), why."""

    name: str
    value: str
    target: str
    met: bool | None
    why: str

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "reported"}[self.met]


@dataclass
class Report:
    """What a benchmark hands back: a table, its checks against targets, notes, extra text."""

    name: str
    title: str
    method: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: str = ""
    seconds: float = 0.0
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the raw measurements, for the JSON

    def to_json(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["seconds"] = round(self.seconds)
        for check, raw in zip(record["checks"], self.checks, strict=True):
            check["verdict"] = raw.verdict
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Report:
        fields = {f.name for f in dataclasses.fields(cls)}
        report = cls(**{k: v for k, v in record.items() if k in fields and k != "checks"})
        report.checks = [
            Check(**{k: v for k, v in c.items() if k != "verdict"}) for c in record["checks"]
        ]
        return report

    def print(self) -> None:
        print()
        print(f"== {self.title} ({self.seconds:.0f} s)")
        if self.error:
            print(f"   FAILED: {self.error}")
        if self.rows:
            print(text_table(self.headers, self.rows))
        for check in self.checks:
            print(f"-> {check.name}: {check.value} (target {check.target}): {check.verdict}")
            print(f"   {check.why}")
        for note in self.notes:
            print(f"   note: {note}")
        print(flush=True)

    def markdown(self) -> str:
        parts = [f"## {self.title}", "", self.method, ""]
        if self.error:
            parts += [f"**The benchmark failed:** `{self.error}`", ""]
        if self.rows:
            parts += [markdown_table(self.headers, self.rows), ""]
        if self.checks:
            parts += [
                markdown_table(
                    ["target", "measured", "wanted", "verdict", "why"],
                    [[c.name, c.value, c.target, f"**{c.verdict}**", c.why] for c in self.checks],
                ),
                "",
            ]
        if self.notes:
            parts += [f"- {note}" for note in self.notes] + [""]
        if self.extra:
            parts += [self.extra.rstrip(), ""]
        parts.append(f"_Run time of this benchmark: {self.seconds:.0f} s._")
        return "\n".join(parts) + "\n"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [
        "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    return "\n".join("   " + line for line in lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("| " + " | ".join("---" for _ in headers) + " |")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- numbers


def percentile(values: Sequence[float | None], q: float) -> float:
    """Nearest-rank percentile; a missing value (no reply in time) counts as infinitely late."""
    if not values:
        return math.nan
    ordered = sorted(math.inf if v is None else v for v in values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def tail_label(n: int) -> str:
    """The highest percentile a sample of n supports: p99 needs hundreds, p90 tens."""
    return "p99" if n >= 300 else "p90" if n >= 30 else "max"


def tail(values: Sequence[float | None]) -> float:
    return percentile(values, {"p99": 99, "p90": 90, "max": 100}[tail_label(len(values))])


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if math.isinf(seconds):
        return "no reply"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def ratio(a: float, b: float) -> float:
    if b == 0 or math.isnan(a) or math.isnan(b):
        return math.nan
    if math.isinf(a):
        return math.inf
    return a / b


def fmt_ratio(value: float) -> str:
    if math.isnan(value):
        return "-"
    return "∞" if math.isinf(value) else f"{value:.2f}"


# ---------------------------------------------------------------------------- databases


@dataclass
class Database:
    backend: str
    url: str
    engine: AsyncEngine

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def postgres_version() -> str | None:
    """The server's version, or None when PostgreSQL does not answer."""
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_dsn(POSTGRES_ADMIN_URL)), 3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scratch_database(ctx: Context, backend: str, label: str) -> AsyncIterator[Database]:
    """A new migrated database (an SQLite file, or a PostgreSQL database), removed afterwards."""
    directory: Path | None = None
    name = ""
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=ctx.workdir))
        url = f"sqlite+aiosqlite:///{directory / 'coach.db'}"
    else:
        name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(_dsn(POSTGRES_ADMIN_URL))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = normalize_database_url(POSTGRES_ADMIN_URL).rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
        yield Database(backend, url, engine)
    finally:
        await engine.dispose()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            conn = await asyncpg.connect(_dsn(POSTGRES_ADMIN_URL))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()


def sqlite_stamp(moment: datetime) -> str:
    """How UTCDateTime stores a moment in SQLite (naive UTC text, microseconds)."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


async def seed_users(db: Database, *, first_id: int, count: int, now: datetime) -> None:
    """`count` onboarded users, telegram and chat id `first_id + n`, check-in every day 00:00 UTC,
    half in English and half in French: generated by the database itself (fast at 100,000)."""
    columns = (
        "telegram_id, chat_id, first_name, language, timezone, checkin_time, checkin_days, "
        "currency, onboarded_at, created_at, updated_at"
    )
    if db.is_sqlite:
        sql = f"""
            WITH RECURSIVE seq(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM seq WHERE g + 1 < :n)
            INSERT INTO user_account ({columns})
            SELECT :first + g, :first + g, 'Owner ' || (:first + g),
                   CASE WHEN g % 2 = 0 THEN 'en' ELSE 'fr' END, 'UTC', '00:00:00.000000', 127,
                   'EUR', :now, :now, :now
            FROM seq"""
        params: dict[str, Any] = {"n": count, "first": first_id, "now": sqlite_stamp(now)}
    else:
        sql = f"""
            INSERT INTO user_account ({columns})
            SELECT CAST(:first AS BIGINT) + g, CAST(:first AS BIGINT) + g,
                   'Owner ' || (CAST(:first AS BIGINT) + g),
                   CASE WHEN g % 2 = 0 THEN 'en' ELSE 'fr' END, 'UTC', TIME '00:00', 127,
                   'EUR', CAST(:now AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ),
                   CAST(:now AS TIMESTAMPTZ)
            FROM generate_series(0, CAST(:n AS INTEGER) - 1) AS g"""
        params = {"n": count, "first": first_id, "now": now}
    async with db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def seed_checkins(
    db: Database,
    *,
    first_id: int,
    count: int,
    day: date,
    due_at: datetime,
    created_at: datetime,
) -> None:
    """A pending check-in outbox row for `day` (due `due_at`) for each of those users."""
    if db.is_sqlite:
        sql = """
            INSERT INTO outbox_message
                (user_id, kind, dedupe_key, due_at, payload, status, attempts, created_at)
            SELECT id, 'checkin', 'checkin:' || id || ':' || :day, :due, :payload, 'pending', 0,
                   :created
            FROM user_account WHERE telegram_id >= :first AND telegram_id < :first + :n"""
        params: dict[str, Any] = {
            "due": sqlite_stamp(due_at),
            "created": sqlite_stamp(created_at),
        }
    else:
        sql = """
            INSERT INTO outbox_message
                (user_id, kind, dedupe_key, due_at, payload, status, attempts, created_at)
            SELECT id, 'checkin', 'checkin:' || id || ':' || CAST(:day AS TEXT),
                   CAST(:due AS TIMESTAMPTZ), CAST(:payload AS JSON), 'pending', 0,
                   CAST(:created AS TIMESTAMPTZ)
            FROM user_account
            WHERE telegram_id >= CAST(:first AS BIGINT)
              AND telegram_id < CAST(:first AS BIGINT) + CAST(:n AS BIGINT)"""
        params = {"due": due_at, "created": created_at}
    params.update(
        day=day.isoformat(), payload=f'{{"date": "{day.isoformat()}"}}', first=first_id, n=count
    )
    async with db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def analyze(db: Database) -> None:
    """Fresh planner statistics on PostgreSQL (autovacuum would gather them within a minute)."""
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))


async def outbox_counts(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status, count(*) FROM outbox_message GROUP BY status")
        )
        return {str(status): int(n) for status, n in rows.all()}


# ---------------------------------------------------------------------------- sandbox side


class Replies:
    """Watches the sandbox for the bot's messages and edits, per chat, as they happen.

    `expect(chat_id)` returns a future resolved with the next bot message or edit in that chat
    (the ChatEvent, whose `time` is the sandbox's monotonic clock, the same as the event loop's).
    A listener, not polling: waiting users cost nothing while the bot works.
    """

    def __init__(self, sandbox: BotApiSandbox) -> None:
        self.sandbox = sandbox
        self.messages: Counter[int] = Counter()
        self.times: dict[int, list[float]] = {}
        self.track: set[int] = set()
        self._waiters: dict[int, list[asyncio.Future[ChatEvent]]] = {}
        sandbox.add_listener(self._on_event)

    def _on_event(self, event: ChatEvent) -> None:
        if event.actor != "bot" or event.kind not in ("message", "edit"):
            return
        if event.kind == "message":
            self.messages[event.chat_id] += 1
            if event.chat_id in self.track:
                self.times.setdefault(event.chat_id, []).append(event.time)
        for waiter in self._waiters.pop(event.chat_id, []):
            if not waiter.done():
                waiter.set_result(event)

    def expect(self, chat_id: int) -> asyncio.Future[ChatEvent]:
        waiter: asyncio.Future[ChatEvent] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(chat_id, []).append(waiter)
        return waiter

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.sandbox.remove_listener(self._on_event)


async def timed_command(
    sandbox: BotApiSandbox,
    replies: Replies,
    user: SandboxUser,
    command: str,
    *,
    deadline: float,
) -> float | None:
    """Seconds from the command entering the sandbox's update queue to the bot's reply in that
    chat arriving at the sandbox; None when no reply came before `deadline` (loop time)."""
    waiter = replies.expect(user.chat_id)
    sent = sandbox.clock()
    await user.send_command(command)
    try:
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.01)
        event = await asyncio.wait_for(waiter, remaining)
    except TimeoutError:
        return None
    return event.time - sent


async def probe(
    sandbox: BotApiSandbox,
    replies: Replies,
    users: Iterator[SandboxUser],
    *,
    rate: float,
    duration: float,
    wait: float,
    command: str = "/checkin",
    deadline: float | None = None,
    sent_at: list[float] | None = None,
) -> list[float | None]:
    """Open-loop probes: `rate` commands a second for `duration` s, each from the next user;
    each waits up to `wait` s for its reply (or until `deadline`, loop time, if given).
    `sent_at`, if given, receives each probe's send time (loop time)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[float | None]] = []
    for n in range(max(1, int(rate * duration))):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        if sent_at is not None:
            sent_at.append(loop.time())
        limit = deadline if deadline is not None else loop.time() + wait
        tasks.append(
            asyncio.create_task(
                timed_command(sandbox, replies, next(users), command, deadline=limit)
            )
        )
    return list(await asyncio.gather(*tasks))


async def wait_for(condition: Any, limit: float, what: str, *, interval: float = 0.1) -> None:
    """Poll `condition()` until true; raise TimeoutError naming `what` after `limit` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():  # noqa: ASYNC110 - the sandbox's records have no event to wait on
        if loop.time() > deadline:
            raise TimeoutError(f"{what} not reached in {limit:.0f} s")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------------------- bot subprocess


class BotProcess:
    """`python -m bot run` against the sandbox, in its own process (as deployed)."""

    def __init__(
        self, ctx: Context, sandbox: BotApiSandbox, database_url: str, name: str, **extra: str
    ) -> None:
        self.log = ctx.workdir / f"{name}.log"
        self.cwd = ctx.workdir  # not the repository: no .env of a developer is read
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_", "DISPATCH_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=sandbox.token,
            TELEGRAM_API_BASE_URL=sandbox.base_url,
            TELEGRAM_API_FILE_URL=sandbox.base_file_url,
            DATABASE_URL=database_url,
            DISPATCH_INTERVAL_SECONDS="1",
            LOG_LEVEL="WARNING",
        )
        env.update(extra)
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, cwd=self.cwd,
                stdout=log, stderr=log,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (resident now) and VmHWM (peak resident) from /proc/<pid>/status, in KiB."""
        values: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
        return values

    async def stop(self, grace: float = 15.0) -> bool:
        """SIGTERM and wait; SIGKILL after `grace` s. True when it stopped by itself."""
        process = self.process
        if process is None or process.returncode is not None:
            return True
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
            return True
        except TimeoutError:
            process.kill()
            await process.wait()
            return False

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_ready(self, sandbox: BotApiSandbox, replies: Replies, user_id: int) -> None:
        """Until the bot answers a /help (migrated, polling, warmed up)."""
        user = sandbox.user(user_id, first_name="Warm-up")
        loop = asyncio.get_running_loop()
        answer = await timed_command(sandbox, replies, user, "/help", deadline=loop.time() + 60)
        if answer is None:
            raise RuntimeError(f"the bot did not start; log tail:\n{self.log_tail()}")


@contextlib.asynccontextmanager
async def running_bot(
    ctx: Context, sandbox: BotApiSandbox, replies: Replies, db: Database, name: str, **extra: str
) -> AsyncIterator[BotProcess]:
    bot = BotProcess(ctx, sandbox, db.url, name, **extra)
    await bot.start()
    try:
        await bot.wait_ready(sandbox, replies, user_id=99_999_999)
        yield bot
    finally:
        await bot.stop()


def cycle_users(
    sandbox: BotApiSandbox, first_id: int, count: int, name: str = "Probe"
) -> Iterator[SandboxUser]:
    """Each of these users once, in order (probes never reuse a user within a run)."""
    for n in range(count):
        yield sandbox.user(first_id + n, first_name=f"{name} {n}")
    raise RuntimeError("ran out of probe users")


def machine() -> list[tuple[str, str]]:
    """What the numbers were measured on (filled in by __main__ with database versions)."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return [
        ("nproc", str(os.cpu_count())),
        ("CPU", cpu),
        ("RAM", ram),
        ("Python", sys.version.split()[0]),
    ]


def now_utc() -> datetime:
    return datetime.now(UTC)
