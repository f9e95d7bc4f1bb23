"""Property: whatever mix of private, group, anonymous-admin and edited updates several owners
send, no message carrying one owner's data ever reaches another chat (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import User
from bot.sandbox import ANONYMOUS_ADMIN, BotApiSandbox, SandboxGroup, SandboxUser
from tests.e2e.conftest import Bot

# What only owner i ever types: a client name and an amount, words no template of the bot uses
# (its own examples name "Acme Ltd", so a real client's name must be told apart from them).
MARKERS = [("Quillvane", "1111"), ("Brossard", "2222"), ("Corvina", "3333")]
MESSAGES = Path(__file__).resolve().parents[2] / "messages"
ACTIONS = [
    "quote", "log", "quotes", "text", "export_in_group", "group_command", "anonymous",
    "group_photo", "edit_private", "edit_in_group",
]  # fmt: skip

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),
        st.sampled_from(ACTIONS),
        st.integers(min_value=0, max_value=1),
    ),
    min_size=2,
    max_size=8,
)


class World:
    def __init__(self, sandbox: BotApiSandbox) -> None:
        self.owners = [
            sandbox.user(8100 + i, first_name=f"Owner{i}", language_code=("en", "fr")[i % 2])
            for i in range(3)
        ]
        self.groups = [sandbox.group(-1008100 - g, f"Group {g}") for g in range(2)]
        self.sent: dict[int, list[dict[str, Any]]] = {}
        self.in_group: list[tuple[SandboxGroup, dict[str, Any]]] = []

    async def act(self, who: int, action: str, where: int) -> None:
        owner: SandboxUser = self.owners[who]
        group = self.groups[where]
        client, amount = MARKERS[who]
        mine = self.sent.setdefault(who, [])
        if action == "quote":
            mine.append(await owner.send_command("/quote", f"{client} {amount} € 30j"))
        elif action == "log":
            mine.append(await owner.send_command("/log", "2 calls"))
        elif action == "quotes":
            mine.append(await owner.send_command("/quotes"))
        elif action == "text":
            mine.append(await owner.send_text(f"{client} {amount}"))
        elif action == "export_in_group":
            self.in_group.append((group, await group.send_text(owner, "/export")))
        elif action == "group_command":
            text = f"/quote {client} {amount} € 30j"
            self.in_group.append((group, await group.send_text(owner, text)))
        elif action == "anonymous":
            self.in_group.append((group, await group.send_as_anonymous_admin("/quotes")))
        elif action == "group_photo":
            await group.send_photo(owner)
        elif action == "edit_private" and mine:
            await owner.edit_text(mine[-1], f"/quote {client} {amount}0 € 15j")
        elif action == "edit_in_group" and self.in_group:
            chat, message = self.in_group[-1]
            await chat.edit(message, "/quotes")


def test_the_markers_are_no_words_of_the_bot() -> None:
    texts = " ".join(p.read_text(encoding="utf-8") for p in MESSAGES.rglob("*.j2"))
    assert texts, MESSAGES
    for client, amount in MARKERS:
        assert client not in texts and amount not in texts


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps)
async def test_no_owner_data_ever_reaches_another_chat(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, script: list[tuple[int, str, int]]
) -> None:
    world = World(sandbox)
    for who, action, where in script:
        await world.act(who, action, where)
    await sandbox.wait_idle(timeout=30, settle=1.5)
    for i, owner in enumerate(world.owners):
        seen = " ".join(m.get("text") or m.get("caption") or "" for m in owner.messages)
        for j, (client, amount) in enumerate(MARKERS):
            if j != i:
                assert client not in seen and amount not in seen, (i, j, seen)
    for group in world.groups:
        posted = " ".join(m.get("text") or "" for m in group.messages)
        for client, amount in MARKERS:
            assert client not in posted and amount not in posted
        assert all(m["reply_markup"]["inline_keyboard"][0][0]["url"] for m in group.messages)
    async with engine.connect() as conn:
        accounts = (await conn.execute(select(User.telegram_id, User.chat_id))).all()
    assert all(row.telegram_id == row.chat_id for row in accounts)  # only private chats
    assert ANONYMOUS_ADMIN["id"] not in {row.telegram_id for row in accounts}
