"""Queries on the outbox of scheduled messages: schedule, cancel, claim, settle."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus

# A claim this old belongs to a sender that died: another dispatcher may take the row again.
STALE_CLAIM = timedelta(minutes=5)
# Rows one owner may get in one claimed batch: an owner with hundreds due (a big import, a long
# outage) takes a few per batch, and everyone else's messages go out between theirs.
PER_USER_CLAIM = 3
# Candidates ranked per row claimed: a claimer that finds the first ones locked by another
# (PostgreSQL, SKIP LOCKED) takes the next ones instead of coming back empty.
CANDIDATES_PER_ROW = 4
# Kinds whose moment matters (the check-in at its time, a quote before it expires, a block as it
# starts or ends): claimed before deferrable ones (reviews, nudges, follow-ups) when the send
# budget is the bottleneck. Names as in bot/services (tests/unit/db/test_outbox.py checks).
URGENT_KINDS = frozenset({"checkin", "quote_reminder", "plan_block", "plan_block_end"})


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def schedule(
    session: AsyncSession,
    *,
    user_id: int,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Schedule once per dedupe key: a pending or cancelled row is moved, a sent one is kept."""
    values = {
        "user_id": user_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "due_at": due_at,
        "payload": payload or {},
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": now,
    }
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    statement = insert(OutboxMessage).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[OutboxMessage.dedupe_key],
        set_={
            "due_at": statement.excluded.due_at,
            "payload": statement.excluded.payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "last_error": None,
        },
        where=OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.CANCELLED]),
    )
    # Returning the row with populate_existing keeps an already loaded row in step with the
    # database (a moved or revived row never reads as it was before in this session).
    await session.execute(
        statement.returning(OutboxMessage), execution_options={"populate_existing": True}
    )


# Rows per statement when scheduling in bulk (well under SQLite's bound-parameter limit).
BULK_CHUNK = 500


async def schedule_many(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, now: datetime
) -> None:
    """`schedule` for many rows (user_id, kind, dedupe_key, due_at, payload) in a few
    set-based statements: a big import plans thousands of reminders without a round trip each."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    for start in range(0, len(rows), BULK_CHUNK):
        values = [
            {
                **row,
                "payload": row.get("payload") or {},
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
            for row in rows[start : start + BULK_CHUNK]
        ]
        statement = insert(OutboxMessage).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[OutboxMessage.dedupe_key],
            set_={
                "due_at": statement.excluded.due_at,
                "payload": statement.excluded.payload,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "last_error": None,
            },
            where=OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.CANCELLED]),
        )
        await session.execute(statement)


async def pending_keys(session: AsyncSession, user_id: int, kind: str) -> list[tuple[int, str]]:
    """(id, dedupe key) of one owner's pending rows of a kind (the user_id/status index)."""
    query = select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
        OutboxMessage.user_id == user_id,
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.kind == kind,
    )
    return [(row_id, key) for row_id, key in (await session.execute(query)).all()]


async def cancel_ids(session: AsyncSession, row_ids: Sequence[int]) -> None:
    """Cancel these rows if still pending, a chunk of ids per statement."""
    for start in range(0, len(row_ids), BULK_CHUNK):
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(row_ids[start : start + BULK_CHUNK]),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.CANCELLED)
        )


async def cancel(
    session: AsyncSession,
    *,
    user_id: int,
    kinds: Sequence[str] | None = None,
    key_prefix: str | None = None,
) -> int:
    """Cancel a user's pending messages (all, of some kinds, or whose key starts with a prefix)."""
    conditions = [OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.PENDING]
    if kinds is not None:
        conditions.append(OutboxMessage.kind.in_(kinds))
    if key_prefix is not None:
        conditions.append(OutboxMessage.dedupe_key.startswith(key_prefix, autoescape=True))
    result = await session.execute(
        update(OutboxMessage).where(*conditions).values(status=OutboxStatus.CANCELLED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    stale_after: timedelta = STALE_CLAIM,
    per_user: int = PER_USER_CLAIM,
    skip_users: Collection[int] = (),
) -> list[OutboxMessage]:
    """Claim up to `limit` due rows (and stale claims) for this worker, fairly.

    At most `per_user` rows of any one owner (their oldest), none of `skip_users` (owners whose
    earlier rows this worker is still sending); owners with an urgent kind due first, then
    oldest first. The rows come back in due order. The ranking reads only due rows (the
    status/due_at index).
    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets replicas claim side by side without taking the
    same row (the outer `due` condition is checked again on the locked row, so a row claimed
    meanwhile is left out); SQLite's BEGIN IMMEDIATE makes the whole claim one writer's.
    """
    due = or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now),
        and_(
            OutboxMessage.status == OutboxStatus.CLAIMED,
            OutboxMessage.claimed_at < now - stale_after,
        ),
    )
    priority = case((OutboxMessage.kind.in_(sorted(URGENT_KINDS)), 0), else_=1)
    # At one instant the check-in goes first: it takes the reminders due with it along.
    checkin_first = case((OutboxMessage.kind == "checkin", 0), else_=1)
    ranked = select(
        OutboxMessage.id,
        OutboxMessage.due_at,
        # An owner with anything urgent due is served first; their own rows keep due order.
        func.min(priority).over(partition_by=OutboxMessage.user_id).label("priority"),
        func.row_number()
        .over(
            partition_by=OutboxMessage.user_id,
            order_by=(OutboxMessage.due_at, checkin_first, OutboxMessage.id),
        )
        .label("rank"),
    ).where(due)
    if skip_users:
        ranked = ranked.where(OutboxMessage.user_id.not_in(sorted(skip_users)))
    candidates = ranked.subquery()
    picked = (
        select(candidates.c.id, candidates.c.priority)
        .where(candidates.c.rank <= per_user)
        .order_by(candidates.c.priority, candidates.c.due_at, candidates.c.id)
        .limit(limit * CANDIDATES_PER_ROW)
        .subquery()
    )
    query = (
        select(OutboxMessage)
        .join(picked, picked.c.id == OutboxMessage.id)
        .where(due)
        .order_by(picked.c.priority, OutboxMessage.due_at, checkin_first, OutboxMessage.id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    # Handed over in due order: one owner's messages go out in the order they were planned.
    rows = sorted(
        (await session.execute(query)).scalars(),
        key=lambda r: (r.due_at, r.kind != "checkin", r.id),
    )
    for row in rows:
        row.status = OutboxStatus.CLAIMED
        row.claimed_at = now
        row.claimed_by = worker
        row.attempts += 1
    await session.flush()
    return rows


async def get_claimed(session: AsyncSession, row_id: int, worker: str) -> OutboxMessage | None:
    """The row if this worker still holds its claim (another may have retaken a stale one)."""
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None or row.status != OutboxStatus.CLAIMED or row.claimed_by != worker:
        return None
    return row


async def rows_for_user(
    session: AsyncSession, user_id: int, kinds: Sequence[str], *, since: datetime
) -> list[OutboxMessage]:
    """The user's pending and claimed rows of these kinds, and those sent (due) since a moment."""
    query = select(OutboxMessage).where(
        OutboxMessage.user_id == user_id,
        OutboxMessage.kind.in_(kinds),
        or_(
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.CLAIMED]),
            and_(
                OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.FOLDED]),
                OutboxMessage.due_at >= since,
            ),
        ),
    )
    return list((await session.execute(query)).scalars())


async def pending_for_user(session: AsyncSession, user_id: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.due_at)
    )
    return list((await session.execute(query)).scalars())


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message is due (the demo and tests jump the clock there)."""
    query = select(OutboxMessage.due_at).where(OutboxMessage.status == OutboxStatus.PENDING)
    return (
        await session.execute(query.order_by(OutboxMessage.due_at).limit(1))
    ).scalar_one_or_none()


async def sent_between(
    session: AsyncSession, user_id: int, start: datetime, end: datetime
) -> int:
    """How many of the user's rows were sent in [start, end)."""
    query = select(func.count()).where(
        OutboxMessage.user_id == user_id,
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.sent_at >= start,
        OutboxMessage.sent_at < end,
    )
    return int((await session.execute(query)).scalar_one())


async def due_around(
    session: AsyncSession, user_id: int, kinds: Sequence[str], start: datetime, end: datetime
) -> list[OutboxMessage]:
    """The user's rows of these kinds due in [start, end] and not sent yet (pending or claimed)."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.CLAIMED]),
            OutboxMessage.due_at >= start,
            OutboxMessage.due_at <= end,
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
    )
    return list((await session.execute(query)).scalars())


async def prune(session: AsyncSession, before: datetime, *, limit: int) -> int:
    """Delete up to `limit` sent or cancelled rows whose time is before a moment (failed ones
    stay for inspection); returns how many went. Walks the status/due_at index."""
    old = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(
                    OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.FOLDED]),
                    OutboxMessage.due_at < before,
                    OutboxMessage.sent_at < before,
                ),
                and_(OutboxMessage.status == OutboxStatus.CANCELLED, OutboxMessage.due_at < before),
            )
        )
        .limit(limit)
    )
    result = await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def was_sent(session: AsyncSession, *, user_id: int, key_prefix: str) -> bool:
    """Whether a message of the user whose key starts with a prefix was already sent."""
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.FOLDED]),
            OutboxMessage.dedupe_key.startswith(key_prefix, autoescape=True),
        )
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none() is not None
