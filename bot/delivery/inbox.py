"""Handles webhook updates from the inbox table, so an acknowledged update survives a crash."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta

from telegram import Update

from bot.context import BotApplication
from bot.db import inbox
from bot.delivery.dispatcher import worker_name
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
IDLE_POLL_SECONDS = 5.0  # also how soon a dead replica's claimed updates are looked at again


class InboxWorker:
    """Claims stored updates, runs them through the Application, marks them handled."""

    def __init__(self, application: BotApplication, *, worker: str | None = None) -> None:
        self._app = application
        self._worker = worker or worker_name()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """A new update was stored: look now rather than at the next idle poll."""
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-worker")

    async def stop(self) -> None:
        """Finish the batch in hand, then stop; unclaimed updates wait for the next start."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.drain_once()
            except Exception:
                logger.exception("inbox worker failed; retrying shortly")
                handled = 0
            if handled == 0 and not self._stopping:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), IDLE_POLL_SECONDS)

    async def drain_once(self) -> int:
        """Handle one batch of stored updates; returns how many."""
        data = self._app.bot_data
        async with data.sessions.begin() as session:
            rows = await inbox.claim(
                session,
                now=data.clock.now(),
                worker=self._worker,
                limit=BATCH_SIZE,
                stale_after=timedelta(seconds=data.settings.claim_timeout_seconds),
            )
            claimed = [(row.update_id, row.payload) for row in rows]
        if not claimed:
            return 0
        # One user's updates in order; different users side by side.
        by_sender: dict[object, list[Update]] = defaultdict(list)
        for _update_id, payload in claimed:
            update = Update.de_json(payload, self._app.bot)
            sender = update.effective_user.id if update.effective_user else update.update_id
            by_sender[sender].append(update)
        await asyncio.gather(*(self._handle_in_order(updates) for updates in by_sender.values()))
        return len(claimed)

    async def _handle_in_order(self, updates: list[Update]) -> None:
        data = self._app.bot_data
        for update in updates:
            await self._app.process_update(update)
            METRICS.updates_handled.inc()
            # Marked one by one: a crash repeats at most the update being handled.
            async with data.sessions.begin() as session:
                await inbox.mark_handled(session, [update.update_id], data.clock.now())
