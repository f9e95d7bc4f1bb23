"""The labelled corpus (tests/coaching_corpus): every history read right, and the lexicon."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.services.coaching import Verdict
from bot.services.reasons import normalise, read_reason
from tests.coaching_corpus.histories import SPECS
from tests.coaching_corpus.matrix import Outcome, outcomes, render

OUTCOMES = outcomes()


@pytest.mark.parametrize("outcome", OUTCOMES, ids=[o.spec.id for o in OUTCOMES])
def test_every_history_is_read_right(outcome: Outcome) -> None:
    ev = outcome.assessment.evidence
    assert outcome.right, (outcome.assessment.verdict, ev.uncertain, ev.secondary, ev.scores)
    if outcome.spec.ambiguous:
        assert outcome.spec.note, "an ambiguous history says why"


def test_the_corpus_covers_the_hard_cases() -> None:
    labels = Counter(s.label for s in SPECS)
    assert len(SPECS) >= 40
    for kind in (Verdict.UNAWARE, Verdict.INTENTIONAL, Verdict.COMFORTABLE):
        assert labels[kind] >= 12, kind
        mine = [s for s in SPECS if s.label == kind]
        assert any(s.plan for s in mine) and any(not s.plan for s in mine), kind
        assert any(s.open_quotes for s in mine) and any(not s.open_quotes for s in mine), kind
        assert any(s.reported < 1 for s in mine) and any(not s.weekdays for s in mine), kind
        assert any(r.startswith("~") for s in mine for r in s.reasons), kind
    assert sum(1 for s in SPECS if s.secondary) >= 3
    assert sum(1 for s in SPECS if s.asks) >= 2


def test_the_matrix_in_the_docs_is_the_one_printed() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[3] / "docs" / "COACHING.md").read_text(encoding="utf-8")
    assert render(OUTCOMES) in docs


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("too many client projects, pipeline is full anyway", ("pipeline_full",)),
        ("Carnet plein, j'attends les réponses aux devis", ("pipeline_full",)),
        ("J'ai OUBLIÉ, rien de prévu", ("no_time_set_aside",)),
        ("débordé par les livraisons", ("busy",)),
        ("doing well, no rush", ("no_need",)),
        ("Pas besoin, un peu la flemme", ("no_need",)),
        ("dentist appointment", ()),
        ("", ()),
    ],
)
def test_free_text_reasons_are_read_in_both_languages(text: str, reasons: tuple[str, ...]) -> None:
    assert read_reason(text) == reasons


def test_normalise_drops_case_accents_and_punctuation() -> None:
    assert normalise("  Ça   ROULE — l’été !") == "ca roule l ete"
