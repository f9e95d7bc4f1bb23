"""What /log and typed check-in answers understand, in French and English."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.activity_input import (
    MAX_INPUT_LENGTH,
    MAX_PER_ENTRY,
    ActivityInputError,
    ActivityKind,
    parse_count,
    parse_log,
)

C, M, P, D, F = (
    ActivityKind.CONTACTS,
    ActivityKind.MEETINGS,
    ActivityKind.PROPOSALS,
    ActivityKind.DEALS,
    ActivityKind.FOLLOW_UPS,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English
        ("3 calls", [(C, 3)]),
        ("1 call", [(C, 1)]),
        ("calls 3", [(C, 3)]),
        ("1 meeting", [(M, 1)]),
        ("2 quotes", [(P, 2)]),
        ("1 sale", [(D, 1)]),
        ("4 emails and 1 demo", [(C, 4), (M, 1)]),
        ("one deal", [(D, 1)]),
        ("ten DMs", [(C, 10)]),
        ("2 LinkedIn, 1 proposal, 1 win", [(C, 2), (P, 1), (D, 1)]),
        ("calls: 3, meetings = 1", [(C, 3), (M, 1)]),
        ("3 touches + 2 offers", [(C, 3), (P, 2)]),
        ("1 contract", [(D, 1)]),
        # French
        ("2 rdv", [(M, 2)]),
        ("2 devis", [(P, 2)]),
        ("1 vente", [(D, 1)]),
        ("3 appels, 1 rdv", [(C, 3), (M, 1)]),
        ("3 Appels; 2 Réunions", [(C, 3), (M, 2)]),
        ("2 reunions", [(M, 2)]),
        ("2 rendez-vous", [(M, 2)]),
        ("2 rendez vous", [(M, 2)]),
        ("1 rendezvous", [(M, 1)]),
        ("trois relances et une démo", [(F, 3), (M, 1)]),
        ("un rdv", [(M, 1)]),
        ("deux propositions", [(P, 2)]),
        ("1 offre, 2 contrats", [(P, 1), (D, 2)]),
        ("2 signés", [(D, 2)]),
        ("4 e-mails", [(C, 4)]),
        ("1 visite", [(C, 1)]),
        ("2 clients", [(D, 2)]),
        ("dix prospects", [(C, 10)]),
        # The vocabulary of issue 12: calls are new contacts, relances are follow-ups
        ("3 calls", [(C, 3)]),
        ("3 new contacts", [(C, 3)]),
        ("2 nouveaux contacts", [(C, 2)]),
        ("3 coups de fil", [(C, 3)]),
        ("1 coup de fil", [(C, 1)]),
        ("coups de téléphone 2", [(C, 2)]),
        ("2 relances", [(F, 2)]),
        ("une relance", [(F, 1)]),
        ("2 follow-ups", [(F, 2)]),
        ("2 follow ups, 1 meeting", [(F, 2), (M, 1)]),
        ("1 followup", [(F, 1)]),
        ("3 appels, 2 relances, 1 rdv", [(C, 3), (F, 2), (M, 1)]),
        ("2 cold calls", [(C, 2)]),
        ("1 entretien", [(M, 1)]),
        ("2 suivis", [(F, 2)]),
        # No kind: contacts
        ("5", [(C, 5)]),
        ("3, rdv 2", [(C, 3), (M, 2)]),  # a separator ends an entry
        # Several entries of one kind are added up, in order of first appearance
        ("2 rdv, 3 appels, 1 rdv", [(M, 3), (C, 3)]),
        ("3 calls 2 emails", [(C, 5)]),
        ("calls 3 200 rdv", [(C, 3), (M, 200)]),  # not "3 200"
        # Spacing, the command itself, limits
        ("3calls2rdv", [(C, 3), (M, 2)]),
        ("  3 calls  \n 2 rdv ", [(C, 3), (M, 2)]),
        ("/log 3 calls", [(C, 3)]),
        ("/log@ProspectBot 2 devis", [(P, 2)]),
        ("500 calls", [(C, 500)]),
        ("250 calls, 250 emails", [(C, 500)]),
        ("3\u200b calls", [(C, 3)]),  # a zero-width space from copy-paste
        ("３ appels", [(C, 3)]),  # full-width digit
    ],
)
def test_parse_log(text: str, expected: list[tuple[ActivityKind, int]]) -> None:
    assert parse_log(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "word"),
    [
        ("", "empty", None),
        ("   ", "empty", None),
        (" , ; ", "empty", None),
        ("/log", "empty", None),
        ("3 calls " + "x" * MAX_INPUT_LENGTH, "too_long", None),
        ("1" * 5000, "too_long", None),
        ("3 calls\x00", "invalid_character", None),
        ("3 appels\x1b[31m", "invalid_character", None),
        ("calls", "not_a_number", None),  # a kind without its count
        ("rdv, 3", "not_a_number", None),
        ("5 3", "not_a_number", None),
        ("2.5 calls", "not_a_number", "2.5"),
        ("2,5 appels", "not_a_number", "2,5"),
        ("-3 calls", "negative", "-3"),
        ("calls -3", "negative", "-3"),
        ("\u22122 rdv", "negative", "\u22122"),
        ("0 calls", "zero", "0"),
        ("zéro appel", "zero", "zéro"),
        ("501 calls", "too_many", "501"),
        ("10000 appels", "too_many", "10000"),
        ("1,000 calls", "too_many", "1,000"),
        ("1 000 appels", "too_many", "1 000"),
        ("1.000 appels", "too_many", "1.000"),
        ("9" * 150, "too_many", "9" * 40),
        ("400 calls, 200 emails", "too_many", "600"),
        ("3 cafés", "unknown_kind", "cafés"),
        ("3 coffees", "unknown_kind", "coffees"),
        ("lots of calls", "unknown_kind", "lots"),
        ("3 calls today", "unknown_kind", "today"),
        ("3 appels aujourd'hui", "unknown_kind", "aujourd'hui"),
        ("2 🙂", "unknown_kind", "🙂"),
    ],
)
def test_parse_log_errors(text: str, code: str, word: str | None) -> None:
    with pytest.raises(ActivityInputError) as caught:
        parse_log(text)
    assert (caught.value.code, caught.value.word) == (code, word)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        (" 12 ", 12),
        ("0", 0),
        ("500", 500),
        ("3.", 3),
        ("7 !", 7),
        # English words
        ("zero", 0),
        ("none", 0),
        ("one", 1),
        ("Three", 3),
        ("ten", 10),
        # French words
        ("zéro", 0),
        ("Zero", 0),
        ("aucun", 0),
        ("rien", 0),
        ("un", 1),
        ("une", 1),
        ("trois", 3),
        ("six", 6),
        ("dix", 10),
    ],
)
def test_parse_count(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "word"),
    [
        ("", "empty", None),
        ("  ", "empty", None),
        ("?", "empty", None),
        ("x" * 5000, "too_long", None),
        ("3\x07", "invalid_character", None),
        ("lots", "not_a_number", "lots"),
        ("beaucoup", "not_a_number", "beaucoup"),
        ("3 calls", "not_a_number", "calls"),
        ("3 4", "not_a_number", None),
        ("2.5", "not_a_number", "2.5"),
        ("eleven", "not_a_number", "eleven"),
        ("-1", "negative", "-1"),
        ("501", "too_many", "501"),
        ("10000", "too_many", "10000"),
        ("10 000", "too_many", "10 000"),
        ("10,000", "too_many", "10,000"),
    ],
)
def test_parse_count_errors(text: str, code: str, word: str | None) -> None:
    with pytest.raises(ActivityInputError) as caught:
        parse_count(text)
    assert (caught.value.code, caught.value.word) == (code, word)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_parse_log_never_raises_anything_else(text: str) -> None:
    try:
        entries = parse_log(text)
    except ActivityInputError as error:
        assert error.word is None or 0 < len(error.word) <= 40
        return
    kinds = [kind for kind, _ in entries]
    assert entries and len(kinds) == len(set(kinds))
    assert all(1 <= count <= MAX_PER_ENTRY for _, count in entries)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_parse_count_never_raises_anything_else(text: str) -> None:
    try:
        value = parse_count(text)
    except ActivityInputError:
        return
    assert 0 <= value <= MAX_PER_ENTRY


WORDS = {
    C: ["calls", "appels", "emails", "coups de fil", "prospect"],
    F: ["relances", "follow-ups", "suivis"],
    M: ["rdv", "meetings", "Réunion", "démos"],
    P: ["devis", "quotes", "propositions"],
    D: ["ventes", "deals", "clients", "signé"],
}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(ActivityKind)), st.integers(1, 200), st.booleans()),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([", ", " ", " et ", " and ", "; ", "\n"]),
    st.data(),
)
def test_parse_log_reads_what_was_written(
    entries: list[tuple[ActivityKind, int, bool]], separator: str, data: st.DataObject
) -> None:
    parts = []
    for kind, count, count_first in entries:
        word = data.draw(st.sampled_from(WORDS[kind]))
        parts.append(f"{count} {word}" if count_first else f"{word} {count}")
    expected: dict[ActivityKind, int] = {}
    for kind, count, _ in entries:
        expected[kind] = expected.get(kind, 0) + count
    text = separator.join(parts)
    if max(expected.values()) > MAX_PER_ENTRY:
        with pytest.raises(ActivityInputError) as caught:
            parse_log(text)
        assert caught.value.code == "too_many"
    else:
        assert parse_log(text) == list(expected.items())


@settings(max_examples=200, deadline=None)
@given(st.integers(-10_000, 10_000))
def test_parse_count_of_any_integer(value: int) -> None:
    if 0 <= value <= MAX_PER_ENTRY:
        assert parse_count(str(value)) == value
    else:
        with pytest.raises(ActivityInputError) as caught:
            parse_count(str(value))
        assert caught.value.code == ("negative" if value < 0 else "too_many")
