"""The slowdown diagnosis, history by history: verdict, runner-up, and the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pytest

from bot.services.coaching import (
    QUIZ,
    BlockRecord,
    CheckInAnswer,
    DayActivity,
    GoalRecord,
    History,
    QuoteRecord,
    RemedyEffect,
    Verdict,
    diagnose,
    iso_week,
    next_quiz_question,
    next_steps,
    remedy_effects,
    score_quiz,
    verdict_changed,
)
from bot.services.reasons import shown

TODAY = date(2026, 11, 27)  # a Friday
GOAL = GoalRecord(weekly_contacts=10, reward="a weekend by the sea", started_on=date(2026, 9, 1))
PLANNED = {"plan_blocks": 2, "goal": GOAL}  # a plan and a goal with a reward: no signal from them


def back(n: int) -> date:
    return TODAY - timedelta(days=n)


def days(
    base: tuple[int, int, int] = (4, 1, 1),
    recent: tuple[int, int, int] = (1, 2, 1),
    *,
    span: int = 42,
    weekdays: bool = False,
    deals_on: tuple[int, ...] = (),
) -> tuple[DayActivity, ...]:
    """Reported days: `base` numbers a day before the last 14 days, `recent` numbers in them."""
    out = []
    for n in range(span - 1, -1, -1):
        day = back(n)
        if weekdays and day.weekday() >= 5:
            continue
        contacts, meetings, proposals = recent if n < 14 else base
        out.append(DayActivity(day, contacts, meetings, proposals, 1 if n in deals_on else 0))
    return tuple(out)


def said(reason: str, count: int, *, block: str = "no", start: int = 0) -> list[CheckInAnswer]:
    """`count` check-ins, on consecutive days back from `start`, with a low-prospecting reason."""
    return [CheckInAnswer(back(start + n), block, reason) for n in range(count)]


def quote(
    sent: int,
    valid: int = 30,
    *,
    status: str = "open",
    followed: int | None = None,
    closed: int | None = None,
) -> QuoteRecord:
    return QuoteRecord(
        sent_on=back(sent),
        expires_on=back(sent) + timedelta(days=valid),
        status=status,
        followed_up_on=back(followed) if followed is not None else None,
        closed_on=back(closed) if closed is not None else None,
        client="Client",
    )


@dataclass(frozen=True)
class Case:
    id: str
    history: History
    verdict: Verdict
    runner_up: Verdict | None = None
    signals: tuple[str, ...] = ()  # codes that must be in the evidence
    absent: tuple[str, ...] = ()  # codes that must not be
    pattern: bool | None = None
    confidence: float | None = None
    extra: dict[str, object] = field(default_factory=dict)  # evidence fields to check


U, INT, C = Verdict.UNAWARE, Verdict.INTENTIONAL, Verdict.COMFORTABLE

CASES = [
    # ----------------------------------------------------------------- unaware
    Case(
        "unaware: no plan and 'I didn't set time aside' three times",
        History(days=days(), answers=said("no_time_set_aside", 3), goal=GOAL),
        U,
        signals=("no_plan", "reason_no_time_set_aside"),
        absent=("no_goal",),
        pattern=True,
        # 0.5 pattern + 0.05 x said 6 (max 0.25) + 0.05 x seen 1 + 0.05 x lead 7 (max 0.15)
        confidence=0.95,
        extra={"contacts_change": -75, "open_quotes": 0},
    ),
    Case(
        "unaware: planned blocks skipped on four days, said so once",
        History(
            days=days(),
            blocks=[BlockRecord(back(n), "skipped") for n in (1, 3, 6, 8)],
            answers=said("no_time_set_aside", 1, block="no", start=1),
            **PLANNED,
        ),
        U,
        signals=("blocks_skipped", "reason_no_time_set_aside"),
        absent=("no_plan",),
    ),
    Case(
        "unaware: too busy delivering, no plan; no goal comes second",
        History(days=days(), answers=said("busy", 2)),
        U,
        runner_up=C,
        signals=("reason_busy", "no_plan", "no_goal"),
    ),
    Case(
        "unaware: a silent drop with a plan and a goal (no reason given)",
        History(days=days(), **PLANNED),
        U,
        signals=(),
        pattern=True,
        confidence=0.5,  # no signal: only the pattern speaks
    ),
    Case(
        "unaware (borderline): contacts down exactly 25 %",
        History(days=days(base=(4, 1, 1), recent=(3, 1, 1))),
        U,
        runner_up=C,
        signals=("no_plan",),
        extra={"contacts_change": -25},
    ),
    Case(
        "unaware (mixed): no plan and no time beat a full pipeline",
        History(
            days=days(),
            answers=said("no_time_set_aside", 2) + said("pipeline_full", 2, start=2),
            quotes=[quote(10)],
            goal=GOAL,
        ),
        U,
        runner_up=INT,
        signals=("no_plan", "reason_no_time_set_aside", "reason_pipeline_full"),
    ),
    Case(
        "unaware: imported weekday history counts like check-ins",
        History(days=days(weekdays=True), answers=said("no_time_set_aside", 2), goal=GOAL),
        U,
        pattern=True,
        extra={"recent_days": 10, "baseline_days": 20},
    ),
    # ----------------------------------------------------------------- intentional
    Case(
        "intentional: 'my pipeline is full', quotes unanswered and waited on",
        History(
            days=days(),
            answers=said("pipeline_full", 3),
            quotes=[quote(9), quote(12), quote(20), quote(35, valid=60)],
            goal=GOAL,
        ),
        INT,
        runner_up=U,
        signals=("reason_pipeline_full", "quotes_not_followed_up", "quotes_waited_on"),
        pattern=True,
        confidence=0.95,
    ),
    Case(
        "intentional: four quotes sent over a week ago, none followed up",
        History(days=days(), quotes=[quote(n) for n in (8, 9, 10, 11)], **PLANNED),
        INT,
        signals=("quotes_not_followed_up",),
        absent=("quotes_waited_on",),
    ),
    Case(
        "intentional (tie): as many points as 'no plan', but said in the owner's words",
        History(days=days(), answers=said("pipeline_full", 2, block="no_plan"), goal=GOAL),
        INT,
        runner_up=U,
        signals=("reason_pipeline_full", "no_plan"),
    ),
    Case(
        "intentional: quotes still open past their expiry",
        History(
            days=days(),
            answers=said("pipeline_full", 1),
            quotes=[quote(40), quote(45)],
            **PLANNED,
        ),
        INT,
        signals=("quotes_waited_on", "reason_pipeline_full"),
        absent=("quotes_not_followed_up",),  # expired: not pipeline any more
    ),
    Case(
        "intentional: fewer meetings while open quotes piled up: not 'busier' (meetings fell)",
        History(
            days=days(base=(4, 2, 1), recent=(1, 0, 0)),
            answers=said("pipeline_full", 2, block="yes"),
            quotes=[quote(n) for n in (2, 3, 4, 5, 6)],
            **PLANNED,
        ),
        INT,
        pattern=False,
        extra={"open_quotes": 5, "open_quotes_before": 0},
    ),
    Case(
        "intentional (mixed): a full pipeline beats 'no need'",
        History(
            days=days(),
            answers=said("pipeline_full", 3) + said("no_need", 1, start=3),
            quotes=[quote(8), quote(9), quote(10)],
            plan_blocks=2,
        ),
        INT,
        runner_up=C,
    ),
    # ----------------------------------------------------------------- comfortable
    Case(
        "comfortable: no need, no goal, deals signed",
        History(days=days(deals_on=(3, 20)), answers=said("no_need", 3), plan_blocks=2),
        C,
        # the blocks skipped on those days were skipped for "no need": evidence for comfortable
        signals=("reason_no_need", "no_goal", "comfortable_numbers", "blocks_skipped_said"),
        absent=("blocks_skipped",),
        pattern=True,
        confidence=0.95,
    ),
    Case(
        "comfortable: a goal with no reward, and 'no need' twice",
        History(
            days=days(),
            answers=said("no_need", 2, block="yes"),
            plan_blocks=1,
            goal=GoalRecord(10, "  ", date(2026, 10, 1)),
        ),
        C,
        signals=("goal_without_reward", "reason_no_need"),
        absent=("no_goal",),
    ),
    Case(
        "comfortable: signed quotes and nothing to aim for",
        History(
            days=days(),
            plan_blocks=3,
            quotes=[quote(20, status="signed", closed=5), quote(25, status="signed", closed=12)],
        ),
        C,
        signals=("no_goal", "comfortable_numbers"),
    ),
    Case(
        "comfortable (mixed): no need and no goal beat no plan",
        History(days=days(), answers=said("no_need", 3, block="no_plan")),
        C,
        runner_up=U,
        signals=("no_plan", "reason_no_need", "no_goal"),
    ),
    Case(
        "comfortable: prospecting fell while work fell too (no pattern, less sure)",
        History(
            days=days(base=(4, 2, 1), recent=(1, 0, 0)), answers=said("no_need", 3), plan_blocks=2
        ),
        C,
        pattern=False,
        # 0.3 without the pattern + 0.25 said + 0.1 seen + 0.15 lead
        confidence=0.8,
    ),
    Case(
        "comfortable (tie): one 'no need' and no goal against no plan: the owner's words win",
        History(days=days(), answers=said("no_need", 1, block="yes")),
        C,
        runner_up=U,
    ),
    # ----------------------------------------------------------------- on track
    Case("on track: steady prospecting", History(days=days(recent=(4, 2, 1))), Verdict.ON_TRACK),
    Case(
        "on track: more contacts than before, even with no plan and a full pipeline",
        History(days=days(recent=(6, 2, 2)), answers=said("pipeline_full", 3)),
        Verdict.ON_TRACK,
        signals=("no_plan", "reason_pipeline_full"),
        pattern=False,
    ),
    Case(
        "on track (borderline): down 23 %, under the 25 % line",
        History(
            days=days()[:28]
            + tuple(DayActivity(back(n), 4 if n == 0 else 3, 2, 1) for n in range(13, -1, -1))
        ),
        Verdict.ON_TRACK,
        extra={"contacts_change": -23},
    ),
    Case(
        "on track: prospecting started from zero",
        History(days=days(base=(0, 1, 0), recent=(2, 1, 0))),
        Verdict.ON_TRACK,
    ),
    Case(
        "on track: fewer meetings, same prospecting",
        History(days=days(base=(3, 3, 2), recent=(3, 0, 0))),
        Verdict.ON_TRACK,
        confidence=0.9,
    ),
    # ----------------------------------------------------------------- special cases
    Case(
        "not prospecting at all for six weeks counts as a slowdown",
        History(days=days(base=(0, 2, 1), recent=(0, 2, 1)), answers=said("busy", 1)),
        U,
        runner_up=C,
        pattern=True,
        extra={"contacts_change": None},
    ),
    # ----------------------------------------------------------------- not enough data
    Case("brand-new user: nothing yet", History(), Verdict.NOT_ENOUGH_DATA, confidence=0.0),
    Case(
        "ten days of check-ins: no baseline yet",
        History(days=days(span=10), answers=said("no_need", 3)),
        Verdict.NOT_ENOUGH_DATA,
        pattern=False,
    ),
    Case(
        "four reported days before the last two weeks",
        History(days=days(span=18)),
        Verdict.NOT_ENOUGH_DATA,
        extra={"baseline_days": 4},
    ),
    Case(
        "stopped reporting: four days in the last two weeks",
        History(days=days()[:28] + days()[-4:]),
        Verdict.NOT_ENOUGH_DATA,
        extra={"recent_days": 4},
    ),
    Case(
        "reasons but no numbers",
        History(answers=said("pipeline_full", 3), quotes=[quote(9)]),
        Verdict.NOT_ENOUGH_DATA,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_diagnosis(case: Case) -> None:
    result = diagnose(case.history, TODAY)
    evidence = result.evidence
    codes = [s.code for s in evidence.signals]
    assert result.verdict == case.verdict, (evidence.scores, codes)
    assert evidence.runner_up == case.runner_up, evidence.scores
    assert set(case.signals) <= set(codes), codes
    assert not set(case.absent) & set(codes), codes
    if case.pattern is not None:
        assert evidence.pattern is case.pattern
    if case.confidence is not None:
        assert result.confidence == pytest.approx(min(case.confidence, 0.95))
    assert 0 <= result.confidence <= 0.95
    facts = {
        "contacts_change": evidence.contacts_change,
        "open_quotes": evidence.open_quotes,
        "open_quotes_before": evidence.open_quotes_before,
        "recent_days": evidence.recent.days,
        "baseline_days": evidence.baseline.days,
    }
    for name, expected in case.extra.items():
        assert facts[name] == expected, name


def test_at_least_five_histories_per_type() -> None:
    for verdict in Verdict:
        assert sum(1 for c in CASES if c.verdict == verdict) >= 5, verdict


def test_evidence_has_numbers_and_dates_a_person_can_check() -> None:
    history = History(days=days(), answers=said("no_time_set_aside", 3), goal=GOAL)
    result = diagnose(history, TODAY)
    stored = result.to_json()
    assert stored["recent"] == {
        "first": "2026-11-14",
        "last": "2026-11-27",
        "days": 14,
        "contacts": 14,
        "meetings": 28,
        "proposals": 14,
        "deals": 0,
    }
    assert stored["baseline"]["first"] == "2026-10-17" and stored["baseline"]["contacts"] == 112
    assert stored["usual_contacts"] == 56.0 and stored["contacts_change"] == -75
    reason = next(s for s in stored["signals"] if s["code"] == "reason_no_time_set_aside")
    assert reason == {
        "type": "unaware",
        "code": "reason_no_time_set_aside",
        "points": 6,
        "count": 3,
        "last": "2026-11-27",
    }
    assert stored["scores"] == {"unaware": 8, "intentional": 0, "comfortable": 0}
    assert stored["said"] == {"unaware": 6, "intentional": 0, "comfortable": 0}
    assert stored["basis"] == "said"
    # the owner's words first; blocks skipped on days they said why count for that reason's type
    assert [s["code"] for s in stored["signals"]] == [
        "reason_no_time_set_aside",
        "no_plan",
        "blocks_skipped_said",
    ]


def test_reasons_count_once_a_day_and_at_most_five_days() -> None:
    answers = said("pipeline_full", 6)
    blocks = [BlockRecord(back(0), "skipped", "pipeline_full")]  # same day as a check-in
    result = diagnose(History(days=days(), answers=answers, blocks=blocks, **PLANNED), TODAY)
    [signal] = [s for s in result.evidence.signals if s.code == "reason_pipeline_full"]
    assert (signal.count, signal.points) == (6, 10)  # 2 points a day, five days at most


def test_old_answers_do_not_count() -> None:
    answers = said("pipeline_full", 3, start=15)  # before the last 14 days
    result = diagnose(History(days=days(), answers=answers, **PLANNED), TODAY)
    assert "reason_pipeline_full" not in [s.code for s in result.evidence.signals]


def test_news_is_a_new_type_or_the_pattern_appearing() -> None:
    slowing = diagnose(History(days=days(), answers=said("pipeline_full", 3)), TODAY)
    steady = diagnose(History(days=days(recent=(4, 1, 1))), TODAY)
    assert verdict_changed(None, False, slowing)
    assert verdict_changed("on_track", False, slowing)
    assert not verdict_changed("intentional", True, slowing)
    assert verdict_changed("intentional", False, slowing)  # the pattern just appeared
    assert not verdict_changed("intentional", True, steady)  # back on track: no nudge


QUIZ_CASES = [
    ("all unaware", {"pace": "less", "calendar": "never", "skipped": "forgot"}, U),
    (
        "all intentional",
        {"pace": "less", "skipped": "pipeline", "waiting": "many", "promise": "yes"},
        INT,
    ),
    ("all comfortable", {"pace": "less", "goal": "none", "feeling": "fine", "skipped": "fine"}, C),
    (
        "on track",
        {"pace": "more", "calendar": "fixed", "skipped": "never", "goal": "reward"},
        Verdict.ON_TRACK,
    ),
    (
        "tie broken by the reason picked",
        {"pace": "less", "skipped": "fine", "calendar": "never", "goal": "no_reward"},
        C,
    ),
    ("nothing said", {"pace": "less"}, U),
]


@pytest.mark.parametrize(
    ("answers", "verdict"), [c[1:] for c in QUIZ_CASES], ids=[c[0] for c in QUIZ_CASES]
)
def test_quiz_scoring(answers: dict[str, str], verdict: Verdict) -> None:
    assert score_quiz(answers).verdict == verdict


def test_quiz_asks_six_to_eight_questions_in_order() -> None:
    assert 6 <= len(QUIZ) <= 8
    answers: dict[str, str] = {}
    asked = []
    while (question := next_quiz_question(answers)) is not None:
        asked.append(question.id)
        answers[question.id] = next(iter(question.options))
    assert asked == [q.id for q in QUIZ]
    assert score_quiz({"pace": "less", "nonsense": "x", "goal": "bogus"}).verdict == U


def test_iso_week_keys() -> None:
    assert iso_week(date(2026, 11, 27)) == "2026-W48"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"


# ---------------------------------------------------------------------------- messages


def message_samples(hostile: str) -> dict[str, dict[str, object]]:
    """Values for every coaching, diagnose and stats template (tests/unit/test_messages.py)."""
    from decimal import Decimal

    from bot.i18n import label
    from bot.services.forecast import forecast
    from bot.services.reports import on_demand

    quotes = [
        QuoteRecord(
            back(n), back(n) + timedelta(days=n + 2), client=hostile, amount=Decimal("4500")
        )
        for n in range(9, 16)
    ]
    history = History(
        days=days(deals_on=(3,)),
        answers=said("pipeline_full", 3) + said("no_time_set_aside", 2, start=3),
        quotes=[*quotes, quote(40)],
        goal=GoalRecord(10, hostile, back(60)),
    )
    rich = diagnose(history, TODAY)
    assert rich.evidence.runner_up is not None and len(rich.evidence.signals) >= 5
    outlook = forecast(History(days=days(recent=(0, 1, 0)), quotes=[quote(10)]), TODAY)
    assert outlook is not None
    mixed = replace(
        rich.evidence,
        secondary=Verdict.UNAWARE,
        quiz_disagrees=Verdict.COMFORTABLE,
        signals=[replace(s, words=(shown(hostile),) * 2) for s in rich.evidence.signals],
    )
    rich = replace(rich, evidence=mixed)
    steps = next_steps(rich, history)
    assert len(steps) == 2
    evidence = {
        "a": rich,
        "signals": rich.evidence.signals,
        "said": {r: label(f"buttons/reason_{r}", "en") for r in ("busy", "pipeline_full",
                 "no_time_set_aside", "no_need")},
        "steps": steps,
    }  # fmt: skip
    review = on_demand(history, TODAY)
    assert review.goal is not None and len(review.expiring) == 7
    effects = [RemedyEffect("plan", back(10), 3.5, 1.2, 6), RemedyEffect("goal", back(9), 2, 1, 5)]
    changes = [(back(20), "on_track"), (back(6), "intentional")]
    unsure = diagnose(History(days=days()), TODAY)
    assert unsure.evidence.uncertain
    return {
        "coaching/advice": {"step": steps[0], "secondary": False},
        "coaching/verdict": {**evidence, "a": unsure},
        "coaching/effects": {"effects": effects},
        "coaching/verdict_history": {"changes": changes},
        "coaching/not_enough": {"a": diagnose(History(), TODAY)},
        "coaching/pace_saved": {"weekly": 10, "needed": 3},
        "coaching/evidence": evidence,
        "coaching/forecast": {"forecast": outlook},
        "coaching/nudge": {**evidence, "name": hostile, "forecast": outlook},
        "coaching/type_name": {"verdict": "comfortable"},
        "diagnose/question": {"question": "promise", "number": 6, "total": 8, "resuming": True},
        "diagnose/result": {**evidence, "quiz": score_quiz({"goal": "none", "feeling": "fine"})},
        "stats/caption": {"review": review, "weekly": True},
        "stats/empty": {},
        "stats/review": {
            **evidence,
            "review": review,
            "forecast": outlook,
            "weekly": False,
            "effects": effects,
            "changes": changes,
        },
    }


def test_the_review_says_what_changed_since_a_remedy() -> None:
    """Blocks planned 10 days ago: contacts a reported day since, against the 14 days before."""
    history = History(
        days=days(base=(1, 1, 1), recent=(1, 1, 1))[:-10]
        + tuple(DayActivity(back(n), 4, 1, 1) for n in range(9, -1, -1)),
        plan_blocks=2,
        plan_since=back(9),
        goal=GoalRecord(10, "a dinner", back(100)),  # too old to say what it changed
    )
    [effect] = remedy_effects(history, TODAY)
    assert (effect.kind, effect.since, effect.after, effect.before) == ("plan", back(9), 4.0, 1.0)
    assert effect.days_after == 10


def test_a_stated_usual_week_lets_the_first_days_coach() -> None:
    """Three reported days at 1 contact against a usual week of 15 (3 a day): a slowdown; two
    days are not enough yet, and the owner is told how many more check-ins it takes."""
    first_week = tuple(DayActivity(back(n), 1, 1, 0) for n in range(2, -1, -1))
    answers = said("no_time_set_aside", 2)
    early = diagnose(History(days=first_week[:2], answers=answers, usual_weekly=15), back(1))
    assert early.verdict == Verdict.NOT_ENOUGH_DATA and early.evidence.checkins_needed == 1
    result = diagnose(History(days=first_week, answers=answers, usual_weekly=15), TODAY)
    assert result.verdict == U and result.evidence.baseline_source == "stated"
    assert result.evidence.contacts_change == -67 and not result.evidence.pattern
    without = diagnose(History(days=first_week, answers=answers), TODAY)
    assert without.verdict == Verdict.NOT_ENOUGH_DATA and without.evidence.checkins_needed == 7
