"""The one folding rule every parser of typed words shares."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.services.text_folding import fold


def test_accents_case_and_apostrophes_fold_away() -> None:
    assert fold("Réunions") == fold("REUNIONS") == "reunions"
    assert fold("Aujourd\u2019hui") == "aujourd'hui"
    assert fold("Février  à 9 h") == "fevrier  a 9 h"  # spacing is each parser's business
    assert fold("ﬁn") == "fin"  # compatibility forms


@given(st.text())
def test_folding_is_stable_and_leaves_no_accent(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert not any(unicodedata.combining(c) for c in folded)
