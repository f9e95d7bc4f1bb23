"""Each owner's updates run one at a time, in order; owners take turns; only a flood is shed.

python-telegram-bot hands every fetched update to the processor at once (one task each). Here each
owner (the sender; else the chat) has a queue of waiting updates, and a fixed number of slots is
shared round-robin: when one of an owner's updates finishes, their next one goes to the back of
the line. So a dialog's answers never overtake each other, and one owner sending hundreds of
messages cannot starve the others: everyone else gets a slot between two of the flooder's.

Nothing is dropped in silence. Everything Telegram delivers after an outage is handled. Only an
abusive flood is shed: an owner with more than `max_waiting` updates already waiting (default
MAX_WAITING_PER_OWNER, the MAX_WAITING_UPDATES setting) loses the extra ones, and once their
queue has drained the `on_shed` callback tells them, in one line, how many were not read and
when they were sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

from bot.metrics import METRICS

logger = logging.getLogger(__name__)

# More than a person sends before the bot catches up, even pasting or forwarding a batch (Telegram
# forwards at most 100 messages at once) or after an outage; about 100 s of paced replies.
MAX_WAITING_PER_OWNER = 100
# PTB's own semaphore hands slots out first come, first served: ours are fair, so its is unbounded.
_UNBOUNDED = 1_000_000


@dataclass
class Shed:
    """What an owner's flood lost, for the one "slow down" line they get afterwards."""

    chat_id: int
    user_id: int
    language_code: str | None
    skipped: int = 0
    first: datetime | None = None
    last: datetime | None = None


ShedCallback = Callable[[Shed], Coroutine[Any, Any, None]]


def owner_of(update: object) -> Hashable:
    """Whose queue an update joins: its sender, else its chat, else its own."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        return ("update", update.update_id)
    return ("object", id(update))


class FairUpdateProcessor(BaseUpdateProcessor):
    """Sequential per owner, round-robin across owners, `max_concurrent_updates` at a time."""

    def __init__(
        self,
        max_concurrent_updates: int = 256,
        max_waiting: int = MAX_WAITING_PER_OWNER,
        on_shed: ShedCallback | None = None,
    ) -> None:
        super().__init__(_UNBOUNDED)
        self._slots = max_concurrent_updates
        self._max_waiting = max_waiting
        self.on_shed = on_shed
        self._waiting: dict[Hashable, deque[asyncio.Future[None]]] = {}
        self._turns: deque[Hashable] = deque()  # owners with updates waiting and none running
        self._running: set[Hashable] = set()
        self._shed: dict[Hashable, Shed] = {}
        self._notices: set[asyncio.Task[None]] = set()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._notices:
            await asyncio.gather(*self._notices, return_exceptions=True)

    def backlog(self, owner: Hashable) -> int:
        """The owner's updates waiting or running."""
        return len(self._waiting.get(owner, ())) + (owner in self._running)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        owner = owner_of(update)
        queue = self._waiting.setdefault(owner, deque())
        if len(queue) >= self._max_waiting:
            self._note_shed(owner, update)
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never run: this owner is flooding
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(turn)
        if len(queue) == 1 and owner not in self._running:
            self._turns.append(owner)
        self._pump()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.cancelled():
                self._forget(owner, turn)
            else:
                self._finish(owner)  # the turn came as we were cancelled: give it back
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            raise
        try:
            await coroutine
        finally:
            self._finish(owner)

    def _pump(self) -> None:
        while len(self._running) < self._slots and self._turns:
            owner = self._turns.popleft()
            queue = self._waiting[owner]
            turn = queue.popleft()
            if not queue:
                del self._waiting[owner]
            self._running.add(owner)
            turn.set_result(None)

    def _finish(self, owner: Hashable) -> None:
        self._running.discard(owner)
        if owner in self._waiting:
            self._turns.append(owner)  # their next update, behind everyone already waiting
        elif owner in self._shed:
            self._tell(self._shed.pop(owner))
        self._pump()

    def _forget(self, owner: Hashable, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(owner)
        if queue is None or turn not in queue:
            return
        queue.remove(turn)
        if not queue:
            del self._waiting[owner]
            if owner in self._turns:
                self._turns.remove(owner)

    def _note_shed(self, owner: Hashable, update: object) -> None:
        METRICS.updates_dropped.inc()
        message = update.effective_message if isinstance(update, Update) else None
        if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return  # nobody to tell (a group, a button press): counted only
        shed = self._shed.get(owner)
        if shed is None:
            shed = self._shed[owner] = Shed(
                message.chat.id, message.from_user.id, message.from_user.language_code
            )
            logger.warning("user %s is flooding: shedding their extra updates", owner)
        shed.skipped += 1
        shed.first = shed.first or message.date
        shed.last = message.date

    def _tell(self, shed: Shed) -> None:
        if self.on_shed is None:
            return
        task = asyncio.get_running_loop().create_task(self._safely(self.on_shed, shed))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    @staticmethod
    async def _safely(callback: ShedCallback, shed: Shed) -> None:
        try:
            await callback(shed)
        except Exception:
            logger.exception("could not tell user %s what was not read", shed.user_id)
