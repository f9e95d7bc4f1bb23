"""Groups, supergroups, channels and anonymous admins never reach an owner's data (issue 13)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Quote, User
from bot.sandbox import ANONYMOUS_ADMIN, BotApiSandbox, SandboxChannel, SandboxGroup
from handlers import ALLOWED_UPDATES
from tests.e2e.conftest import Bot, say


async def users_in(engine: AsyncEngine) -> dict[int, int]:
    """telegram_id -> chat_id of every account."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(User.telegram_id, User.chat_id))).all()
    return {row.telegram_id: row.chat_id for row in rows}


async def count(engine: AsyncEngine, model: type) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def posted(chat: SandboxGroup | SandboxChannel, n: int) -> list[dict[str, Any]]:
    """The chat's bot messages once there are `n` (replies to one chat are paced 1/s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while len(chat.messages) < n and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # and no more after that
    return chat.messages


def private_line(message: dict[str, Any]) -> bool:
    buttons = message["reply_markup"]["inline_keyboard"]
    return buttons[0][0]["url"] == "https://t.me/sandbox_bot?start=from_group"


async def test_a_command_in_a_group_gets_one_line_a_day_and_touches_no_account(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    owner = sandbox.user(5101, first_name="Claire", language_code="fr")
    await say(owner, sandbox, "/quote Dupont SARL 4500 € 30j")
    before = await users_in(engine)
    group = sandbox.group(-1005101, "Équipe")
    stranger = sandbox.user(5102, first_name="Nobody", language_code="en")
    for text in ("/quotes", "/export", "/log 3 calls", "/quotes@sandbox_bot"):
        await group.send_text(owner, text)
    await group.send_text(stranger, "/start")
    await sandbox.wait_idle(timeout=5, settle=0.5)
    # One line in French (the sender's language), with a button to the private chat.
    assert len(group.messages) == 1
    line = group.messages[0]
    assert "en privé" in line["text"] and private_line(line)
    assert "Dupont" not in json.dumps(group.messages)
    # Nothing stored: the owner's chat is still their private chat, no account for the stranger.
    assert await users_in(engine) == before == {5101: 5101}
    # A new day, a new line (once).
    bot.clock.advance(timedelta(days=1))
    await group.send_text(stranger, "/help")
    await group.send_text(stranger, "/help")
    await sandbox.wait_idle(timeout=5, settle=0.5)
    assert len(await posted(group, 2)) == 2
    assert "in private" in group.messages[1]["text"]
    # The owner's scheduled messages and replies still go to the private chat.
    reply = await say(owner, sandbox, "/quotes")
    assert "Dupont" in reply["text"]


async def test_being_added_to_a_group_says_so_once(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    admin = sandbox.user(5201, first_name="Ana", language_code="en")
    group = sandbox.group(-5201, "Sales", kind="group")
    group.add_bot(by=admin)
    told = await group.wait_for_messages(1, timeout=15)
    assert private_line(told[0])
    await group.send_text(admin, "hello everyone")
    await group.send_text(admin, "/checkin")  # already told today
    await sandbox.wait_idle(timeout=5, settle=0.5)
    assert len(group.messages) == 1
    assert await users_in(engine) == {}


async def test_anonymous_admins_and_channels_never_share_an_account(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    group_a = sandbox.group(-1005301, "A")
    group_b = sandbox.group(-1005302, "B")
    await group_a.send_as_anonymous_admin("/quote Secret Client 9000 € 30j")
    await group_b.send_as_anonymous_admin("/quotes")
    channel = sandbox.channel(-1005303, "News")
    await channel.post("/start")
    posted = await channel.post("/log 3 calls")
    await channel.edit(posted, "/log 4 calls")
    await sandbox.wait_idle(timeout=5, settle=0.5)
    assert ANONYMOUS_ADMIN["id"] not in await users_in(engine)
    assert await users_in(engine) == {}
    assert await count(engine, Quote) == 0
    for chat in (group_a, group_b, channel):
        assert len(chat.messages) == 1 and private_line(chat.messages[0])
        assert "Secret" not in chat.messages[0]["text"]


async def test_the_bot_asks_only_for_what_it_handles_and_its_menu_is_private(
    bot: Bot, sandbox: BotApiSandbox
) -> None:
    await say(sandbox.user(5401), sandbox, "/help")  # the bot has polled at least once
    assert sandbox.allowed_updates == ALLOWED_UPDATES
    scopes = {json.loads(scope)["type"] for scope, _ in sandbox.commands}
    assert scopes == {"all_private_chats"}
    # A reaction (not asked for) is never delivered.
    assert sandbox._enqueue_update("message_reaction", {}) is None
