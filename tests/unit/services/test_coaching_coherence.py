"""Every coaching message, in both languages, checked against the state it was built from: no
remedy the owner already has, a headline the evidence below it supports, and at least one of
the owner's own numbers or reasons."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.i18n import LANGUAGES, render
from bot.services.coaching import Assessment, History, diagnose, next_steps
from handlers.coaching import evidence_values
from tests.coaching_corpus.histories import SPECS, TODAY, Spec, build

# What would propose a remedy already in place, per language.
CREATE_GOAL = {"en": "Pick a weekly prospecting goal", "fr": "Fixez un objectif de prospection"}
CREATE_PLAN = {"en": "Put two or three prospecting blocks", "fr": "Posez deux ou trois créneaux"}
ADD_EXPIRY = {"en": "Give every quote an expiry", "fr": "Donnez une date d'expiration"}
BUSIER = {"en": "busier", "fr": "activité augmente"}
BUSY_LINE = {
    "en": r"Meetings and proposals: <b>(\d+)</b>, about (\d+)",
    "fr": r"Rendez-vous et devis\u00a0: <b>(\d+)</b>, environ (\d+)",
}


def variants(spec: Spec) -> list[Spec]:
    """The owner as written, then with a plan and a rewarded goal in place."""
    return [spec, replace(spec, plan=True, goal="reward"), replace(spec, goal="no_reward")]


CASES = [(v, lang) for s in SPECS for v in variants(s) for lang in LANGUAGES]


def nudge(history: History, assessment: Assessment, lang: str) -> str:
    values = evidence_values(lang, assessment, history)
    return render("coaching/nudge", lang, name="", forecast=None, **values)


@pytest.mark.parametrize(
    ("spec", "lang"), CASES, ids=[f"{s.id}|{s.plan}|{s.goal}|{lang}" for s, lang in CASES]
)
def test_coaching_never_contradicts_what_the_bot_knows(spec: Spec, lang: str) -> None:
    history = build(spec)
    assessment = diagnose(history, TODAY)
    if not assessment.is_slowdown:
        return
    text = nudge(history, assessment, lang)
    ev = assessment.evidence

    # No remedy the owner already has.
    assert ADD_EXPIRY[lang] not in text  # /quote gives every quote an expiry
    if history.goal is not None:
        assert CREATE_GOAL[lang] not in text
    if history.plan_blocks:
        assert CREATE_PLAN[lang] not in text
    for step in next_steps(assessment, history):
        if history.goal is not None:
            assert step.code != "goal_create"
        if history.plan_blocks:
            assert step.code != "plan_create"
        if step.code == "goal_keep":
            assert history.goal is not None and history.goal.reward.strip()

    # The headline is chosen from the numbers shown under it.
    headline = text.split("\n", 1)[0]
    shown = re.search(BUSY_LINE[lang], text)
    if BUSIER[lang] in headline:
        assert shown is not None, text
        recent, usual = int(shown.group(1)), int(shown.group(2))
        assert recent > 0 and recent >= 0.9 * ev.usual_busy and ev.recent.busy == recent
        assert usual == round(ev.usual_busy)
    else:
        assert not ev.pattern

    # At least one number or reason of the owner's own.
    assert f"<b>{ev.recent.contacts}</b>" in text
    said = [s for s in ev.signals if s.said]
    if said:
        assert any(w in text for s in said for w in s.words) or "«" in text or "“" in text

    # Unsure: one question, no remedy; mixed: main remedy first, the second after.
    steps = next_steps(assessment, history)
    if ev.uncertain:
        assert not any(marker in text for marker in ("Next step", "Prochaine étape"))
    elif ev.secondary is not None:
        assert [s.verdict for s in steps] == [assessment.verdict, ev.secondary]
        first = text.index("Next step" if lang == "en" else "Prochaine étape")
        second = text.index("And for the" if lang == "en" else "Et pour les signes")
        assert first < second


def test_a_goal_in_place_gets_its_progress_not_a_new_goal() -> None:
    spec = next(s for s in SPECS if s.id.startswith("C09"))  # comfortable, goal with a reward
    history = build(spec)
    assessment = diagnose(history, TODAY)
    [step] = next_steps(assessment, history)
    assert step.code == "goal_keep" and step.target == 15
    text = nudge(history, assessment, "en")
    assert f"Your goal: <b>{step.count}</b> of 15 new contacts this week" in text
