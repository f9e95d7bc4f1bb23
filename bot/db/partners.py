"""Queries on accountability partners: invites, links and what was shared. Nothing commits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    OutboxMessage,
    OutboxStatus,
    PartnerInvite,
    PartnerLink,
    PartnerShare,
    User,
)


async def invite_by_hash(
    session: AsyncSession, token_hash: str, *, lock: bool = False
) -> PartnerInvite | None:
    query = select(PartnerInvite).where(PartnerInvite.token_hash == token_hash)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_invites(session: AsyncSession, owner_id: int, now: datetime) -> int:
    """Unused, unexpired invites of an owner."""
    query = select(func.count()).where(
        PartnerInvite.owner_id == owner_id,
        PartnerInvite.used_at.is_(None),
        PartnerInvite.expires_at > now,
    )
    return int((await session.execute(query)).scalar_one())


async def link(session: AsyncSession, link_id: int, *, lock: bool = False) -> PartnerLink | None:
    return await session.get(PartnerLink, link_id, with_for_update=lock)


async def link_between(session: AsyncSession, owner_id: int, partner_id: int) -> PartnerLink | None:
    query = select(PartnerLink).where(
        PartnerLink.owner_id == owner_id, PartnerLink.partner_id == partner_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def partners_of(session: AsyncSession, owner_id: int) -> list[tuple[PartnerLink, User]]:
    """An owner's partners (oldest first) with their accounts."""
    query = (
        select(PartnerLink, User)
        .join(User, User.id == PartnerLink.partner_id)
        .where(PartnerLink.owner_id == owner_id)
        .order_by(PartnerLink.id)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def owners_of(session: AsyncSession, partner_id: int) -> list[tuple[PartnerLink, User]]:
    """The owners a partner follows (oldest first) with their accounts."""
    query = (
        select(PartnerLink, User)
        .join(User, User.id == PartnerLink.owner_id)
        .where(PartnerLink.partner_id == partner_id)
        .order_by(PartnerLink.id)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def count_partners(session: AsyncSession, owner_id: int) -> int:
    query = select(func.count()).where(PartnerLink.owner_id == owner_id)
    return int((await session.execute(query)).scalar_one())


async def delete_link(session: AsyncSession, link_id: int) -> None:
    await session.execute(delete(PartnerLink).where(PartnerLink.id == link_id))


async def delete_all_of(session: AsyncSession, user_id: int) -> None:
    """Every invite, link and share record where the user is either side (for /forget)."""
    await session.execute(delete(PartnerInvite).where(PartnerInvite.owner_id == user_id))
    for model in (PartnerLink, PartnerShare):
        await session.execute(
            delete(model).where(or_(model.owner_id == user_id, model.partner_id == user_id))
        )


async def shares_about(session: AsyncSession, user_id: int) -> list[tuple[PartnerShare, str, str]]:
    """Share records where the user is either side, with the owner's and partner's first names."""
    owner = User.__table__.alias("owner")
    partner = User.__table__.alias("partner")
    query = (
        select(PartnerShare, owner.c.first_name, partner.c.first_name)
        .join(owner, owner.c.id == PartnerShare.owner_id)
        .join(partner, partner.c.id == PartnerShare.partner_id)
        .where(or_(PartnerShare.owner_id == user_id, PartnerShare.partner_id == user_id))
        .order_by(PartnerShare.shared_at, PartnerShare.id)
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def pending_due(session: AsyncSession, dedupe_key: str) -> datetime | None:
    """When a pending outbox row is due (None when there is none pending with that key)."""
    query = select(OutboxMessage.due_at).where(
        OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.status == OutboxStatus.PENDING
    )
    return (await session.execute(query)).scalar_one_or_none()


async def pending_review(
    session: AsyncSession, owner_id: int, kind: str
) -> tuple[datetime, date] | None:
    """When the owner's pending Monday review is due, and its Monday (None when none is)."""
    query = (
        select(OutboxMessage.due_at, OutboxMessage.payload)
        .where(
            OutboxMessage.user_id == owner_id,
            OutboxMessage.kind == kind,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .order_by(OutboxMessage.due_at)
        .limit(1)
    )
    row = (await session.execute(query)).first()
    if row is None or "monday" not in row[1]:
        return None
    return row[0], date.fromisoformat(row[1]["monday"])
