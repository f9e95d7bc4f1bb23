"""Partner rules on both databases: invites over time, the limit, who may do what, the digest's
schedule, the level cut of what a partner gets, and /forget on either side."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import partners as partner_queries
from bot.db.models import (
    ActivityEntry,
    OutboxMessage,
    PartnerInvite,
    PartnerLevel,
    PartnerLink,
    Quote,
    User,
)
from bot.services import partner_digest, partners
from bot.services.partners import PartnerError, Sharing
from handlers import partners as partner_handlers

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday
MONDAY = date(2026, 11, 30)
_ids = itertools.count(1)


async def make_user(session: AsyncSession, name: str = "Sam") -> User:
    telegram_id = next(_ids)
    user = User(
        telegram_id=telegram_id, chat_id=telegram_id, first_name=name, timezone="Europe/Paris",
        onboarded_at=NOW, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    return user


async def linked(
    session: AsyncSession, owner: User, partner: User, sharing: Sharing | None = None
) -> PartnerLink:
    token = await partners.create_invite(
        session, owner, sharing or Sharing(PartnerLevel.NUMBERS), NOW
    )
    link, _ = await partners.accept(session, token, partner, NOW)
    return link


def test_sharing_codes_and_client_names_only_with_the_pipeline() -> None:
    for code in ("n", "t", "p", "pc"):
        sharing = Sharing.from_code(code)
        assert sharing is not None and sharing.code == code
    assert Sharing.from_code("x") is None and Sharing.from_code("") is None
    with pytest.raises(ValueError):
        Sharing(PartnerLevel.TYPE, show_clients=True)
    assert not Sharing(PartnerLevel.NUMBERS).type and Sharing(PartnerLevel.TYPE).type
    assert Sharing(PartnerLevel.PIPELINE).pipeline and not Sharing(PartnerLevel.TYPE).pipeline


def test_start_argument() -> None:
    assert partners.token_from_start("p_abc-DEF_1") == "abc-DEF_1"
    for bad in ("abc", "p_", "p_" + "a" * 65, "p_é", "p_a b", "q_abc"):
        assert partners.token_from_start(bad) is None, bad


@given(
    st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=2),
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=-40, max_value=40),
)
def test_missed_two_weeks_needs_both_weeks_under_a_goal_set_before_them(
    contacts: list[int], target: int, started_back: int
) -> None:
    started_on = MONDAY - timedelta(days=14) + timedelta(days=started_back)
    missed = partners.missed_two_weeks(target, started_on, MONDAY, (contacts[0], contacts[1]))
    assert missed == (started_back <= 0 and contacts[0] < target and contacts[1] < target)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=0, max_value=20 * 24 * 3600))
async def test_an_invite_works_once_and_only_for_seven_days(
    sessions: async_sessionmaker[AsyncSession], seconds: int
) -> None:
    later = NOW + timedelta(seconds=seconds)
    async with sessions.begin() as session:
        owner, first, second = [await make_user(session, n) for n in ("O", "A", "B")]
        token = await partners.create_invite(session, owner, Sharing(PartnerLevel.NUMBERS), NOW)
        if seconds < partners.INVITE_TTL.total_seconds():
            await partners.accept(session, token, first, later)
            with pytest.raises(PartnerError) as refused:
                await partners.accept(session, token, second, later)
            assert refused.value.code == "used"
        else:
            with pytest.raises(PartnerError) as refused:
                await partners.accept(session, token, first, later)
            assert refused.value.code == "expired"
        stored = (await session.execute(select(PartnerInvite.token_hash))).scalars().all()
        assert token not in stored and partners.hash_token(token) in stored


async def test_three_partners_at_most_open_invites_included(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        owner = await make_user(session)
        await linked(session, owner, await make_user(session, "P1"))
        await partners.create_invite(session, owner, Sharing(PartnerLevel.TYPE), NOW)
        spare = await partners.create_invite(session, owner, Sharing(PartnerLevel.TYPE), NOW)
        with pytest.raises(PartnerError) as full:
            await partners.create_invite(session, owner, Sharing(PartnerLevel.TYPE), NOW)
        assert full.value.code == "full"
        with pytest.raises(PartnerError) as own:
            await partners.accept(session, spare, owner, NOW)
        assert own.value.code == "own"
        # A coach follows any number of owners.
        coach = await make_user(session, "Coach")
        for n in range(5):
            await linked(session, await make_user(session, f"O{n}"), coach)
        assert len(await partner_queries.owners_of(session, coach.id)) == 5


async def test_only_the_owner_changes_and_only_the_partner_reacts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        owner, partner, other = (
            await make_user(session, "O"), await make_user(session, "P"),
            await make_user(session, "X"),
        )  # fmt: skip
        link = await linked(session, owner, partner)
        pipeline = Sharing(PartnerLevel.PIPELINE, True)
        for someone in (partner, other):
            assert await partners.set_sharing(session, someone, link.id, pipeline, NOW) is None
            assert await partners.toggle_notice(session, someone, link.id, "reached", NOW) is None
            assert await partners.revoke(session, someone, link.id, NOW) is None
        for someone in (owner, other):
            assert await partners.react(session, someone, link.id, "bravo", NOW) is None
            assert await partners.toggle_mute(session, someone, link.id, NOW) is None
            assert await partners.leave(session, someone, link.id, NOW) is None
        assert await partners.react(session, partner, link.id, "boo", NOW) is None
        assert link.level == "numbers" and not link.show_clients and not link.muted
        assert await partners.react(session, partner, link.id, "talk", NOW) == owner
        kinds = (await session.execute(select(OutboxMessage.kind, OutboxMessage.user_id))).all()
        assert (partners.REACTION_KIND, owner.id) in kinds


async def test_one_digest_per_partner_after_the_latest_review(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        coach = await make_user(session, "Coach")
        early, late = await make_user(session, "Early"), await make_user(session, "Late")
        await linked(session, early, coach)
        await linked(session, late, coach)
        review = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
        await partners.schedule_digests(session, late, MONDAY, review + timedelta(hours=3), NOW)
        await partners.schedule_digests(session, early, MONDAY, review, NOW)
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
        digests = [r for r in rows if r.kind == partners.DIGEST_KIND]
        assert len(digests) == 1 and digests[0].user_id == coach.id
        assert digests[0].due_at == review + timedelta(hours=3) + partners.DIGEST_DELAY
        # A partner who blocked the bot gets nothing planned.
        blocked = await make_user(session, "Gone")
        blocked.blocked_at = NOW
        await linked(session, early, blocked)
        await partners.schedule_digests(session, early, MONDAY, review, NOW)
        query = select(func.count()).where(OutboxMessage.user_id == blocked.id)
        assert (await session.execute(query)).scalar_one() == 0


async def test_the_week_a_partner_gets_is_cut_to_the_level(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        owner = await make_user(session)
        session.add(
            ActivityEntry(
                user_id=owner.id, local_date=date(2026, 11, 24), kind="contacts", count=6,
                created_at=NOW,
            )
        )  # fmt: skip
        session.add(
            Quote(
                user_id=owner.id, client="Dupont SARL", amount=Decimal("4500"), currency="EUR",
                sent_on=date(2026, 11, 24), expires_on=date(2026, 12, 24), created_at=NOW,
                updated_at=NOW,
            )
        )  # fmt: skip
        await session.flush()
        weeks = {
            code: await partner_digest.owner_week(
                session, owner, 1, Sharing.from_code(code) or Sharing(PartnerLevel.NUMBERS), MONDAY
            )
            for code in ("n", "t", "p", "pc")
        }
        assert {w.contacts for w in weeks.values()} == {6}
        assert weeks["n"].remedy is None and weeks["n"].pipeline is None
        assert weeks["t"].remedy is not None and weeks["t"].pipeline is None
        pipeline = weeks["p"].pipeline
        assert pipeline is not None and pipeline.clients is None
        assert (pipeline.count, pipeline.totals) == (1, (("EUR", Decimal("4500.00")),))
        named = weeks["pc"].pipeline
        assert named is not None and named.clients == (("Dupont SARL", Decimal("4500.00"), "EUR"),)


@pytest.mark.parametrize("side", ["owner", "partner"])
async def test_forget_on_either_side_removes_everything_and_tells_the_other(
    sessions: async_sessionmaker[AsyncSession], side: str
) -> None:
    async with sessions.begin() as session:
        owner, partner = await make_user(session, "O"), await make_user(session, "P")
        await linked(session, owner, partner)
        await partners.create_invite(session, owner, Sharing(PartnerLevel.NUMBERS), NOW)
        leaving, staying = (owner, partner) if side == "owner" else (partner, owner)
        await partners.before_forget(session, leaving, NOW)
        for model in (PartnerLink, PartnerInvite):
            count = (await session.execute(select(func.count()).select_from(model))).scalar_one()
            assert count == (2 if model is PartnerInvite and side == "partner" else 0), model
        notice = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.kind == partners.NOTICE_KIND)
                )
            )
            .scalars()
            .all()
        )
        told = [n for n in notice if n.payload.get("why") == partners.FORGOT]
        assert [(n.user_id, n.payload["name"]) for n in told] == [(staying.id, leaving.first_name)]


async def test_a_muted_or_paused_owner_is_left_out_of_the_digest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        coach = await make_user(session, "Coach")
        owners = [await make_user(session, name) for name in ("Anna", "Bruno", "Chloé")]
        links = [await linked(session, owner, coach) for owner in owners]
        assert await partners.toggle_mute(session, coach, links[0].id, NOW) is not None
        owners[1].paused_until = MONDAY
        row = OutboxMessage(
            user_id=coach.id, kind=partners.DIGEST_KIND, dedupe_key="d", due_at=NOW,
            payload={"monday": MONDAY.isoformat()}, created_at=NOW,
        )  # fmt: skip
        outgoing = await partner_handlers.compose_digest(session, row, coach, NOW)
        assert outgoing is not None
        assert "Chloé" in outgoing.text and "Anna" not in outgoing.text
        assert "Bruno" not in outgoing.text
        assert [link for link, *_ in row.payload["shares"]] == [links[2].id]
        await partners.toggle_mute(session, coach, links[2].id, NOW)
        assert await partner_handlers.compose_digest(session, row, coach, NOW) is None
