"""Promises of the diagnosis over any history (hypothesis): the headline's "busier" only with
meetings and proposals that held, remedies never already in place, a question only between two
real candidates, and the owner's consistent words always deciding."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.coaching import (
    BUSY_HELD_RATIO,
    REASON_TYPES,
    CheckInAnswer,
    DayActivity,
    GoalRecord,
    History,
    Verdict,
    diagnose,
    next_steps,
)

TODAY = date(2026, 11, 27)
REASONS = [*REASON_TYPES, None]


@st.composite
def histories(draw: st.DrawFn) -> History:
    days = []
    answers = []
    for n in range(42):
        if not draw(st.booleans()):
            continue
        day = TODAY - timedelta(days=n)
        days.append(
            DayActivity(
                day,
                draw(st.integers(0, 8)),
                draw(st.integers(0, 4)),
                draw(st.integers(0, 3)),
            )
        )
        reason = draw(st.sampled_from(REASONS))
        if reason is not None and n < 14:
            answers.append(CheckInAnswer(day, draw(st.sampled_from(["no", "no_plan"])), reason))
    goal = draw(
        st.sampled_from([None, GoalRecord(10, "a dinner", TODAY), GoalRecord(5, "", TODAY)])
    )
    return History(
        days=tuple(sorted(days, key=lambda d: d.day)),
        answers=tuple(answers),
        plan_blocks=draw(st.integers(0, 3)),
        goal=goal,
        usual_weekly=draw(st.sampled_from([None, 5, 15, 25])),
    )


@settings(max_examples=200, deadline=None)
@given(histories())
def test_verdicts_keep_their_promises(history: History) -> None:
    a = diagnose(history, TODAY)
    ev = a.evidence
    assert 0 <= a.confidence <= 0.95
    if ev.pattern:  # "you got busier" is only said with meetings + proposals that held
        assert ev.baseline_source == "measured"
        assert ev.recent.busy > 0 and ev.recent.busy >= BUSY_HELD_RATIO * ev.usual_busy
    if a.verdict == Verdict.NOT_ENOUGH_DATA:
        assert ev.checkins_needed >= 1
    if ev.uncertain:
        assert len(set(ev.candidates)) == 2 and a.confidence <= 0.5
    for step in next_steps(a, history):
        assert not (history.goal is not None and step.code == "goal_create")
        assert not (history.plan_blocks and step.code == "plan_create")
    said = ev.said
    total = sum(said.values())
    if a.is_slowdown and total >= 4:
        top = max(said, key=lambda t: said[t])
        if said[top] >= 0.6 * total:
            assert a.verdict == top  # the owner's consistent words decide
