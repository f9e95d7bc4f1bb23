"""Accountability partners through the sandbox: invite, accept, what each level shows, the
coach's single digest, reactions, goal notices, revocation, forged buttons and /forget."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import OutboxMessage, PartnerInvite, PartnerLink, PartnerShare, User
from bot.delivery.rate_limit import PacedRateLimiter
from bot.sandbox import BotApiSandbox, SandboxUser
from tests.e2e.conftest import Bot, button_texts, say, tap
from tests.e2e.test_checkin import onboard
from tests.e2e.test_data import export_files

# Wednesday 25 November 2026, 10:00 in Paris; the Monday review is on 30 November at 09:00.
WEDNESDAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MONDAY_AFTER_REVIEW = datetime(2026, 11, 30, 8, 6, tzinfo=UTC)
INVITE = "➕ Invite a partner"
LEVEL = {
    "numbers": "📊 Numbers",
    "type": "🧭 Numbers + slowdown type",
    "pipeline": "📂 Numbers + type + pipeline",
}
STALE = "That question was already answered."
ACCEPT = {"en": "✅ Accept", "fr": "✅ Accepter"}

pytestmark = pytest.mark.usefixtures("unpaced")


@pytest.fixture
def unpaced(sandbox: BotApiSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """No flood limits: many owners and partners in a row measure sharing, not pacing."""
    sandbox.flood_control = False

    async def send_now(
        self: PacedRateLimiter, chat_id: object, callback: Any, args: Any, kwargs: Any
    ) -> Any:
        return await callback(*args, **kwargs)

    monkeypatch.setattr(PacedRateLimiter, "_paced", send_now)


async def invite(
    owner: SandboxUser, sandbox: BotApiSandbox, level: str, *, clients: bool = False
) -> tuple[str, str]:
    """/partner → Invite → level (→ client names) → Create; returns (preview text, token)."""
    menu = await say(owner, sandbox, "/partner")
    await tap(owner, sandbox, INVITE, message=menu)
    preview = await tap(owner, sandbox, LEVEL[level])
    if clients:
        preview = await tap(owner, sandbox, "👁 Also show client names")
    link = await tap(owner, sandbox, "🔗 Create the link")
    found = re.search(r"https://t\.me/sandbox_bot\?start=p_([A-Za-z0-9_-]+)", link["text"])
    assert found, link["text"]
    return preview["text"], found.group(1)


async def accept(partner: SandboxUser, sandbox: BotApiSandbox, token: str) -> dict[str, Any]:
    invitation = await say(partner, sandbox, f"/start p_{token}")
    assert "🤝" in invitation["text"] and "👏" in invitation["text"], invitation["text"]
    return await tap(partner, sandbox, ACCEPT[partner.language_code or "en"], message=invitation)


async def links(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(PartnerLink.__table__))).all())


async def user_id(engine: AsyncEngine, telegram_id: int) -> int:
    async with engine.connect() as conn:
        query = select(User.id).where(User.telegram_id == telegram_id)
        return int((await conn.execute(query)).scalar_one())


async def owner_with_week(owner: SandboxUser, sandbox: BotApiSandbox, engine: AsyncEngine) -> None:
    """An onboarded owner with activity and an open quote this week."""
    await onboard(owner, sandbox, engine)
    await say(owner, sandbox, "/log 7 calls")
    await say(owner, sandbox, "/log 2 rdv")
    await say(owner, sandbox, "/quote Dupont SARL 4500 30")


async def tick(bot: Bot, *users: SandboxUser) -> None:
    """A dispatcher tick; the users' next `say` then answers what they type next."""
    await bot.tick()
    for user in users:
        user.skip_pending()


async def review_now(user: SandboxUser, sandbox: BotApiSandbox, command: str = "/stats") -> None:
    """/stats (two messages: the chart, then the words); plans Monday's review and digests."""
    await say(user, sandbox, command)
    await sandbox.wait_idle(timeout=10)
    user.skip_pending()


def new_messages(user: SandboxUser, before: int) -> list[dict[str, Any]]:
    return user.messages[before:]


async def test_each_level_shows_what_it_must_and_nothing_more(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(WEDNESDAY)
    owner = sandbox.user(1701, first_name="Sam", language_code="en")
    await owner_with_week(owner, sandbox, engine)
    readers = {
        "numbers": sandbox.user(1711, first_name="Nina", language_code="en"),
        "type": sandbox.user(1712, first_name="Theo", language_code="fr"),
        "pipeline": sandbox.user(1713, first_name="Paula", language_code="en"),
    }
    for level, reader in readers.items():
        preview, token = await invite(owner, sandbox, level)
        # Shown to the owner before anything exists: their own numbers at that level.
        assert "New contacts: 7" in preview
        assert ("Open quotes: 1" in preview) == (level == "pipeline")
        assert "Dupont" not in preview
        accepted = await accept(reader, sandbox, token)
        assert "Sam" in accepted["text"]
    # The owner has 3 partners: no fourth invite, and a forged one is refused.
    menu = await say(owner, sandbox, "/partner")
    assert INVITE not in button_texts(owner, menu)
    await owner.wait_for_answer(await owner.send_callback(menu, "ptn:inv:n"), timeout=10)
    await sandbox.wait_idle(timeout=10)
    refused = next(m for m in owner.messages if m["message_id"] == menu["message_id"])
    assert "You already have 3 partners" in refused["text"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(PartnerInvite))).scalar() == 3
    await tick(bot, owner, *readers.values())  # the owner hears each partner joined
    joined = [m["text"] for m in owner.messages if "accepted:" in m.get("text", "")]
    assert len(joined) == 3

    await review_now(owner, sandbox)  # plans Monday's review, and the partners' digests
    bot.clock.set(MONDAY_AFTER_REVIEW)
    await tick(bot, owner, *readers.values())
    digests = {level: reader.messages[-1]["text"] for level, reader in readers.items()}
    for level, text in digests.items():
        assert "Sam" in text and ("7" in text), text
        assert "Dupont" not in text, level  # never a client name unless turned on
        assert ("4,500" in text or "4\u202f500" in text) == (level == "pipeline"), text
        assert ("🧭" in text) == (level in ("type", "pipeline")), text
        assert "calls" not in text and "check-in answers" not in text
    assert "Nouveaux contacts\u00a0: 7" in digests["type"]  # in the partner's language
    assert "Open quotes: 1, $4,500" in digests["pipeline"]
    assert "Nina" not in digests["type"] and "Paula" not in digests["numbers"]  # no other partner

    # The owner turns client names on for Paula: she sees them from the next digest on.
    menu = await say(owner, sandbox, "/partner")
    await tap(owner, sandbox, "⚙️ Paula", message=menu)
    preview = await tap(owner, sandbox, "✓ 📂 Numbers + type + pipeline")
    preview = await tap(owner, sandbox, "👁 Also show client names")
    assert "Dupont SARL" in preview["text"]
    saved = await tap(owner, sandbox, "✅ Share this")
    assert "Saved" in saved["text"]

    # A one-tap reaction reaches the owner.
    numbers_reader = readers["numbers"]
    digest_message = numbers_reader.messages[-1]
    await tap(numbers_reader, sandbox, "👏 Well done", message=digest_message)
    await tick(bot, owner, *readers.values())
    assert "Nina saw your week: Well done!" in owner.messages[-1]["text"]

    await say(owner, sandbox, "/log 1 call")  # keeps the review chain going
    bot.clock.set(MONDAY_AFTER_REVIEW + timedelta(days=7))
    await tick(bot, owner, *readers.values())
    assert "Dupont SARL" in readers["pipeline"].messages[-1]["text"]
    assert "Dupont" not in readers["type"].messages[-1]["text"]
    async with engine.connect() as conn:
        shares = (await conn.execute(select(PartnerShare.__table__))).all()
    assert {s.kind for s in shares} == {"digest"} and len(shares) == 6


async def test_expired_reused_own_and_broken_links_are_refused(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(WEDNESDAY)
    owner = sandbox.user(1721, first_name="Lou", language_code="en")
    await onboard(owner, sandbox, engine)
    _, token = await invite(owner, sandbox, "numbers")
    own = await say(owner, sandbox, f"/start p_{token}")
    assert "your own invite link" in own["text"]

    first = sandbox.user(1722, first_name="Ana", language_code="fr")
    await accept(first, sandbox, token)
    second = sandbox.user(1723, first_name="Bob", language_code="en")
    reused = await say(second, sandbox, f"/start p_{token}")
    assert "already been used" in reused["text"] and not button_texts(second, reused)
    broken = await say(second, sandbox, "/start p_not-a-real-token")
    assert "doesn't work" in broken["text"]
    # A forged Accept with the spent token does nothing either.
    await second.send_callback(reused, f"ptn:acc:{token}")
    assert "already been used" in (await second.next_message(timeout=10))["text"]

    _, late = await invite(owner, sandbox, "numbers")
    bot.clock.set(WEDNESDAY + timedelta(days=7, seconds=1))
    expired = await say(second, sandbox, f"/start p_{late}")
    assert "expired" in expired["text"]
    assert [(r.partner_id) for r in await links(engine)] == [await user_id(engine, 1722)]

    # The partner needs nothing but /start and a language: French by Telegram, English by a tap.
    _, fresh = await invite(owner, sandbox, "type")
    third = sandbox.user(1724, first_name="Céline", language_code="fr")
    invitation = await say(third, sandbox, f"/start p_{fresh}")
    assert "aimerait vous avoir comme partenaire" in invitation["text"]
    english = await tap(third, sandbox, "English", message=invitation)
    assert "would like you as their accountability partner" in english["text"]
    done = await tap(third, sandbox, "✅ Accept", message=english)
    assert "You are now Lou's accountability partner" in done["text"]
    assert len(await links(engine)) == 2


async def test_a_coach_with_30_owners_gets_one_digest(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(WEDNESDAY)
    coach = sandbox.user(1800, first_name="Coach", language_code="en")
    owners = [
        sandbox.user(1801 + n, first_name=f"Owner{n:02d}", language_code="en") for n in range(30)
    ]
    for n, owner in enumerate(owners):
        await onboard(owner, sandbox, engine)
        await say(owner, sandbox, f"/log {n + 1} calls")
        if n < 2:
            await say(owner, sandbox, "/quote Client 1000 30")
        _, token = await invite(owner, sandbox, "pipeline" if n % 2 else "numbers")
        await accept(coach, sandbox, token)
    await review_now(owners[0], sandbox)  # one review planned is enough: the digest is the coach's
    await tick(bot, coach, *owners)
    before = len(coach.messages)
    bot.clock.set(MONDAY_AFTER_REVIEW)
    await tick(bot, coach, *owners)
    received = new_messages(coach, before)
    assert len(received) == 1, [m.get("text", "")[:80] for m in received]
    digest = received[0]
    for n in range(30):
        assert f"Owner{n:02d}" in digest["text"]
    assert len(digest["text"]) <= 4096 and "Client" not in digest["text"]
    assert len(button_texts(coach, digest)) == 30
    picked = await tap(coach, sandbox, "💬 Owner07", message=digest)
    assert "Owner07" in picked["text"]
    await tap(coach, sandbox, "📞 Let's talk", message=picked)
    await tick(bot, coach, *owners)
    assert "Let's talk." in owners[7].messages[-1]["text"]
    assert not any("Let's talk" in m.get("text", "") for m in owners[6].messages)


async def test_revocation_stops_the_next_digest_and_the_partner_is_told(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(WEDNESDAY)
    owner = sandbox.user(1731, first_name="Max", language_code="fr")
    partner = sandbox.user(1732, first_name="Eva", language_code="en")
    await owner_with_week(owner, sandbox, engine)
    menu = await say(owner, sandbox, "/partenaire")
    await tap(owner, sandbox, "➕ Inviter un partenaire", message=menu)
    await tap(owner, sandbox, "📊 Les chiffres")
    link = await tap(owner, sandbox, "🔗 Créer le lien")
    token = re.search(r"start=p_([A-Za-z0-9_-]+)", link["text"]).group(1)  # type: ignore[union-attr]
    await accept(partner, sandbox, token)
    await review_now(owner, sandbox, "/bilan")

    # With a goal, the owner asks to tell Eva when it is reached; crossing it tells her once.
    await say(owner, sandbox, "/objectif 10 un resto")
    menu = await say(owner, sandbox, "/partenaire")
    settings = await tap(owner, sandbox, "⚙️ Eva", message=menu)
    assert "⬜ Objectif atteint" in button_texts(owner, settings)
    await tap(owner, sandbox, "⬜ Objectif atteint", message=settings)
    await say(owner, sandbox, "/noter 3 appels")
    await tick(bot, owner, partner)
    assert "Max reached their weekly goal: 10 new contacts" in partner.messages[-1]["text"]

    menu = await say(owner, sandbox, "/partenaire")
    await tap(owner, sandbox, "⚙️ Eva", message=menu)
    await tap(owner, sandbox, "⛔ Arrêter le partage")
    done = await tap(owner, sandbox, "⛔ Oui, arrêter")
    assert "Eva ne voit plus votre semaine" in done["text"]
    await tick(bot, owner, partner)
    assert "Max ended the sharing" in partner.messages[-1]["text"]
    before = len(partner.messages)
    bot.clock.set(MONDAY_AFTER_REVIEW)
    await tick(bot, owner, partner)
    assert new_messages(partner, before) == []
    assert await links(engine) == []


async def test_forged_buttons_for_another_owners_partner_are_refused(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(WEDNESDAY)
    owner = sandbox.user(1741, first_name="Iris", language_code="en")
    partner = sandbox.user(1742, first_name="Paul", language_code="en")
    intruder = sandbox.user(1743, first_name="Mallory", language_code="en")
    await onboard(owner, sandbox, engine)
    _, token = await invite(owner, sandbox, "numbers")
    await accept(partner, sandbox, token)
    [link] = await links(engine)
    own_menu = await say(intruder, sandbox, "/partner")
    forged = [
        f"ptn:open:{link.id}", f"ptn:set:{link.id}.pc", f"ptn:chg:{link.id}.pc",
        f"ptn:nr:{link.id}", f"ptn:end:{link.id}", f"ptn:r:{link.id}.talk",
        f"ptn:mute:{link.id}", f"ptn:leave:{link.id}", f"ptn:pick:{link.id}", "ptn:lvl:zz",
        f"ptn:set:{link.id}.x", "ptn:r:x.y", "ptn:open:", "ptn:nope:1",
    ]  # fmt: skip
    for data in forged:
        query_id = await intruder.send_callback(own_menu, data)
        answer = await intruder.wait_for_answer(query_id, timeout=10)
        assert answer.answer_text == STALE, data
        await sandbox.wait_idle(timeout=10)  # the keyboard drop lands before the next press
    # The partner cannot act as the owner, nor the owner as the partner.
    digestless = await say(partner, sandbox, "/partner")
    for data in (f"ptn:end:{link.id}", f"ptn:set:{link.id}.pc", f"ptn:nm:{link.id}"):
        answer = await partner.wait_for_answer(
            await partner.send_callback(digestless, data), timeout=10
        )
        assert answer.answer_text == STALE, data
        await sandbox.wait_idle(timeout=10)  # the keyboard drop lands before the next press
    owner_menu = await say(owner, sandbox, "/partner")
    for data in (f"ptn:mute:{link.id}", f"ptn:r:{link.id}.bravo"):
        answer = await owner.wait_for_answer(
            await owner.send_callback(owner_menu, data), timeout=10
        )
        assert answer.answer_text == STALE, data
        await sandbox.wait_idle(timeout=10)  # the keyboard drop lands before the next press
    await sandbox.wait_idle(timeout=10)
    [after] = await links(engine)
    assert tuple(after) == tuple(link)
    await tick(bot, owner, partner, intruder)
    assert not any("saw your week" in m.get("text", "") for m in owner.messages)


@pytest.mark.parametrize("side", ["owner", "partner"])
async def test_forget_on_either_side_removes_the_links(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, side: str
) -> None:
    bot.clock.set(WEDNESDAY)
    owner = sandbox.user(1751, first_name="Olga", language_code="en")
    partner = sandbox.user(1752, first_name="Pierre", language_code="fr")
    await owner_with_week(owner, sandbox, engine)
    _, token = await invite(owner, sandbox, "pipeline")
    await accept(partner, sandbox, token)
    await review_now(owner, sandbox)
    bot.clock.set(MONDAY_AFTER_REVIEW)
    await tick(bot, owner, partner)
    assert "Olga" in partner.messages[-1]["text"]

    privacy = await say(owner, sandbox, "/privacy")
    assert "Pierre sees your week: numbers + type + pipeline" in privacy["text"]
    owner_id, partner_id = await user_id(engine, 1751), await user_id(engine, 1752)
    leaving, staying = (owner, partner) if side == "owner" else (partner, owner)
    # /export names the partnership and what was shared, from either side.
    document, _ = await export_files(leaving, sandbox)
    [record] = document["partners"]
    [shared] = document["shares"]
    if side == "owner":
        assert (record["role"], record["name"], record["level"]) == (
            "partner",
            "Pierre",
            "pipeline",
        )
        assert (shared["direction"], shared["name"], shared["kind"]) == ("sent", "Pierre", "digest")
    else:
        assert (record["role"], record["name"]) == ("owner", "Olga")
        assert (shared["direction"], shared["name"], shared["week"]) == (
            "received", "Olga", "2026-11-30",
        )  # fmt: skip
    leaving.skip_pending()
    await say(leaving, sandbox, "/forget")
    await tap(
        leaving, sandbox, "🗑 Yes, erase everything" if leaving is owner else "🗑 Oui, tout effacer"
    )
    await tick(bot, owner, partner)
    told = staying.messages[-1]["text"]
    assert "erased their data" in told or "a effacé ses données" in told, told
    async with engine.connect() as conn:
        for model in (PartnerLink, PartnerShare):
            query = (
                select(func.count())
                .select_from(model)
                .where(
                    or_(model.owner_id.in_([owner_id, partner_id]), model.partner_id == partner_id)
                )
            )
            assert (await conn.execute(query)).scalar_one() == 0, model
    before = len(staying.messages)
    bot.clock.set(MONDAY_AFTER_REVIEW + timedelta(days=7))
    await tick(bot, owner, partner)
    assert not any("Olga" in m.get("text", "") for m in new_messages(staying, before))


async def test_nothing_reaches_or_comes_from_a_side_that_blocked_the_bot(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(WEDNESDAY)
    coach = sandbox.user(1761, first_name="Coach", language_code="en")
    staying = sandbox.user(1762, first_name="Stay", language_code="en")
    gone = sandbox.user(1763, first_name="Gone", language_code="en")
    for owner in (staying, gone):
        await owner_with_week(owner, sandbox, engine)
        _, token = await invite(owner, sandbox, "numbers")
        await accept(coach, sandbox, token)
        await review_now(owner, sandbox)
    await tick(bot, coach, staying, gone)

    gone.block()  # its Monday review fails with 403: the owner is left out of the digest
    before = len(coach.messages)
    bot.clock.set(MONDAY_AFTER_REVIEW - timedelta(minutes=5))  # the reviews, then the digest
    await tick(bot, coach, staying)
    bot.clock.set(MONDAY_AFTER_REVIEW)
    await tick(bot, coach, staying)
    [digest] = new_messages(coach, before)
    assert "Stay" in digest["text"] and "Gone" not in digest["text"]

    coach.block()  # the next digest fails with 403: nothing more is planned for the coach
    await say(staying, sandbox, "/log 2 calls")
    await review_now(staying, sandbox)
    bot.clock.set(MONDAY_AFTER_REVIEW + timedelta(days=7))
    await tick(bot, staying)
    await review_now(staying, sandbox)
    coach_id = await user_id(engine, 1761)
    async with engine.connect() as conn:
        pending = select(func.count()).where(
            OutboxMessage.user_id == coach_id, OutboxMessage.status == "pending"
        )
        assert (await conn.execute(pending)).scalar_one() == 0
        blocked = select(User.blocked_at).where(User.id == coach_id)
        assert (await conn.execute(blocked)).scalar_one() is not None
    assert sandbox.errors_served.pop(403, 0) == 2  # the two refusals this test provoked


async def test_two_missed_weeks_are_told_only_when_the_owner_asked(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(datetime(2026, 11, 9, 11, 0, tzinfo=UTC))  # Monday: the goal starts this week
    owner = sandbox.user(1771, first_name="Remy", language_code="en")
    told = sandbox.user(1772, first_name="Tess", language_code="fr")
    untold = sandbox.user(1773, first_name="Ugo", language_code="en")
    await onboard(owner, sandbox, engine)
    await say(owner, sandbox, "/goal 10 a day off")
    for partner in (told, untold):
        _, token = await invite(owner, sandbox, "numbers")
        await accept(partner, sandbox, token)
    menu = await say(owner, sandbox, "/partner")
    settings = await tap(owner, sandbox, "⚙️ Tess", message=menu)
    await tap(owner, sandbox, "⬜ 2 weeks missed", message=settings)
    for day in (9, 16):  # one new contact a week: both weeks miss the goal of 10
        bot.clock.set(datetime(2026, 11, day, 11, 0, tzinfo=UTC))
        await tick(bot, owner, told, untold)
        await say(owner, sandbox, "/log 1 call")
        await review_now(owner, sandbox)
    before = {p.id: len(p.messages) for p in (told, untold)}
    bot.clock.set(datetime(2026, 11, 23, 8, 6, tzinfo=UTC))
    await tick(bot, owner, told, untold)
    got = {p.id: [m["text"] for m in new_messages(p, before[p.id])] for p in (told, untold)}
    missed = "Remy a manqué son objectif deux semaines de suite"
    assert any(missed in text for text in got[told.id]), got[told.id]
    assert not any("missed their goal" in text for text in got[untold.id]), got[untold.id]
    assert any("Remy" in text for text in got[untold.id])  # the digest itself still comes
    async with engine.connect() as conn:
        kinds = (await conn.execute(select(PartnerShare.kind))).scalars().all()
    assert sorted(kinds).count("goal_missed") == 1
