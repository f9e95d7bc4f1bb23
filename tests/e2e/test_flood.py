"""A user flooding the bot gets a few answers; everyone else is answered as usual meanwhile."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.fair_updates import MAX_BACKLOG_PER_USER
from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot


async def test_a_flooding_user_does_not_hold_up_others(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    flooder = sandbox.user(701, first_name="Flood", language_code="en")
    other = sandbox.user(702, first_name="Calm", language_code="fr")
    for n in range(60):
        await flooder.send_text(f"spam {n}")
    await other.send_command("/help")
    reply = await other.next_message(timeout=10)
    assert "/point" in reply["text"]  # /help of a French owner names the French commands
    await sandbox.wait_idle(timeout=20, settle=1.5)
    # The flooder's excess was dropped rather than queued for a minute of paced replies.
    answered = len(flooder.messages)
    assert 1 <= answered <= MAX_BACKLOG_PER_USER + 2
