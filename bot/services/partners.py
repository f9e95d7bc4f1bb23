"""Accountability partners: the one person whose opinion counts, chosen by the owner.

Rules:
- An owner invites with a one-time token (`/start p_<token>`): random (128 bits), only its
  SHA-256 kept, valid INVITE_TTL (7 days), used once. The owner picks what is shared before the
  link exists; the partner sees exactly that before accepting.
- An owner has at most MAX_PARTNERS partners (open invites count too, so three forwarded links
  cannot become four partners); a partner may follow any number of owners. Nobody partners
  themselves, and a second link between the same two people is refused.
- Levels, each including the one before: numbers (the week's contacts, meetings, proposals and
  deals against the goal and the usual pace, the streak), type (+ slowdown type and remedy in
  progress), pipeline (+ count and total of open quotes; client names only with `show_clients`,
  which the owner turns on explicitly).
- Every action is checked against who pressed: only the owner changes, notifies or revokes a
  link, only the partner mutes it or reacts through it. Anything else is refused as stale.
- Weekly digest: one outbox row per partner and Monday, due DIGEST_DELAY after the latest
  Monday review among their owners; it lists every unmuted, reachable owner of that partner when
  it comes due. A blocked side (owner or partner) gets nothing and sends nothing.
- Goal notices, only when the owner opted in for that partner: "reached" the first time a week's
  target is met; "missed" on Monday when both weeks before missed a goal that was set before them.
- Access that ends (revoked, left, /forget on either side) is told to the other side; the notice
  keeps the other's first name only until it is sent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import goals as goal_queries
from bot.db import outbox
from bot.db import partners as queries
from bot.db.models import Goal, PartnerInvite, PartnerLevel, PartnerLink, PartnerShare, User
from bot.services.data_format import OwnerData, PartnerRecord, ShareRecord

MAX_PARTNERS = 3
INVITE_TTL = timedelta(days=7)
DIGEST_DELAY = timedelta(minutes=5)
START_PREFIX = "p_"
TOKEN_BYTES = 16  # 22 URL-safe characters: fits a deep link and a button's callback data

DIGEST_KIND = "partner_digest"
GOAL_KIND = "partner_goal"
REACTION_KIND = "partner_reaction"
NOTICE_KIND = "partner_notice"
KINDS = (DIGEST_KIND, GOAL_KIND, REACTION_KIND, NOTICE_KIND)
# reports.WEEKLY_REVIEW_KIND (reports calls this module, so the name is repeated, not imported).
REVIEW_KIND = "weekly_review"

REACTIONS = ("bravo", "talk", "keep")
REACHED, MISSED = "reached", "missed"
# Why access ended, as told to the other side.
REVOKED, LEFT, FORGOT, JOINED = "revoked", "left", "forgot", "joined"

LEVELS = tuple(PartnerLevel)


class PartnerError(Exception):
    """An invite or action that cannot be done; `code` says why (a template picks the words).

    Codes: "unknown", "expired", "used", "own", "full", "already".
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Sharing:
    """What an owner shares: a level and, at the pipeline level only, client names or not."""

    level: PartnerLevel
    show_clients: bool = False

    def __post_init__(self) -> None:
        if self.show_clients and self.level != PartnerLevel.PIPELINE:
            raise ValueError("client names are shared at the pipeline level only")

    @property
    def type(self) -> bool:
        return self.level in (PartnerLevel.TYPE, PartnerLevel.PIPELINE)

    @property
    def pipeline(self) -> bool:
        return self.level == PartnerLevel.PIPELINE

    @property
    def code(self) -> str:
        """Short form for button data: n, t, p, or pc (pipeline with client names)."""
        return self.level.value[0] + ("c" if self.show_clients else "")

    @classmethod
    def from_code(cls, code: str) -> Sharing | None:
        levels = {level.value[0]: level for level in PartnerLevel}
        if code == "pc":
            return cls(PartnerLevel.PIPELINE, True)
        return cls(levels[code]) if code in levels else None

    @classmethod
    def of(cls, link: PartnerLink | PartnerInvite) -> Sharing:
        level = PartnerLevel(link.level)
        return cls(level, link.show_clients and level == PartnerLevel.PIPELINE)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_start(arg: str) -> str | None:
    """The invite token of a `/start p_<token>` argument, or None for any other argument."""
    if not arg.startswith(START_PREFIX):
        return None
    token = arg[len(START_PREFIX) :]
    ok = 0 < len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)
    return token if ok and token.isascii() else None


def reachable(user: User) -> bool:
    return user.blocked_at is None


# ---------------------------------------------------------------------------- invites


async def room_left(session: AsyncSession, owner: User, now: datetime) -> int:
    used = await queries.count_partners(session, owner.id)
    return MAX_PARTNERS - used - await queries.open_invites(session, owner.id, now)


async def create_invite(session: AsyncSession, owner: User, sharing: Sharing, now: datetime) -> str:
    """A new one-time token for `owner` (raises PartnerError("full") at MAX_PARTNERS)."""
    if await room_left(session, owner, now) <= 0:
        raise PartnerError("full")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        PartnerInvite(
            owner_id=owner.id,
            token_hash=hash_token(token),
            level=sharing.level.value,
            show_clients=sharing.show_clients,
            created_at=now,
            expires_at=now + INVITE_TTL,
        )
    )
    await session.flush()
    return token


async def check_invite(
    session: AsyncSession, token: str, partner: User, now: datetime, *, lock: bool = False
) -> tuple[PartnerInvite, User]:
    """The invite and its owner, if `partner` may accept it now; raises PartnerError."""
    invite = await queries.invite_by_hash(session, hash_token(token), lock=lock)
    if invite is None:
        raise PartnerError("unknown")
    owner = await session.get(User, invite.owner_id)
    if owner is None:
        raise PartnerError("unknown")
    if invite.used_at is not None:
        raise PartnerError("used")
    if invite.expires_at <= now:
        raise PartnerError("expired")
    if owner.id == partner.id:
        raise PartnerError("own")
    if await queries.link_between(session, owner.id, partner.id) is not None:
        raise PartnerError("already")
    if await queries.count_partners(session, owner.id) >= MAX_PARTNERS:
        raise PartnerError("full")
    return invite, owner


async def accept(
    session: AsyncSession, token: str, partner: User, now: datetime
) -> tuple[PartnerLink, User]:
    """The partner accepts: the invite is spent and the link made (raises PartnerError)."""
    invite, owner = await check_invite(session, token, partner, now, lock=True)
    invite.used_at = now
    link = PartnerLink(
        owner_id=owner.id,
        partner_id=partner.id,
        level=invite.level,
        show_clients=invite.show_clients,
        notify_reached=False,
        notify_missed=False,
        muted=False,
        created_at=now,
        updated_at=now,
    )
    session.add(link)
    await session.flush()
    # A review already planned this week gets its digest, without waiting for the next check-in.
    review = await queries.pending_review(session, owner.id, REVIEW_KIND)
    if review is not None:
        due_at, monday = review
        await _schedule_for(session, link, partner, monday, due_at, now)
    return link, owner


# ---------------------------------------------------------------------------- owner's choices


async def owned_link(session: AsyncSession, owner: User, link_id: int) -> PartnerLink | None:
    """The link if `owner` is its owner (a forged id for someone else's link gives None)."""
    link = await queries.link(session, link_id, lock=True)
    return link if link is not None and link.owner_id == owner.id else None


async def followed_link(session: AsyncSession, partner: User, link_id: int) -> PartnerLink | None:
    """The link if `partner` is its partner."""
    link = await queries.link(session, link_id, lock=True)
    return link if link is not None and link.partner_id == partner.id else None


async def set_sharing(
    session: AsyncSession, owner: User, link_id: int, sharing: Sharing, now: datetime
) -> PartnerLink | None:
    link = await owned_link(session, owner, link_id)
    if link is None:
        return None
    link.level, link.show_clients, link.updated_at = (
        sharing.level.value,
        sharing.show_clients,
        now,
    )
    return link


async def toggle_notice(
    session: AsyncSession, owner: User, link_id: int, event: str, now: datetime
) -> PartnerLink | None:
    """Turn "tell my partner when I reach / miss my goal" on or off."""
    link = await owned_link(session, owner, link_id)
    if link is None or event not in (REACHED, MISSED):
        return None
    if event == REACHED:
        link.notify_reached = not link.notify_reached
    else:
        link.notify_missed = not link.notify_missed
    link.updated_at = now
    return link


async def revoke(session: AsyncSession, owner: User, link_id: int, now: datetime) -> User | None:
    """The owner ends the sharing; the partner is told. Returns the former partner."""
    link = await owned_link(session, owner, link_id)
    if link is None:
        return None
    partner = await session.get(User, link.partner_id)
    await _end(session, link, now, told=link.partner_id, about=owner, why=REVOKED)
    return partner


# ---------------------------------------------------------------------------- partner's choices


async def toggle_mute(
    session: AsyncSession, partner: User, link_id: int, now: datetime
) -> PartnerLink | None:
    link = await followed_link(session, partner, link_id)
    if link is None:
        return None
    link.muted, link.updated_at = not link.muted, now
    return link


async def leave(session: AsyncSession, partner: User, link_id: int, now: datetime) -> User | None:
    """The partner stops following an owner; the owner is told. Returns the owner."""
    link = await followed_link(session, partner, link_id)
    if link is None:
        return None
    owner = await session.get(User, link.owner_id)
    await _end(session, link, now, told=link.owner_id, about=partner, why=LEFT)
    return owner


async def react(
    session: AsyncSession, partner: User, link_id: int, reaction: str, now: datetime
) -> User | None:
    """A one-tap reaction to an owner's week, delivered to the owner through the outbox."""
    link = await followed_link(session, partner, link_id)
    if link is None or reaction not in REACTIONS:
        return None
    owner = await session.get(User, link.owner_id)
    if owner is None or not reachable(owner):
        return None
    stamp = int(now.timestamp())
    await outbox.schedule(
        session,
        user_id=owner.id,
        kind=REACTION_KIND,
        dedupe_key=f"{REACTION_KIND}:{link.id}:{stamp}",
        due_at=now,
        now=now,
        payload={"link": link.id, "reaction": reaction},
    )
    return owner


# ---------------------------------------------------------------------------- ending


async def _end(
    session: AsyncSession, link: PartnerLink, now: datetime, *, told: int, about: User, why: str
) -> None:
    await queries.delete_link(session, link.id)
    await tell(session, told, about.first_name, why, link.id, now)


async def tell(
    session: AsyncSession, user_id: int, name: str, why: str, link_id: int, now: datetime
) -> None:
    await outbox.schedule(
        session,
        user_id=user_id,
        kind=NOTICE_KIND,
        dedupe_key=f"{NOTICE_KIND}:{why}:{link_id}:{user_id}",
        due_at=now,
        now=now,
        payload={"name": name, "why": why},
    )


async def before_forget(session: AsyncSession, user: User, now: datetime) -> None:
    """/forget on either side: tell every other side, then remove invites, links and records."""
    for link, partner in await queries.partners_of(session, user.id):
        if reachable(partner):
            await tell(session, partner.id, user.first_name, FORGOT, link.id, now)
    for link, owner in await queries.owners_of(session, user.id):
        if reachable(owner):
            await tell(session, owner.id, user.first_name, FORGOT, link.id, now)
    await queries.delete_all_of(session, user.id)


# ---------------------------------------------------------------------------- scheduling


def digest_key(partner_id: int, monday: date) -> str:
    return f"{DIGEST_KIND}:{partner_id}:{monday.isoformat()}"


async def schedule_digests(
    session: AsyncSession, owner: User, monday: date, review_at: datetime, now: datetime
) -> None:
    """After the owner's Monday review is planned: each partner's digest (and goal check) too."""
    for link, partner in await queries.partners_of(session, owner.id):
        await _schedule_for(session, link, partner, monday, review_at, now)


async def _schedule_for(
    session: AsyncSession,
    link: PartnerLink,
    partner: User,
    monday: date,
    review_at: datetime,
    now: datetime,
) -> None:
    if not reachable(partner):
        return
    key = digest_key(partner.id, monday)
    # One digest per partner and Monday: due after the latest review among their owners.
    due_at = review_at + DIGEST_DELAY
    pending = await queries.pending_due(session, key)
    if pending is not None:
        due_at = max(due_at, pending)
    payload = {"monday": monday.isoformat()}
    await outbox.schedule(
        session, user_id=partner.id, kind=DIGEST_KIND, dedupe_key=key, due_at=due_at,
        now=now, payload=payload,
    )  # fmt: skip
    if link.notify_missed:
        await outbox.schedule(
            session, user_id=partner.id, kind=GOAL_KIND,
            dedupe_key=f"{GOAL_KIND}:{MISSED}:{link.id}:{monday.isoformat()}",
            due_at=review_at + DIGEST_DELAY, now=now,
            payload={"link": link.id, "event": MISSED, "monday": monday.isoformat()},
        )  # fmt: skip


async def on_goal_reached(
    session: AsyncSession, owner: User, week_start: date, now: datetime
) -> None:
    """The owner just reached this week's goal: tell the partners they chose to tell."""
    for link, partner in await queries.partners_of(session, owner.id):
        if link.notify_reached and reachable(partner):
            await outbox.schedule(
                session, user_id=partner.id, kind=GOAL_KIND,
                dedupe_key=f"{GOAL_KIND}:{REACHED}:{link.id}:{week_start.isoformat()}",
                due_at=now, now=now,
                payload={"link": link.id, "event": REACHED, "monday": week_start.isoformat()},
            )  # fmt: skip


def missed_two_weeks(
    target: int, started_on: date, monday: date, contacts_by_week: tuple[int, int]
) -> bool:
    """Both weeks before `monday` missed a goal that was already set when the first began."""
    first_week = monday - timedelta(days=14)
    return started_on <= first_week and all(n < target for n in contacts_by_week)


async def record_share(
    session: AsyncSession,
    *,
    owner_id: int,
    partner_id: int,
    kind: str,
    week: date,
    sharing: Sharing,
    now: datetime,
) -> None:
    session.add(
        PartnerShare(
            owner_id=owner_id,
            partner_id=partner_id,
            kind=kind,
            week=week,
            level=sharing.level.value,
            show_clients=sharing.show_clients,
            shared_at=now,
        )
    )


# ---------------------------------------------------------------------------- /export


async def with_records(session: AsyncSession, user: User, data: OwnerData) -> OwnerData:
    """The export's data plus the user's partnerships and what was shared, on either side."""
    records = [
        PartnerRecord(
            role=role, name=other.first_name, level=link.level, show_clients=link.show_clients,
            notify_reached=link.notify_reached, notify_missed=link.notify_missed,
            muted=link.muted, since=link.created_at,
        )
        for role, pairs in (
            ("partner", await queries.partners_of(session, user.id)),
            ("owner", await queries.owners_of(session, user.id)),
        )
        for link, other in pairs
    ]  # fmt: skip
    shared = [
        ShareRecord(
            direction="sent" if share.owner_id == user.id else "received",
            name=partner_name if share.owner_id == user.id else owner_name,
            kind=share.kind, week=share.week, level=share.level,
            show_clients=share.show_clients, shared_at=share.shared_at,
        )
        for share, owner_name, partner_name in await queries.shares_about(session, user.id)
    ]  # fmt: skip
    return replace(data, partners=records, shared=shared)


async def partners_of(session: AsyncSession, owner_id: int) -> list[tuple[PartnerLink, User]]:
    """An owner's partners with their accounts, oldest first."""
    return await queries.partners_of(session, owner_id)


async def owners_of(session: AsyncSession, partner_id: int) -> list[tuple[PartnerLink, User]]:
    """The owners a partner follows with their accounts, oldest first."""
    return await queries.owners_of(session, partner_id)


async def get_link(session: AsyncSession, link_id: int) -> PartnerLink | None:
    return await queries.link(session, link_id)


async def active_goal(session: AsyncSession, owner_id: int) -> Goal | None:
    """The owner's current goal, for the goal notices."""
    return await goal_queries.active(session, owner_id)
