"""Coaching through the sandbox: three weeks of history of each slowdown type get the matching
coaching and a remedy button that works, the Monday review with its chart, /stats, /diagnose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import (
    ActivityEntry,
    CheckIn,
    Diagnosis,
    Goal,
    OutboxMessage,
    OutboxStatus,
    PlanBlock,
    Quote,
    User,
)
from bot.sandbox import BotApiSandbox, SandboxUser
from bot.services.charts import PNG_MAGIC
from tests.e2e.conftest import Bot, button_texts, say, tap

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Friday 09:00 in Paris
TODAY = date(2026, 11, 27)
MONDAY_CHECKIN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Profile:
    """Three weeks of an owner's history, as an import would leave it, and today's answers."""

    kind: str
    block: str  # how the recent low days answered the block question
    reason: str
    plan: bool
    goal: bool
    open_quotes: int = 0
    signed_quotes: int = 0


PROFILES = {
    "unaware": Profile("unaware", "no", "no_time_set_aside", plan=False, goal=True),
    "intentional": Profile(
        "intentional", "yes", "pipeline_full", plan=True, goal=True, open_quotes=4
    ),
    "comfortable": Profile("comfortable", "yes", "no_need", plan=True, goal=False, signed_quotes=2),
}


async def user_id_of(engine: AsyncEngine, telegram_id: int) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(select(User.id).where(User.telegram_id == telegram_id))
            ).scalar_one()
        )


async def seed_history(engine: AsyncEngine, telegram_id: int, profile: Profile) -> None:
    """Weekdays of the last three weeks: 5 new contacts a day, then 1 a day for the last two
    weeks while meetings doubled; the meetings of the first week came in through /import."""
    user_id = await user_id_of(engine, telegram_id)
    checkins: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for back in range(20, 0, -1):
        day = TODAY - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        recent = back < 14
        low = recent and back <= 3  # the last days said why prospecting was low
        checkins.append(
            {
                "user_id": user_id,
                "local_date": day,
                "step": "done",
                "contacts": 1 if recent else 5,
                "meetings": 2 if recent else None,
                "proposals": 1,
                "block_done": profile.block if low else "yes",
                "reason": profile.reason if low else None,
                "asked_at": NOW - timedelta(days=back),
                "completed_at": NOW - timedelta(days=back),
            }
        )
        if not recent:
            entries.append(
                {
                    "user_id": user_id,
                    "local_date": day,
                    "kind": "meetings",
                    "count": 1,
                    "source": "import",
                    "created_at": NOW - timedelta(days=21),
                }
            )
    quotes = [
        {
            "user_id": user_id,
            "client": f"Client {n}",
            "amount": Decimal("1200"),
            "currency": "EUR",
            "sent_on": TODAY - timedelta(days=8 + n),
            "expires_on": TODAY - timedelta(days=8 + n) + timedelta(days=30),
            "status": "open",
            "created_at": NOW - timedelta(days=8 + n),
            "updated_at": NOW - timedelta(days=8 + n),
        }
        for n in range(profile.open_quotes)
    ] + [
        {
            "user_id": user_id,
            "client": f"Signed {n}",
            "amount": Decimal("3000"),
            "currency": "EUR",
            "sent_on": TODAY - timedelta(days=25),
            "expires_on": TODAY + timedelta(days=5),
            "status": "signed",
            "closed_on": TODAY - timedelta(days=4 + n),
            "created_at": NOW - timedelta(days=25),
            "updated_at": NOW - timedelta(days=4),
        }
        for n in range(profile.signed_quotes)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(CheckIn), checkins)
        await conn.execute(insert(ActivityEntry), entries)
        if quotes:
            await conn.execute(insert(Quote), quotes)
        if profile.plan:
            await conn.execute(
                insert(PlanBlock),
                [
                    {
                        "user_id": user_id,
                        "weekday": weekday,
                        "start_time": time(8, 30),
                        "duration_minutes": 60,
                        "created_at": NOW - timedelta(days=30),
                    }
                    for weekday in (1, 3)
                ],
            )
        if profile.goal:
            await conn.execute(
                insert(Goal).values(
                    user_id=user_id,
                    weekly_contacts=15,
                    reward="a dinner out",
                    started_on=TODAY - timedelta(days=30),
                    active=True,
                    created_at=NOW - timedelta(days=30),
                )
            )


TODAYS_REASON = {
    "no_time_set_aside": "I didn't set time aside",
    "pipeline_full": "My pipeline is full",
    "no_need": "No need right now, things are fine",
}
REMEDY_BUTTON = {
    "unaware": "🗓 Plan my prospecting blocks",
    "intentional": "📄 See the quotes to follow up",  # every quote already has an expiry
    "comfortable": "🎯 Set a goal and a reward",
}
COACHING_WORDS = {
    "unaware": ("unnoticed", "I didn't set time aside", "No prospecting blocks"),
    "intentional": ("intentional", "My pipeline is full", "4 open quotes sent over a week ago"),
    "comfortable": ("comfortable", "No need right now", "No prospecting goal"),
}


async def answer_todays_checkin(
    user: SandboxUser, sandbox: BotApiSandbox, profile: Profile
) -> None:
    await say(user, sandbox, "/checkin")
    await tap(user, sandbox, "0")
    await tap(user, sandbox, "3")
    await tap(user, sandbox, "1")  # Friday has no block: no block question; no contact: why?
    summary = await tap(user, sandbox, TODAYS_REASON[profile.reason])
    assert "Thanks" in summary["text"]


async def add_owner(
    sandbox: BotApiSandbox, engine: AsyncEngine, telegram_id: int, lang: str = "en"
) -> SandboxUser:
    """An owner who finished onboarding a month ago (09:00 in Paris, weekdays)."""
    user = sandbox.user(telegram_id, first_name="Robin", language_code=lang)
    async with engine.begin() as conn:
        await conn.execute(
            insert(User).values(
                telegram_id=telegram_id,
                chat_id=telegram_id,
                first_name="Robin",
                language=lang,
                timezone="Europe/Paris",
                checkin_time=time(9, 0),
                checkin_days=0b0011111,
                currency="EUR",
                onboarded_at=NOW - timedelta(days=30),
                created_at=NOW - timedelta(days=30),
                updated_at=NOW - timedelta(days=30),
            )
        )
    return user


async def setup_owner(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, telegram_id: int, kind: str
) -> SandboxUser:
    bot.clock.set(NOW)
    user = await add_owner(sandbox, engine, telegram_id)
    await seed_history(engine, telegram_id, PROFILES[kind])
    await bot.application.bot_data.sweep.run()  # plans what onboarding would have planned
    return user


@pytest.mark.parametrize("kind", ["unaware", "intentional", "comfortable"])
async def test_each_slowdown_gets_its_coaching_and_remedy(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, kind: str
) -> None:
    user = await setup_owner(bot, sandbox, engine, 501, kind)
    await answer_todays_checkin(user, sandbox, PROFILES[kind])
    user.skip_pending()

    await bot.tick()  # the nudge the check-in put in the outbox
    nudge = await user.next_message(timeout=5)
    text = nudge["text"]
    assert "you got busier and your prospecting slowed down" in text
    for words in COACHING_WORDS[kind]:
        assert words in text, (words, text)
    # 9 weekdays at 1 new contact and today's 0, against 5 a day before.
    assert "New contacts: 9 over your last 10 reported days" in text and "about 50 (-82%)" in text
    assert "Why it matters" in text and "Next step" in text
    assert button_texts(user, nudge) == [REMEDY_BUTTON[kind]]

    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                select(Diagnosis.verdict, Diagnosis.source, Diagnosis.on_date, Diagnosis.evidence)
            )
        ).all()
    assert [(v, s, d) for v, s, d, _ in stored] == [(kind, "data", TODAY)]
    assert stored[0].evidence["pattern"] is True

    # The remedy button is answered and starts the remedy's own flow.
    before = len(user.messages)
    query_id = await user.press(nudge, REMEDY_BUTTON[kind])
    await user.wait_for_answer(query_id, timeout=5)
    remedy = await user.next_message(timeout=5)
    # /plan, /quotes and /goal answer with their own flow.
    assert {"unaware": "plan", "intentional": "quote", "comfortable": "goal"}[kind] in (
        remedy["text"].lower()
    )
    assert len(user.messages) > before and remedy["text"]

    if kind != "unaware":
        return
    # Another check-in the same week: no second nudge.
    await bot.tick()
    bot.clock.set(NOW + timedelta(hours=30))  # Saturday
    await answer_todays_checkin(user, sandbox, PROFILES[kind])
    await bot.tick()
    async with engine.connect() as conn:
        nudges = (
            await conn.execute(
                select(OutboxMessage.status).where(OutboxMessage.kind == "coach_nudge")
            )
        ).all()
    assert [n.status for n in nudges] == [OutboxStatus.SENT]


async def test_monday_review_with_chart_arrives_before_the_checkin(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = await setup_owner(bot, sandbox, engine, 502, "intentional")
    await answer_todays_checkin(user, sandbox, PROFILES["intentional"])
    await bot.tick()
    user_id = await user_id_of(engine, 502)
    async with engine.connect() as conn:  # Monday's check-in is planned already
        planned = (
            await conn.execute(
                select(OutboxMessage.due_at).where(
                    OutboxMessage.dedupe_key == f"checkin:{user_id}:2026-11-30",
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
            )
        ).scalar_one()
    assert planned.replace(tzinfo=UTC) == MONDAY_CHECKIN
    user.skip_pending()

    bot.clock.set(MONDAY_CHECKIN - timedelta(seconds=3))
    before = len(user.messages)
    await bot.tick()
    assert len(user.messages) == before  # nothing due yet
    bot.clock.set(MONDAY_CHECKIN + timedelta(seconds=5))
    await bot.tick()
    chart = await user.next_message(timeout=5)
    details = await user.next_message(timeout=5)
    checkin = await user.next_message(timeout=5)
    assert sandbox.file_of(chart).data.startswith(PNG_MAGIC)  # type: ignore[union-attr]
    assert "Your week in one picture" in chart["caption"] and len(chart["caption"]) <= 1024
    assert "Last week, 23 Nov to 29 Nov" in details["text"]
    assert "New contacts: 4 (your usual week: 15)" in details["text"]
    assert "Goal: 4 of 15 new contacts last week" in details["text"]
    assert "intentional" in details["text"]
    assert button_texts(user, details) == [REMEDY_BUTTON["intentional"]]
    assert "check-in" in checkin["text"]

    async with engine.connect() as conn:
        pending = (
            await conn.execute(
                select(OutboxMessage.kind, OutboxMessage.dedupe_key).where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.kind.in_(["weekly_review", "weekly_review_details"]),
                )
            )
        ).all()
    assert sorted(key.rsplit(":", 1)[1] for _, key in pending) == ["2026-12-07"] * 2


async def test_stats_sends_the_chart_then_the_review(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = await setup_owner(bot, sandbox, engine, 503, "comfortable")
    chart = await say(user, sandbox, "/stats")
    details = await user.next_message(timeout=5)
    assert sandbox.file_of(chart).data.startswith(PNG_MAGIC)  # type: ignore[union-attr]
    assert "Your last 4 weeks" in chart["caption"]
    assert "Your last 7 days" in details["text"] and "comfortable" in details["text"]
    assert button_texts(user, details) == [REMEDY_BUTTON["comfortable"]]

    newcomer = await add_owner(sandbox, engine, 504, "fr")
    empty = await say(newcomer, sandbox, "/bilan")
    assert "Pas encore de chiffres" in empty["text"] and "photo" not in empty


QUIZ_TAPS = {
    "en": ["Less than before", "No, I fit it in", "The week filled up first", "None or one",
           "Always", "No", "Yes, with a reward", "Too busy to think"],
    "fr": ["Moins qu'avant", "Oui, des créneaux fixes", "Assez de travail en attente",
           "5 ou plus", "Jamais", "Oui", "Oui, avec une récompense",
           "Trop de travail pour y penser"],
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_diagnose_quiz_survives_a_restart_and_names_the_type(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, lang: str
) -> None:
    bot.clock.set(NOW)
    user = await add_owner(sandbox, engine, 505, lang)
    if lang == "en":
        await seed_history(engine, 505, PROFILES["intentional"])  # numbers disagree with quiz
    first = await say(user, sandbox, "/diagnose")
    assert "1/8" in first["text"]
    taps = QUIZ_TAPS[lang]
    for answer in taps[:3]:
        await tap(user, sandbox, answer)

    await bot.restart()
    resumed = await say(user, sandbox, "/diagnose")
    assert "4/8" in resumed["text"]
    assert ("pick up where you left off" if lang == "en" else "Reprenons") in resumed["text"]
    typed = await say(user, sandbox, "hmm, not sure")  # answers are taps: the question again
    assert "4/8" in typed["text"] and button_texts(user, typed)
    for answer in taps[3:-1]:
        await tap(user, sandbox, answer)
    result = await tap(user, sandbox, taps[-1])
    text = result["text"]
    if lang == "en":
        assert "What you said: this sounds like the unnoticed slowdown" in text
        assert "What your numbers say: they point to the intentional kind" in text
        # this owner already has prospecting blocks: the step is keeping them, not planning them
        assert button_texts(user, result) == [
            "🗓 See my prospecting blocks",
            REMEDY_BUTTON["intentional"],
        ]
    else:
        assert "Ce que vous dites\u00a0: cela ressemble au ralentissement volontaire" in text
        assert "point" in text and "je pourrai comparer avec votre rythme habituel" in text
        assert button_texts(user, result) == ["📄 Enregistrer un devis"]  # no quote yet

    # The message from before the restart still shows question 3: its buttons are stale now.
    query_id = await user.press(first, (0, 0))
    answered = await user.wait_for_answer(query_id, timeout=5)
    stale = "That question was already answered." if lang == "en" else "déjà"
    assert answered.answer_text is not None and stale in answered.answer_text

    async with engine.connect() as conn:
        quiz = (
            await conn.execute(
                select(Diagnosis.verdict, Diagnosis.evidence).where(Diagnosis.source == "quiz")
            )
        ).one()
    assert quiz.verdict == ("unaware" if lang == "en" else "intentional")
    assert len(quiz.evidence["answers"]) == 8
