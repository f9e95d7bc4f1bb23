"""Typed text folded for matching: "Réunions", "REUNIONS" and "réunions" read the same.

One rule for every parser of typed words (times, days, reasons, activity, yes/no answers):
Unicode compatibility forms, no accents, case folded, curly apostrophes straight. Each parser
adds what its own grammar needs (spaces, dashes, punctuation) on top.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case (case-folded), no accents, straight apostrophes; spacing left as it was."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
