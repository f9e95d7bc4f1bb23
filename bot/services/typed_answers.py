"""What a typed answer to a button question means, in French and English (pure: no I/O).

Rules:
- Yes / no: "yes", "y", "yep", "yeah", "sure", "ok", "done", "oui", "ouais", "bien sûr", "fait"
  are yes; "no", "n", "nope", "nah", "not really", "non", "nan", "pas vraiment", "raté" are no.
  Case, accents, punctuation and emoji around the words do not matter ("Non !" = "non").
- The block question also takes "no plan", "no block", "pas de créneau", "pas prévu"... for
  "I have no plan" (checked first: "no plan" is not a plain "no").
- A reason in words is matched to a reason code only when it clearly is one (a known phrase
  such as "too busy", "débordé", "pipeline full", "assez de devis", "pas bloqué de temps", "tout
  va bien"); otherwise it is kept as text under "other". An answer with no letter at all
  (digits, punctuation, emoji only) is unreadable: None.
"""

from __future__ import annotations

import re
import unicodedata

from bot.services.text_folding import fold

YES, NO, NO_PLAN = "yes", "no", "no_plan"
BUSY, PIPELINE_FULL, NO_TIME, NO_NEED, OTHER = (
    "busy",
    "pipeline_full",
    "no_time_set_aside",
    "no_need",
    "other",
)
MAX_TYPED_REASON = 500

_YES = {
    "yes", "y", "yep", "yeah", "yup", "ya", "sure", "ok", "okay", "done", "of course", "it did",
    "yes it did", "oui", "ouais", "ouai", "o", "bien sur", "fait", "c'est fait", "oui fait",
    "absolument", "tout a fait", "carrement", "evidemment", "yes done", "oui oui", "si",
}  # fmt: skip
_NO = {
    "no", "n", "nope", "nah", "no way", "not really", "not today", "it didn't", "didn't",
    "did not", "skipped", "missed", "non", "nan", "pas vraiment", "pas aujourd'hui", "rate",
    "pas fait", "non pas fait", "saute", "loupe", "manque", "non non", "pas du tout", "negatif",
}  # fmt: skip
_NO_PLAN = (
    "no plan", "no block", "not planned", "nothing planned", "no slot", "none planned",
    "pas de creneau", "pas de plan", "pas prevu", "rien de prevu", "aucun creneau",
    "rien de planifie", "pas planifie", "pas de bloc",
)  # fmt: skip

# Phrases that clearly name a reason (plain text: lower case, no accents). First match wins.
_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (PIPELINE_FULL, (
        "pipeline full", "pipeline is full", "full pipeline", "enough quotes", "enough work",
        "enough clients", "assez de devis", "assez de travail", "assez de clients",
        "carnet plein", "carnet de commandes plein", "pipeline plein", "deja assez",
    )),
    (NO_TIME, (
        "didn't set time", "did not set time", "no time set aside", "didn't block",
        "did not block", "forgot", "no time slot", "pas bloque", "pas reserve", "oublie",
        "pas pris le temps", "pas de temps bloque", "rien bloque",
    )),
    (NO_NEED, (
        "no need", "things are fine", "all good", "doing fine", "everything is fine",
        "pas besoin", "tout va bien", "ca va bien", "pas necessaire", "inutile",
    )),
    (BUSY, (
        "busy", "too much work", "delivering", "overloaded", "swamped", "snowed under",
        "deborde", "occupe", "trop de travail", "charge de travail", "sous l'eau",
        "pas le temps", "no time", "livrer", "livraison", "production", "rush",
    )),
)  # fmt: skip

_SPACES = re.compile(r"\s+")
_EDGES = re.compile(r"^[^\w']+|[^\w']+$")


def plain(text: str) -> str:
    """Lower case, no accents, straight apostrophes, single spaces, no punctuation at the edges."""
    return _EDGES.sub("", _SPACES.sub(" ", fold(text)).strip())


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(c).startswith("L") for c in text)


def yes_no(text: str) -> str | None:
    """YES, NO, or None when the text is neither."""
    words = plain(text)
    if words in _YES:
        return YES
    if words in _NO:
        return NO
    return None


def block_answer(text: str) -> str | None:
    """YES, NO, NO_PLAN, or None when the text answers none of them."""
    words = plain(text)
    if any(phrase in words for phrase in _NO_PLAN):
        return NO_PLAN
    return yes_no(text)


def reason(text: str) -> tuple[str, str | None] | None:
    """(reason code, None) for a clear reason; (OTHER, the text) otherwise; None if unreadable."""
    words = plain(text)
    if not _has_letter(words):
        return None
    for code, phrases in _REASONS:
        if any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", words) for p in phrases):
            return code, None
    return OTHER, _SPACES.sub(" ", text).strip()[:MAX_TYPED_REASON]
