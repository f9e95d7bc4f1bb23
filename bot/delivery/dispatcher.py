"""The one clock tick: claim due outbox rows, render them, send them (rate limited), mark them."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.clock import Clock
from bot.db import outbox
from bot.db.models import OutboxMessage, OutboxStatus, User
from bot.delivery.leader import DispatchLeadership
from bot.delivery.outgoing import Outgoing, ScheduledKind
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

RETRY_BACKOFF = timedelta(seconds=15)
TIMED_OUT = "timed out, may have been delivered"
MAX_BACKOFF = timedelta(hours=1)
PER_CHAT_SPACING_SECONDS = 1.05  # Telegram allows about one message a second in a private chat
BATCH_SIZE = 60  # about two seconds of sends at 30/s: claims stay fresh while they wait
# A database that is locked, restarting or unreachable will answer again: retry, never fail.
TRANSIENT_ERRORS = (OperationalError, DBAPIError, OSError, asyncio.TimeoutError)

COMPOSE_AHEAD = 3  # rows composed while others are being sent
MARK_SENT_RETRIES = (0.2, 1.0, 5.0)  # seconds between tries to record a send that worked

# Called in the transaction that settles a row (sent, dropped, failed): plans what comes next.
Replan = Callable[[AsyncSession, User, str, datetime], Awaitable[None]]


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    cancelled: int = 0
    failed: int = 0
    retried: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Dispatcher:
    """Sends due outbox rows; several dispatchers (replicas) never send the same row twice."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        bot: Bot,
        clock: Clock,
        kinds: Mapping[str, ScheduledKind],
        worker: str | None = None,
        batch_size: int = BATCH_SIZE,
        leadership: DispatchLeadership | None = None,
        paid_broadcast: bool = False,
        claim_timeout: timedelta = outbox.STALE_CLAIM,
        retry_backoff: timedelta = RETRY_BACKOFF,
        max_in_flight: int = 1,
        replan: Replan | None = None,
    ) -> None:
        self._sessions = sessions
        self._bot = bot
        self._clock = clock
        self._kinds = kinds
        self._worker = worker or worker_name()
        self._batch_size = batch_size
        self._lock = asyncio.Lock()
        self._leadership = leadership
        self._paid_broadcast = paid_broadcast
        self._claim_timeout = claim_timeout
        self._retry_backoff = retry_backoff
        # Sends between "request made" and "marked sent" are the ones a crash can duplicate.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._composing = asyncio.Semaphore(COMPOSE_AHEAD + max_in_flight)
        self._stopping = False
        self._replan = replan

    def request_stop(self) -> None:
        """Stop claiming; messages already being sent finish, claimed ones go back to pending."""
        self._stopping = True

    async def shutdown(self) -> None:
        self.request_stop()
        async with self._lock:  # wait for the tick in progress
            pass
        if self._leadership is not None:
            await self._leadership.release()

    async def tick(self) -> TickReport:
        """Deliver everything due now, batch after batch; overlapping ticks wait their turn."""
        report = TickReport()
        if self._stopping or self._lock.locked():
            return report
        if self._leadership is not None and not (
            await self._leadership.acquire() and await self._leadership.ready()
        ):
            return report
        async with self._lock:
            await self._drain(report)
        return report

    async def _drain(self, report: TickReport) -> None:
        """Claim more while earlier claims are still going out, so sends never wait on a claim.

        Each user's rows go through one worker, one after the other, a second apart. An owner
        whose worker is still busy is left out of the next claims (a few rows at a time each:
        see outbox.claim_due), so no one's backlog fills the batch while others wait.
        """
        queues: dict[int, list[int]] = {}
        workers: dict[int, asyncio.Task[None]] = {}
        exhausted = False
        while True:
            for user_id, task in list(workers.items()):
                if task.done():
                    del workers[user_id]
                    exhausted = False  # that owner's next rows may be claimed now
            halted = self._halted()
            outstanding = sum(len(queue) for queue in queues.values()) + len(workers)
            if not (exhausted or halted) and outstanding <= self._batch_size // 2:
                claims = await self._claim(self._batch_size - outstanding, skip=set(workers))
                exhausted = not claims
                report.claimed += len(claims)
                for row_id, user_id in claims:
                    queues.setdefault(user_id, []).append(row_id)
                    if user_id not in workers or workers[user_id].done():
                        workers[user_id] = asyncio.create_task(
                            self._deliver_queue(user_id, queues, report)
                        )
            if not workers:
                # With no worker busy, nobody was left out of the claim: nothing else is due.
                if exhausted or halted:
                    return
                continue
            await asyncio.wait(
                workers.values(),
                return_when=asyncio.FIRST_COMPLETED,
                timeout=None if exhausted or halted else 0.05,
            )

    def _halted(self) -> bool:
        """Stop sending: shutting down, or (PostgreSQL) no longer sure to be the only sender."""
        return self._stopping or (self._leadership is not None and not self._leadership.may_send())

    async def _claim(self, limit: int, skip: set[int]) -> list[tuple[int, int]]:
        async with self._sessions.begin() as session:
            rows = await outbox.claim_due(
                session,
                now=self._clock.now(),
                worker=self._worker,
                limit=limit,
                stale_after=self._claim_timeout,
                skip_users=skip,
            )
            return [(row.id, row.user_id) for row in rows]

    async def _deliver_queue(
        self, user_id: int, queues: dict[int, list[int]], report: TickReport
    ) -> None:
        first = True
        while queues.get(user_id):
            row_id = queues[user_id].pop(0)
            if self._halted():
                await self._release(row_id)
                continue
            if not first:
                await asyncio.sleep(PER_CHAT_SPACING_SECONDS)
            first = False
            try:
                await self._deliver(row_id, report)
            except TRANSIENT_ERRORS as exc:
                await self._retry_after_error(row_id, f"database error: {exc!r}"[:300], report)
            except Exception:
                logger.exception("outbox row %s could not be delivered", row_id)
                await self._settle(row_id, OutboxStatus.FAILED, "internal error", report)
        queues.pop(user_id, None)

    async def _retry_after_error(self, row_id: int, reason: str, report: TickReport) -> None:
        """Put the row back with a backoff; if even that fails, its claim goes stale and is
        taken again later (CLAIM_TIMEOUT_SECONDS), so it is never lost."""
        try:
            await self._retry(row_id, reason, report)
        except TRANSIENT_ERRORS:
            logger.warning("outbox row %s stays claimed until its claim goes stale", row_id)

    async def _release(self, row_id: int) -> None:
        """Hand a claimed, unsent row back so the next dispatcher sends it without waiting."""
        async with self._sessions.begin() as session:
            row = await outbox.get_claimed(session, row_id, self._worker)
            if row is not None:
                row.status, row.claimed_by, row.attempts = (
                    OutboxStatus.PENDING,
                    None,
                    row.attempts - 1,
                )

    async def _deliver(self, row_id: int, report: TickReport) -> None:
        # Composing (a short transaction, then any drawing outside it) overlaps other owners'
        # sends; only send-and-mark is bounded, as those are what a crash could repeat.
        async with self._composing:
            composed = await self._compose(row_id, report)
            if composed is None:
                return
            chat_id, outgoing = composed
            if outgoing.render_photo is not None:
                photo = await asyncio.to_thread(outgoing.render_photo)
                outgoing = replace(outgoing, photo=photo, render_photo=None)
        async with self._in_flight:
            if self._halted():  # leadership lost while this row waited its turn
                await self._release(row_id)
                return
            await self._send_and_settle(row_id, chat_id, outgoing, report)

    async def _compose(self, row_id: int, report: TickReport) -> tuple[int, Outgoing] | None:
        """The row's message and chat, or None when it was dropped (then settled here)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await outbox.get_claimed(session, row_id, self._worker)
            if row is None:
                return None
            user = await session.get(User, row.user_id)
            kind = self._kinds.get(row.kind)
            outgoing = None
            if user is not None and user.blocked_at is None and kind is not None:
                outgoing = await kind.compose(session, row, user, now)
            if outgoing is None or user is None:
                row.status = OutboxStatus.CANCELLED
                report.cancelled += 1
                if user is not None:
                    await self._after_settled(session, user, row)
                return None
            return user.chat_id, outgoing

    async def _send_and_settle(
        self, row_id: int, chat_id: int, outgoing: Outgoing, report: TickReport
    ) -> None:
        if self._halted():  # fenced: another replica may be sending by now
            await self._release(row_id)
            return
        try:
            message = await self._send(chat_id, outgoing)
        except Forbidden as exc:
            await self._user_blocked(row_id, str(exc), report)
        except RetryAfter as exc:
            await self._retry(
                row_id, f"flood control: {exc}", report, delay=_seconds(exc.retry_after)
            )
        except BadRequest as exc:
            # A 400 will fail the same way every time: never retried.
            await self._settle(row_id, OutboxStatus.FAILED, f"rejected: {exc}", report)
        except TimedOut as exc:
            # Telegram may have delivered it: one more try at most, then give up.
            await self._retry(row_id, f"{TIMED_OUT}: {exc}", report, last_chance=True)
        except NetworkError as exc:
            await self._retry(row_id, f"network error: {exc}", report)
        else:
            await self._mark_sent(row_id, message, report)

    async def _send(self, chat_id: int, outgoing: Outgoing) -> Message:
        markup = None
        if outgoing.rows:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(text, callback_data=data) for text, data in row]
                    for row in outgoing.rows
                ]
            )
        # Paid broadcasts (an owner's opt-in) lift Telegram's 30 a second limit, at a cost.
        paid = True if self._paid_broadcast else None
        if outgoing.photo is not None:
            return await self._bot.send_photo(
                chat_id, outgoing.photo, caption=outgoing.text, reply_markup=markup,
                allow_paid_broadcast=paid,
            )  # fmt: skip
        if outgoing.document is not None:
            name, content = outgoing.document
            return await self._bot.send_document(
                chat_id, content, filename=name, caption=outgoing.text, reply_markup=markup,
                allow_paid_broadcast=paid,
            )  # fmt: skip
        return await self._bot.send_message(
            chat_id, outgoing.text, reply_markup=markup, allow_paid_broadcast=paid
        )

    async def _mark_sent(self, row_id: int, message: Message, report: TickReport) -> None:
        """Telegram has the message: a database error now must not send it again, so marking
        is retried here; only if the database stays away does the claim go stale (and the
        message may then be repeated once, as after a crash)."""
        for pause in (*MARK_SENT_RETRIES, None):
            try:
                await self._sent(row_id, message, report)
                return
            except TRANSIENT_ERRORS as exc:
                if pause is None:
                    logger.error("outbox row %s was sent but could not be marked: %r", row_id, exc)
                    return
                logger.warning("outbox row %s sent, marking it failed once: %r", row_id, exc)
                await asyncio.sleep(pause)

    async def _sent(self, row_id: int, message: Message, report: TickReport) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            # Marked sent only by the claim's holder: a replica that lost the row (retaken as
            # stale) must not settle it, nor schedule what follows it, a second time.
            row = await outbox.get_claimed(session, row_id, self._worker)
            if row is None:
                lost = True
            else:
                lost = False
                duplicated = (row.last_error or "").startswith(TIMED_OUT)
                row.status, row.sent_at = OutboxStatus.SENT, now
                row.last_error = (
                    "possibly duplicated: an earlier attempt timed out" if duplicated else None
                )
                user = await session.get(User, row.user_id)
                kind = self._kinds.get(row.kind)
                if user is not None and kind is not None and kind.after_sent is not None:
                    await kind.after_sent(session, row, user, message.message_id, now)
                if user is not None:
                    await self._after_settled(session, user, row)
        METRICS.messages_sent.inc()
        if lost:
            METRICS.send_errors.labels("claim lost").inc()
            logger.warning("outbox row %s was sent after this replica lost its claim", row_id)
            return
        report.sent += 1

    async def _user_blocked(self, row_id: int, reason: str, report: TickReport) -> None:
        """The user blocked the bot: stop everything for them until they /start again."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status, row.last_error = OutboxStatus.FAILED, reason
            user = await session.get(User, row.user_id)
            if user is not None:
                user.blocked_at = now
                await outbox.cancel(session, user_id=user.id)
        report.failed += 1
        report.errors["blocked"] += 1
        METRICS.send_errors.labels("blocked").inc()
        logger.info("user of outbox row %s blocked the bot; their messages are cancelled", row_id)

    async def _retry(
        self,
        row_id: int,
        reason: str,
        report: TickReport,
        *,
        delay: timedelta | None = None,
        last_chance: bool = False,
    ) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            timed_out_before = (row.last_error or "").startswith(TIMED_OUT)
            row.last_error = reason
            if last_chance and timed_out_before:
                # Telegram may have it twice already: one repeat at most, never a third.
                row.status = OutboxStatus.FAILED
                report.failed += 1
                logger.warning("outbox row %s failed after a second time-out: %s", row_id, reason)
                user = await session.get(User, row.user_id)
                if user is not None:
                    await self._after_settled(session, user, row)
                return
            backoff = delay or min(self._retry_backoff * 2 ** (row.attempts - 1), MAX_BACKOFF)
            row.status, row.due_at, row.claimed_by = OutboxStatus.PENDING, now + backoff, None
            user = await session.get(User, row.user_id)
            if user is not None:  # the next occurrence never waits on this one
                await self._after_settled(session, user, row)
        report.retried += 1
        report.errors[reason.split(":", 1)[0]] += 1
        METRICS.send_errors.labels(reason.split(":", 1)[0]).inc()
        METRICS.outbox_retries.labels(reason.split(":", 1)[0]).inc()
        logger.info("outbox row %s will be retried in %s: %s", row_id, backoff, reason)

    async def _settle(
        self, row_id: int, status: OutboxStatus, reason: str, report: TickReport
    ) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is not None:
                row.status, row.last_error = status, reason
                user = await session.get(User, row.user_id)
                if user is not None:
                    await self._after_settled(session, user, row)
        report.failed += 1
        report.errors[reason.split(":", 1)[0]] += 1
        METRICS.send_errors.labels(reason.split(":", 1)[0]).inc()
        logger.warning("outbox row %s %s: %s", row_id, status, reason)

    async def _after_settled(self, session: AsyncSession, user: User, row: OutboxMessage) -> None:
        await session.flush()  # the settled row is part of what the next plan is derived from
        if self._replan is not None:
            await self._replan(session, user, row.kind, self._clock.now())


def _seconds(value: float | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
