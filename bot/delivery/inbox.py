"""Handles webhook updates from the inbox table, so an acknowledged update survives a crash."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from telegram import Update

from bot.context import BotApplication
from bot.db import inbox
from bot.delivery.dispatcher import worker_name
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_IN_FLIGHT = 256  # updates being handled at once, as python-telegram-bot allows
IDLE_POLL_SECONDS = 5.0  # also how soon a dead replica's claimed updates are looked at again


class InboxWorker:
    """Claims stored updates, runs them through the Application, marks them handled."""

    def __init__(self, application: BotApplication, *, worker: str | None = None) -> None:
        self._app = application
        self._worker = worker or worker_name()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()

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
        if self._handling:
            await asyncio.wait(self._handling)

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
        """Claim a batch of stored updates and start handling them; returns how many."""
        data = self._app.bot_data
        if len(self._handling) >= MAX_IN_FLIGHT:
            await asyncio.wait(self._handling, return_when=asyncio.FIRST_COMPLETED)
        stale_after = timedelta(seconds=data.settings.claim_timeout_seconds)
        async with data.sessions.begin() as session:
            exhausted = await inbox.quarantine_exhausted(session, data.clock.now(), stale_after)
            rows = await inbox.claim(
                session,
                now=data.clock.now(),
                worker=self._worker,
                limit=min(BATCH_SIZE, MAX_IN_FLIGHT - len(self._handling)),
                stale_after=stale_after,
            )
            batch = [(row.update_id, row.payload) for row in rows]
        if exhausted:
            METRICS.updates_quarantined.inc(exhausted)
            logger.error("%s stored updates never got handled: quarantined", exhausted)
        updates: list[Update] = []
        unreadable: list[tuple[int, str]] = []
        for update_id, payload in batch:
            # One update that cannot be read must not hold up the others of its batch.
            try:
                updates.append(Update.de_json(payload, self._app.bot))
            except Exception as exc:
                unreadable.append((update_id, f"{type(exc).__name__}: {exc}"))
        if unreadable:
            await self._set_aside(unreadable)
        for update in updates:
            # The update processor keeps each user's updates in order and caps a flooder's
            # backlog; handling goes on in the background so one slow chat holds up no batch.
            task = asyncio.create_task(self._handle(update))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)
        return len(batch)

    async def _set_aside(self, unreadable: list[tuple[int, str]]) -> None:
        """Unreadable updates go back for another try, and to quarantine after the last one."""
        data = self._app.bot_data
        async with data.sessions.begin() as session:
            quarantined = await inbox.unparsable(session, unreadable, data.clock.now())
        for update_id, reason in unreadable:
            logger.warning("stored update %s cannot be read: %s", update_id, reason)
        for update_id in quarantined:
            logger.error(
                "stored update %s quarantined: kept for inspection, never handled", update_id
            )
        METRICS.updates_quarantined.inc(len(quarantined))

    async def _handle(self, update: Update) -> None:
        data = self._app.bot_data
        try:
            await self._app.update_processor.process_update(
                update, self._app.process_update(update)
            )
        except Exception:
            logger.exception("update %s could not be handled", update.update_id)
        METRICS.updates_handled.inc()
        # Marked one by one: a crash repeats at most the updates being handled.
        async with data.sessions.begin() as session:
            await inbox.mark_handled(session, [update.update_id], data.clock.now())
