"""A user's history, loaded from the database into the plain values the diagnosis reads, and the
verdicts stored as `diagnosis` rows.

Rules:
- Daily activity = check-in numbers + every activity entry of that day (/log and /import count
  the same). A check-in counts as a reported day once it has numbers, whether it was answered
  in the chat or imported (finished or not); unanswered questions count as 0.
- History reaches back HISTORY_DAYS (26 weeks); open quotes are read whatever their age.
- One "data" diagnosis row per user and local day, updated in place when recomputed that day;
  every finished quiz adds a "quiz" row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkins as checkin_queries
from bot.db import history as queries
from bot.db import outbox
from bot.db import planning as planning_queries
from bot.db.models import Diagnosis, User
from bot.services import coaching
from bot.services.coaching import (
    Assessment,
    BlockRecord,
    CheckInAnswer,
    DayActivity,
    GoalRecord,
    History,
    QuizHint,
    QuoteRecord,
    Verdict,
)
from bot.services.preferences import zone
from bot.services.schedule import local_date

NUDGE_KIND = "coach_nudge"

HISTORY_DAYS = 182
KINDS = ("contacts", "meetings", "proposals", "deals")
DATA, QUIZ = "data", "quiz"


async def load(session: AsyncSession, user_id: int, today: date) -> History:
    """Everything the diagnosis, forecast and review need, up to and including `today`."""
    first = today - timedelta(days=HISTORY_DAYS - 1)
    checkins = await checkin_queries.between(session, user_id, first, today)
    logged = await checkin_queries.activity_totals(session, user_id, first, today)

    totals: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for checkin in checkins:
        numbers = (checkin.contacts, checkin.meetings, checkin.proposals)
        if checkin.completed_at is None and all(n is None for n in numbers):
            continue  # asked, never answered: not a reported day
        day = totals[checkin.local_date]
        for kind, value in zip(KINDS, numbers, strict=False):
            day[kind] += value or 0
    for (day_on, kind), count in logged.items():
        if kind in KINDS:
            totals[day_on][kind] += count

    days = tuple(DayActivity(day, **totals[day]) for day in sorted(totals))
    answers = tuple(
        CheckInAnswer(c.local_date, c.block_done, c.reason, c.reason_text)
        for c in checkins
        if c.block_done is not None or c.reason is not None
    )
    quotes = tuple(
        QuoteRecord(
            sent_on=q.sent_on,
            expires_on=q.expires_on,
            status=q.status,
            closed_on=q.closed_on,
            followed_up_on=q.followed_up_on,
            client=q.client,
            amount=q.amount,
            currency=q.currency,
        )
        for q in await queries.quotes_since(session, user_id, first)
        if q.sent_on <= today
    )
    blocks = tuple(
        BlockRecord(b.local_date, b.status, b.reason)
        for b in await planning_queries.sessions_between(session, user_id, first, today)
    )
    goal_row = await queries.active_goal(session, user_id)
    goal = (
        GoalRecord(goal_row.weekly_contacts, goal_row.reward or "", goal_row.started_on)
        if goal_row is not None
        else None
    )
    pace = await queries.usual_pace(session, user_id)
    user = await session.get(User, user_id)
    zone_name = user.timezone if user is not None else "UTC"
    plan_started = await queries.plan_started(session, user_id)
    quiz_row = await queries.latest_diagnosis(session, user_id, QUIZ)
    quiz = (
        QuizHint(Verdict(quiz_row.verdict), quiz_row.on_date)
        if quiz_row is not None and quiz_row.verdict in Verdict.__members__.values()
        else None
    )
    return History(
        days=days,
        answers=answers,
        quotes=quotes,
        plan_blocks=await queries.plan_block_count(session, user_id),
        blocks=blocks,
        goal=goal,
        usual_weekly=pace.weekly_contacts if pace is not None else None,
        days_per_week=bin(user.checkin_days).count("1") if user is not None else 5,
        plan_since=local_date(plan_started, zone(zone_name)) if plan_started else None,
        follow_ups=tuple(q.followed_up_on for q in quotes if q.followed_up_on is not None),
        quiz=quiz,
    )


def today_of(user: User, now: datetime) -> date:
    return local_date(now, zone(user.timezone))


@dataclass(frozen=True)
class Refreshed:
    """A recomputed verdict, the history it came from, and what was stored before it."""

    today: date
    history: History
    assessment: Assessment
    previous_verdict: str | None
    previous_pattern: bool

    @property
    def is_news(self) -> bool:
        """A new slowdown type, or the busier-less-prospecting pattern just appeared."""
        return coaching.verdict_changed(
            self.previous_verdict, self.previous_pattern, self.assessment
        )


async def refresh(session: AsyncSession, user: User, now: datetime) -> Refreshed:
    """Recompute the verdict for the user's today and store it (one "data" row a day)."""
    today = today_of(user, now)
    history = await load(session, user.id, today)
    assessment = coaching.diagnose(history, today)
    previous = await queries.latest_diagnosis(session, user.id, DATA)
    previous_verdict = previous.verdict if previous else None
    previous_pattern = bool(previous.evidence.get("pattern")) if previous else False
    evidence = assessment.to_json()
    if previous is not None and previous.on_date == today:
        previous.verdict = assessment.verdict
        previous.confidence = assessment.confidence
        previous.evidence = evidence
    else:
        await store(
            session, user.id, today, DATA, assessment.verdict, assessment.confidence, evidence, now
        )
    await session.flush()
    return Refreshed(today, history, assessment, previous_verdict, previous_pattern)


async def store(
    session: AsyncSession,
    user_id: int,
    on_date: date,
    source: str,
    verdict: str,
    confidence: float,
    evidence: dict[str, Any],
    now: datetime,
) -> Diagnosis:
    row = Diagnosis(
        user_id=user_id,
        on_date=on_date,
        source=source,
        verdict=verdict,
        confidence=confidence,
        evidence=evidence,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def verdicts_since(
    session: AsyncSession, user_id: int, source: str, since: date
) -> list[Diagnosis]:
    """The verdicts of one source from a day on, oldest first (the history in /stats)."""
    return await queries.diagnoses_since(session, user_id, source, since)


async def set_usual_pace(
    session: AsyncSession, user_id: int, weekly_contacts: int, now: datetime
) -> None:
    """The usual week of prospecting the owner gave: the baseline until check-ins make one."""
    await queries.set_usual_pace(session, user_id, weekly_contacts, now)


async def plan_nudge(
    session: AsyncSession, user: User, refreshed: Refreshed, now: datetime
) -> None:
    """A verdict that is news becomes one coaching nudge, at most one a week."""
    await outbox.schedule(
        session,
        user_id=user.id,
        kind=NUDGE_KIND,
        dedupe_key=f"{NUDGE_KIND}:{user.id}:{coaching.iso_week(refreshed.today)}",
        due_at=now,
        now=now,
        payload={
            "verdict": refreshed.assessment.verdict.value,
            "date": refreshed.today.isoformat(),
        },
    )
