"""Nothing dropped in silence: a burst is answered in order, others are not held up, and only an
abusive flood is shed, with one line saying what was not read (issue 13)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import ActivityEntry
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot


async def test_a_flood_beyond_the_threshold_is_shed_with_one_line_and_others_go_on(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.settings = dataclasses.replace(bot.settings, max_waiting_updates=4)
    await bot.restart()
    flooder = sandbox.user(701, first_name="Flood", language_code="en")
    other = sandbox.user(702, first_name="Calm", language_code="fr")
    for n in range(30):
        await flooder.send_text(f"spam {n}")
    await other.send_command("/help")
    reply = await other.next_message(timeout=10)
    assert "/point" in reply["text"]  # /help of a French owner names the French commands
    slow_down = await flooder.wait_for(lambda m: "🐢" in m["text"], timeout=20)
    await sandbox.wait_idle(timeout=20, settle=1.5)
    answered = [m for m in flooder.messages if "🐢" not in m["text"]]
    # One running and four waiting were read; the other 25 were shed, and said so, once.
    assert len(answered) == 5
    assert "skipped 25 of them" in slow_down["text"]
    assert sum("🐢" in m["text"] for m in flooder.messages) == 1


async def test_everything_sent_during_an_outage_is_handled_in_order(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    owner = sandbox.user(703, first_name="Back", language_code="en")
    await bot.stop()
    for _ in range(8):
        await owner.send_command("/log", "1 call")
    await bot.start()
    await owner.wait_for(lambda m: "Today so far: 8 new contacts" in m["text"], timeout=30)
    await sandbox.wait_idle(timeout=20, settle=0.5)
    totals = [m["text"].rsplit("Today so far: ", 1)[1] for m in owner.messages]
    # Each answered, in order, counted with the language's plural rule.
    assert totals == ["1 new contact.", *(f"{n} new contacts." for n in range(2, 9))]
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.sum(ActivityEntry.count))) == 8
