"""Typed answers to button questions (issue 12), the pause parser and digit-led client names."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import typed_answers as ta
from bot.services.checkins import pause_end
from bot.services.quote_input import QuoteInputError, parse_quote_line

TUESDAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", ta.YES), ("Yep!", ta.YES), ("oui", ta.YES), ("Ouais", ta.YES), ("ok", ta.YES),
        ("no", ta.NO), ("non", ta.NO), ("nope", ta.NO), ("Non !", ta.NO), ("nan", ta.NO),
        ("not really", ta.NO), ("pas vraiment", ta.NO),
        ("no plan", ta.NO_PLAN), ("pas de créneau", ta.NO_PLAN), ("rien de prévu", ta.NO_PLAN),
        ("maybe", None), ("3", None), ("🙂", None), ("nonsense", None),
    ],
)  # fmt: skip
def test_block_answers_in_both_languages(text: str, expected: str | None) -> None:
    assert ta.block_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("too busy with clients", ta.BUSY), ("débordé", ta.BUSY), ("pas le temps", ta.BUSY),
        ("my pipeline is full", ta.PIPELINE_FULL), ("j'ai assez de devis", ta.PIPELINE_FULL),
        ("I didn't block time", ta.NO_TIME), ("pas bloqué de créneau", ta.NO_TIME),
        ("no need, all good", ta.NO_NEED), ("tout va bien", ta.NO_NEED),
    ],
)  # fmt: skip
def test_a_reason_in_words_matches_its_code(text: str, code: str) -> None:
    assert ta.reason(text) == (code, None)


def test_an_unclear_reason_is_kept_as_text_and_nonsense_is_unreadable() -> None:
    assert ta.reason("ma fille était malade") == (ta.OTHER, "ma fille était malade")
    assert ta.reason("1234 !!") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_typed_answers_never_crash(text: str) -> None:
    assert ta.block_answer(text) in (None, ta.YES, ta.NO, ta.NO_PLAN)
    found = ta.reason(text)
    codes = (ta.BUSY, ta.PIPELINE_FULL, ta.NO_TIME, ta.NO_NEED, ta.OTHER)
    assert found is None or found[0] in codes


@pytest.mark.parametrize(
    ("text", "last_day"),
    [
        ("2 weeks", date(2026, 12, 14)), ("2 semaines", date(2026, 12, 14)),
        ("10", date(2026, 12, 10)), ("10 jours", date(2026, 12, 10)),
        ("until Jan 5", date(2027, 1, 5)), ("jusqu'au 5 janvier", date(2027, 1, 5)),
        ("tomorrow", TUESDAY), ("demain", TUESDAY),
    ],
)  # fmt: skip
def test_pause_in_words(text: str, last_day: date) -> None:
    assert pause_end(text, TUESDAY) == last_day


@pytest.mark.parametrize("text", ["bientôt", "2 ans", "-3", "hier"])
def test_pause_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(QuoteInputError):
        pause_end(text, TUESDAY)


@pytest.mark.parametrize(
    ("text", "client"),
    [("3M Company 5000 30d", "3M Company"), ("7 Eleven 300", "7 Eleven"),
     ("3 Suisses 1 200 € 15j", "3 Suisses"), ("Dupont 4500", "Dupont")],
)  # fmt: skip
def test_client_names_may_start_with_digits(text: str, client: str) -> None:
    assert parse_quote_line(text, TUESDAY).client == client


def test_a_line_of_numbers_still_has_no_client() -> None:
    with pytest.raises(QuoteInputError) as caught:
        parse_quote_line("5000 30d", TUESDAY)
    assert caught.value.code == "no_client"
