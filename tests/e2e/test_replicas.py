"""Replicas, crashes and faults: every scheduled message delivered once, within Telegram's limits.

Bot processes run as real subprocesses against the sandbox and a shared PostgreSQL database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import OutboxMessage, OutboxStatus, User
from bot.delivery.leader import DISPATCH_LOCK_KEY
from bot.sandbox import BotApiSandbox
from tests.e2e.processes import BotProcess, free_port
from tests.e2e.processes import bot_env as base_env

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
# These tests poll the database and the sandbox's logs, which have no events to wait on.
# ruff: noqa: ASYNC110

SEND = "sendMessage"
SECRET = "replica-secret_42"


@pytest.fixture
async def lenient_sandbox() -> AsyncIterator[BotApiSandbox]:
    """A sandbox whose refusals these tests provoke on purpose and check themselves."""
    async with BotApiSandbox() as server:
        yield server


def bot_env(sandbox: BotApiSandbox, database_url: str, **extra: str) -> dict[str, str]:
    """Fast ticks, short claim timeouts and back-off: crashes and faults resolve in seconds."""
    return base_env(
        sandbox, database_url, DISPATCH_INTERVAL_SECONDS="0.3", CLAIM_TIMEOUT_SECONDS="3",
        RETRY_BACKOFF_SECONDS="0.3", LOG_LEVEL="INFO", **extra,
    )  # fmt: skip


async def seed_due_checkins(
    engine: AsyncEngine,
    sandbox: BotApiSandbox,
    count: int,
    first_id: int = 10_000,
    *,
    known: bool = True,
) -> list[int]:
    """`count` onboarded users whose check-in is due now; returns their chat ids.

    `known=False` leaves their chats unknown to the sandbox, which answers 400 "chat not found".
    """
    now = datetime.now(UTC)
    ids = list(range(first_id, first_id + count))
    for chat_id in ids if known else []:
        sandbox.user(chat_id, first_name=f"Owner {chat_id}")
    users = [
        {
            "telegram_id": i, "chat_id": i, "first_name": f"Owner {i}",
            "language": "en" if i % 2 else "fr", "timezone": "UTC", "checkin_time": time(0, 0),
            "checkin_days": 0b1111111, "currency": "EUR", "onboarded_at": now,
            "created_at": now, "updated_at": now,
        }
        for i in ids
    ]  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(insert(User), users)
        rows = (
            await conn.execute(select(User.id, User.telegram_id).where(User.telegram_id.in_(ids)))
        ).all()
        await conn.execute(
            insert(OutboxMessage),
            [
                {
                    "user_id": user_id, "kind": "checkin",
                    "dedupe_key": f"checkin:{user_id}:{now.date()}",
                    "due_at": now - timedelta(minutes=1),
                    "payload": {"date": now.date().isoformat()},
                    "status": OutboxStatus.PENDING, "attempts": 0,
                    "created_at": now - timedelta(days=1),
                }
                for user_id, _ in rows
            ],
        )  # fmt: skip
    return ids


async def wait_until_settled(engine: AsyncEngine, limit: float) -> dict[str, int]:
    """Wait until no seeded check-in is pending or claimed; returns the counts by status."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        async with engine.connect() as conn:
            counts = dict(
                (
                    await conn.execute(
                        select(OutboxMessage.status, func.count())
                        .where(
                            OutboxMessage.kind == "checkin",
                            OutboxMessage.created_at < seeded_before(),
                        )
                        .group_by(OutboxMessage.status)
                    )
                ).all()
            )
        if not counts.get(OutboxStatus.PENDING) and not counts.get(OutboxStatus.CLAIMED):
            return counts
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"outbox not drained in {limit}s: {counts}")
        await asyncio.sleep(0.5)


def seeded_before() -> datetime:
    """Seeded rows are dated a day back; the check-ins the bot plans next are dated now."""
    return datetime.now(UTC) - timedelta(hours=12)


def sends_per_chat(sandbox: BotApiSandbox) -> Counter[int]:
    return Counter(s.chat_id for s in sandbox.sends if s.method == SEND)


def assert_within_limits(sandbox: BotApiSandbox) -> None:
    assert sandbox.max_sends_in_window(1.0) <= 30
    per_chat = Counter(s.chat_id for s in sandbox.sends)
    busiest = [chat for chat, n in per_chat.items() if n > 1]
    assert all(sandbox.max_sends_in_window(1.0, chat) <= 1 for chat in busiest)
    assert sandbox.errors_served.get(429, 0) == 0, "the bot's own pacing must avoid flood errors"


async def test_two_replicas_deliver_2000_checkins_exactly_once(
    engine: AsyncEngine, database_url: str, lenient_sandbox: BotApiSandbox, tmp_path: Path
) -> None:
    sandbox = lenient_sandbox
    chats = await seed_due_checkins(engine, sandbox, 2000)
    replicas = [
        BotProcess(bot_env(sandbox, database_url), tmp_path / f"bot{i}.log") for i in range(2)
    ]
    for replica in replicas:
        await replica.start()
    try:
        counts = await wait_until_settled(engine, limit=150)
    finally:
        for replica in replicas:
            await replica.stop()
    assert counts == {OutboxStatus.SENT: 2000}
    per_chat = sends_per_chat(sandbox)
    assert set(per_chat) == set(chats) and set(per_chat.values()) == {1}
    assert_within_limits(sandbox)


async def test_a_replica_killed_mid_fanout_loses_nothing(
    engine: AsyncEngine, database_url: str, lenient_sandbox: BotApiSandbox, tmp_path: Path
) -> None:
    sandbox = lenient_sandbox
    chats = await seed_due_checkins(engine, sandbox, 400)
    first = BotProcess(bot_env(sandbox, database_url), tmp_path / "first.log")
    second = BotProcess(bot_env(sandbox, database_url), tmp_path / "second.log")
    await first.start()
    while len(sandbox.sends) < 100:
        await asyncio.sleep(0.05)
    first.kill()  # mid-send, no clean-up
    await first.wait()
    await second.start()
    try:
        counts = await wait_until_settled(engine, limit=90)
    finally:
        await second.stop()
    assert counts == {OutboxStatus.SENT: 400}
    per_chat = sends_per_chat(sandbox)
    assert set(per_chat) == set(chats)
    assert sum(n - 1 for n in per_chat.values()) <= 1, "at most the message in flight is repeated"


async def test_injected_faults_are_retried_and_400s_are_not(
    engine: AsyncEngine, database_url: str, lenient_sandbox: BotApiSandbox, tmp_path: Path
) -> None:
    sandbox = lenient_sandbox
    chats = await seed_due_checkins(engine, sandbox, 200)
    # Five users whose chat Telegram does not know: a 400, final.
    ghosts = await seed_due_checkins(engine, sandbox, 5, first_id=90_000, known=False)
    sandbox.inject_faults(0.1, kinds=("429", "5xx", "drop"), seed=7, retry_after=1)
    bot = BotProcess(bot_env(sandbox, database_url), tmp_path / "bot.log")
    await bot.start()
    try:
        counts = await wait_until_settled(engine, limit=120)
    finally:
        await bot.stop()
    assert counts == {OutboxStatus.SENT: 200, OutboxStatus.FAILED: 5}
    per_chat = sends_per_chat(sandbox)
    assert set(per_chat) == set(chats) and set(per_chat.values()) == {1}
    faults = Counter(f.kind for f in sandbox.faults)
    assert faults["429"] and faults["5xx"] and faults["drop"]
    requests = [r for r in sandbox.requests if r.method == SEND]
    for ghost in ghosts:
        tries = [r for r in requests if str(r.params.get("chat_id")) == str(ghost)]
        # Injected faults may come first; once Telegram said 400, the bot never asks again.
        assert [r.status for r in tries][-1] == 400 and sum(r.status == 400 for r in tries) == 1
    for flood in (r for r in requests if r.status == 429):
        too_soon = [r for r in requests if flood.time + 0.05 < r.time < flood.time + 0.95]
        assert not too_soon, "a send went out before retry_after had passed"
    assert sandbox.max_sends_in_window(1.0) <= 30


async def test_acknowledged_webhook_updates_survive_a_kill_and_redelivery_is_handled_once(
    engine: AsyncEngine, database_url: str, lenient_sandbox: BotApiSandbox, tmp_path: Path
) -> None:
    sandbox = lenient_sandbox
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    env = bot_env(
        sandbox, database_url, WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port),
    )  # fmt: skip
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start("--webhook")
    while sandbox.webhook is None:
        await asyncio.sleep(0.05)
    users = [sandbox.user(500 + i, first_name=f"Hook {i}") for i in range(20)]
    sent = [await user.send_command("/help") for user in users]
    while sum(1 for d in sandbox.webhook_deliveries if d.ok) < len(users):
        await asyncio.sleep(0.01)
    bot.kill()  # right after Telegram heard 200 for every update
    await bot.wait()
    await bot.start("--webhook")
    try:
        for user in users:
            await user.wait_for(lambda m: "/checkin" in (m.get("text") or ""), timeout=20)
        replies_before = len(users[0].messages)
        # Telegram delivers the first update again (it never heard our 200, say).
        redelivered = {"update_id": sandbox.webhook_deliveries[0].update_id, "message": sent[0]}
        async with httpx.AsyncClient() as client:
            again = await client.post(
                url, json=redelivered, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
        assert again.status_code == 200
        await asyncio.sleep(1.0)
        assert len(users[0].messages) == replies_before, "a redelivered update is handled once"
    finally:
        await bot.stop()
    replies = [sum("/checkin" in (m.get("text") or "") for m in user.messages) for user in users]
    assert min(replies) == 1, "no acknowledged update is lost"
    # Handled but not yet marked when the process died: that update, in hand, may repeat once.
    assert max(replies) <= 2


async def test_killing_the_leaders_lock_connection_mid_fanout_never_overlaps_senders(
    engine: AsyncEngine, database_url: str, lenient_sandbox: BotApiSandbox, tmp_path: Path
) -> None:
    sandbox = lenient_sandbox
    chats = await seed_due_checkins(engine, sandbox, 600)
    replicas = [
        BotProcess(bot_env(sandbox, database_url), tmp_path / f"bot{i}.log") for i in range(2)
    ]
    for replica in replicas:
        await replica.start()
    try:
        while len(sandbox.sends) < 150:
            await asyncio.sleep(0.05)
        # The leader's lock connection dies (an admin, a network cut); its process lives on.
        async with engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND objid = :key AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"key": DISPATCH_LOCK_KEY},
            )
        assert killed
        sent_at_kill = len(sandbox.sends)
        counts = await wait_until_settled(engine, limit=120)
    finally:
        for replica in replicas:
            await replica.stop()
    assert sent_at_kill < 600, "the lock died mid fan-out"
    logs = "".join([await asyncio.to_thread(r.log.read_text, errors="replace") for r in replicas])
    assert "lost the dispatch lock's connection" in logs
    assert counts == {OutboxStatus.SENT: 600}
    per_chat = sends_per_chat(sandbox)
    assert set(per_chat) == set(chats) and set(per_chat.values()) == {1}, "none sent twice"
    assert_within_limits(sandbox)
