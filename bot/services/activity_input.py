"""What `/log` and a typed check-in answer understand, in French and English.

Rules:
- `/log` takes one or more entries: "<count> <kind>" or "<kind> <count>" or a bare "<count>" (a
  bare count is contacts). Entries may be separated by spaces, punctuation (", ; + / ...") or the
  words "and" / "et": "/log 3 appels, 1 rdv", "/log calls 3 and 2 devis", "/log 5".
- Kind words are matched without case or accents, singular or plural ("Réunions" = "reunion"),
  following the vocabulary of `ActivityKind`: calls, e-mails, visits to someone new are contacts
  ("appels", "coups de fil"); "relances", "follow-ups" are follow-ups; "rdv", "meetings" are
  meetings. Qualifiers ("new", "nouveaux") are skipped: "3 new contacts" = 3 contacts.
- Counts are digits ("12") or the words zero..ten / zéro..dix ("trois", "une"). A check-in answer
  also takes "none" / "aucun" / "rien" for 0. Thousands ("1,000", "1 000", "1.000") are read as
  such, so they are "too_many" rather than silently split; decimals ("2.5", "2,5") are not counts.
- `/log` counts are 1..MAX_PER_ENTRY (logging 0 makes no sense: code "zero"); entries of the same
  kind are added up and the sum is held to the same limit. A check-in answer is 0..MAX_PER_ENTRY.
- Anything else raises ActivityInputError, never another exception, with one code:
  "empty"             nothing but blanks or separators
  "too_long"          more than MAX_INPUT_LENGTH characters
  "invalid_character" a control character (tab and newlines are fine)
  "not_a_number"      a count is missing or unreadable (word = the text when one word is at fault)
  "negative"          a count with a minus sign
  "zero"              a /log count of 0
  "too_many"          a count above MAX_PER_ENTRY (word = the count, or a kind's summed total)
  "unknown_kind"      a /log word or symbol that is neither a count nor a kind (word = it)
  `word` is the offending text as typed (Unicode-normalized, cut to MAX_WORD_LENGTH), or None for
  structural errors ("calls" with no count, "5 3"). It is raw user text: escape it when shown.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, cast

from bot.services.text_folding import fold


class ActivityKind(StrEnum):
    """The vocabulary, defined once (README and /help say the same):

    - contacts:   new contacts, a first touch with someone new (call, e-mail, message, visit);
    - follow_ups: a follow-up on a quote or a prospect already known ("relance");
    - meetings:   a meeting or a planned call held with a prospect ("rdv");
    - proposals:  a quote or proposal sent (each /quote is one, counted once);
    - deals:      a signed deal (Signed on a quote logs one).
    """

    CONTACTS = "contacts"
    MEETINGS = "meetings"
    PROPOSALS = "proposals"
    DEALS = "deals"
    FOLLOW_UPS = "follow_ups"


MAX_PER_ENTRY = 500
MAX_INPUT_LENGTH = 200
MAX_WORD_LENGTH = 40

ErrorCode = Literal[
    "empty",
    "too_long",
    "invalid_character",
    "not_a_number",
    "negative",
    "zero",
    "too_many",
    "unknown_kind",
]


class ActivityInputError(Exception):
    """Input that is not a count or an activity; `code` says why, `word` what was not understood."""

    def __init__(self, code: ErrorCode, word: str | None = None) -> None:
        super().__init__(code if word is None else f"{code}: {word!r}")
        self.code: ErrorCode = code
        self.word: str | None = None if word is None else word[:MAX_WORD_LENGTH]


_KIND_WORDS: dict[ActivityKind, tuple[str, ...]] = {
    ActivityKind.CONTACTS: (
        "contact", "prospect", "call", "appel", "email", "e-mail", "mail", "message", "dm",
        "linkedin", "touch", "touches", "coup-de-fil", "cold-call", "visit", "visite",
        "prospection", "phoning",
    ),
    ActivityKind.FOLLOW_UPS: (
        "relance", "follow-up", "followup", "suivi", "rappel", "callback", "call-back",
    ),
    ActivityKind.MEETINGS: (
        "meeting", "rdv", "rendez-vous", "rendezvous", "reunion", "demo", "entretien",
        "rencontre", "visio",
    ),
    ActivityKind.PROPOSALS: ("proposal", "quote", "devis", "proposition", "offre", "offer"),
    ActivityKind.DEALS: (
        "deal", "sale", "vente", "contrat", "contract", "signed", "signe", "signee", "client",
        "win",
    ),
}  # fmt: skip
# Every word above also matches with a plural "s" ("appels", "signees").
_KINDS: dict[str, ActivityKind] = {
    form: kind
    for kind, words in _KIND_WORDS.items()
    for word in words
    for form in (word, word + "s")
}
_NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
}  # fmt: skip
_NONE_WORDS = {"none", "nothing", "aucun", "aucune", "rien"}  # 0, for check-in answers only
_JOIN_WORDS = {"and", "et"}
# Words that only qualify the kind: "3 new contacts", "2 nouveaux contacts", "1 rdv client".
_FILLER_WORDS = {
    "new", "nouveau", "nouveaux", "nouvelle", "nouvelles", "de", "des", "du", "my", "mes",
}  # fmt: skip
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}

_LETTER = r"(?:[^\W\d_]|[\u0300-\u036f])"  # a letter, or a combining accent left by the user
_TOKEN = re.compile(
    rf"""
      (?P<space>\s+)
    | (?P<number>[-\u2212]?\d+(?:[.,]\d+)*)
    | (?P<word>{_LETTER}+(?:[-'\u2019]{_LETTER}+)*)
    | (?P<sep>[,;:=.!?&+/()\[\]\-\u2013\u2014\u2026"'\u2019\u00ab\u00bb\u201c\u201d*|]+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_LABEL = re.compile(r"[:=]+")
_GROUPED = re.compile(r"[-\u2212]?[1-9]\d{0,2}(?: \d{3})*")
_GROUP = re.compile(r"\d{3}")
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})+")
_COMMAND = re.compile(r"^/log(?:@\w+)?(?=\s|$)", re.IGNORECASE)
_RENDEZ_VOUS = re.compile(r"\brendez\s+vous\b", re.IGNORECASE)
# Several-word kinds are joined into one word before tokenizing.
_PHRASES = (
    (re.compile(r"\bcoups?\s+de\s+(?:fil|telephone|téléphone)\b", re.IGNORECASE), "coup-de-fil"),
    (re.compile(r"\bfollow(?:ed)?[\s-]+ups?\b", re.IGNORECASE), "follow-up"),
    (re.compile(r"\bcold\s+calls?\b", re.IGNORECASE), "cold-call"),
    (re.compile(r"\bcall\s+backs?\b", re.IGNORECASE), "callback"),
)


_TokenType = Literal["number", "word", "sep", "other"]  # the named groups of _TOKEN but "space"


@dataclass(frozen=True)
class _Token:
    type: _TokenType
    text: str  # as typed (after Unicode normalization)
    spaced: bool = False  # preceded by blanks


def _plain(word: str) -> str:
    """Lower case without accents, so "Réunions" and "reunions" match."""
    return fold(word)


def _clean(text: str) -> str:
    """The text normalized and checked for length and control characters."""
    if len(text) > MAX_INPUT_LENGTH:
        raise ActivityInputError("too_long")
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") and char not in _ALLOWED_CONTROLS:
            raise ActivityInputError("invalid_character")
    # Invisible format characters (zero-width space, BOM, direction marks) come from copy-paste.
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    normalized = unicodedata.normalize("NFKC", visible).strip()
    if len(normalized) > MAX_INPUT_LENGTH:  # NFKC can expand a few characters a lot
        raise ActivityInputError("too_long")
    return normalized


def _tokens(text: str) -> list[_Token]:
    """Numbers, words and separators; ":" and "=" are dropped."""
    tokens: list[_Token] = []
    spaced = False
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            spaced = True
            continue
        if kind == "sep" and _LABEL.fullmatch(match.group()):
            continue  # "calls: 3" is one entry: ":" and "=" only label the count
        tokens.append(_Token(cast(_TokenType, kind), match.group(), spaced))
        spaced = False
    return tokens


def _thousands(first: _Token, second: _Token) -> bool:
    """True for "1 000": a number then a spaced group of exactly three digits."""
    return (
        first.type == second.type == "number"
        and second.spaced
        and _GROUPED.fullmatch(first.text) is not None
        and _GROUP.fullmatch(second.text) is not None
    )


def _join_thousands(tokens: list[_Token]) -> list[_Token]:
    """The tokens with "10 000" read back as one (too large) number."""
    joined: list[_Token] = []
    for token in tokens:
        if joined and _thousands(joined[-1], token):
            previous = joined[-1]
            joined[-1] = _Token("number", f"{previous.text} {token.text}", previous.spaced)
        else:
            joined.append(token)
    return joined


def _number_word(token: _Token, *, none_words: bool) -> int | None:
    """The value of a count written as a word, or None."""
    if token.type != "word":
        return None
    word = _plain(token.text)
    if none_words and word in _NONE_WORDS:
        return 0
    return _NUMBER_WORDS.get(word)


def _count(token: _Token, *, allow_zero: bool) -> int:
    """The value of a number token, within the limits, or the matching error."""
    text = token.text
    if text[0] in "-\u2212":
        raise ActivityInputError("negative", text)
    digits = text.replace(" ", "")
    if digits.isdecimal():
        # Checking the length first keeps int() away from absurdly long digit strings.
        value = int(digits) if len(digits) <= 6 else MAX_PER_ENTRY + 1
    elif _THOUSANDS.fullmatch(text):
        value = MAX_PER_ENTRY + 1  # at least 1,000
    else:
        raise ActivityInputError("not_a_number", text)
    return _check_range(value, text, allow_zero=allow_zero)


def _check_range(value: int, text: str, *, allow_zero: bool) -> int:
    if value == 0 and not allow_zero:
        raise ActivityInputError("zero", text)
    if value > MAX_PER_ENTRY:
        raise ActivityInputError("too_many", text)
    return value


def _log_count(token: _Token | None) -> int | None:
    """A /log count (1..MAX_PER_ENTRY) when `token` is a number, else None."""
    if token is None:
        return None
    if token.type == "number":
        return _count(token, allow_zero=False)
    value = _number_word(token, none_words=False)
    return None if value is None else _check_range(value, token.text, allow_zero=False)


def _log_kind(token: _Token | None) -> ActivityKind | None:
    if token is None or token.type != "word":
        return None
    return _KINDS.get(_plain(token.text))


def _is_count(token: _Token) -> bool:
    return token.type == "number" or _number_word(token, none_words=False) is not None


def _is_separator(token: _Token) -> bool:
    return token.type == "sep" or (token.type == "word" and _plain(token.text) in _JOIN_WORDS)


def parse_log(text: str) -> list[tuple[ActivityKind, int]]:
    """The (kind, count) entries of a /log text, merged per kind in order of first appearance."""
    cleaned = _RENDEZ_VOUS.sub("rendez-vous", _COMMAND.sub("", _clean(text)))
    for phrase, word in _PHRASES:
        cleaned = phrase.sub(word, cleaned)
    tokens = [
        t for t in _tokens(cleaned) if t.type != "word" or _plain(t.text) not in _FILLER_WORDS
    ]
    totals: dict[ActivityKind, int] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if _is_separator(token):
            i += 1
            continue
        # A separator ends an entry: in "3, rdv 2" the 3 is contacts, not meetings.
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following is not None and _is_separator(following):
            following = None
        count = _log_count(token)
        if count is not None:
            kind = _log_kind(following)
            if kind is not None:
                i += 2
            elif following is not None and _is_count(following):
                # Spaced thousands are only joined here, so "calls 3 200 rdv" stays two entries.
                if _thousands(token, following):
                    raise ActivityInputError("too_many", f"{token.text} {following.text}")
                raise ActivityInputError("not_a_number")  # "5 3": which one is meant?
            else:
                kind, i = ActivityKind.CONTACTS, i + 1  # a bare count is contacts
        else:
            kind = _log_kind(token)
            if kind is None:
                raise ActivityInputError("unknown_kind", token.text)
            count = _log_count(following)
            if count is None:
                raise ActivityInputError("not_a_number")  # a kind without its count
            i += 2
        totals[kind] = totals.get(kind, 0) + count
        if totals[kind] > MAX_PER_ENTRY:
            raise ActivityInputError("too_many", str(totals[kind]))
    if not totals:
        raise ActivityInputError("empty")
    return list(totals.items())


def parse_count(text: str) -> int:
    """One typed answer to a "how many" question: a count in 0..MAX_PER_ENTRY."""
    tokens = [t for t in _join_thousands(_tokens(_clean(text))) if t.type != "sep"]
    if not tokens:
        raise ActivityInputError("empty")
    for token in tokens:
        if token.type == "number":
            _count(token, allow_zero=True)  # a negative or huge number is the clearer error
        elif _number_word(token, none_words=True) is None:
            raise ActivityInputError("not_a_number", token.text)
    if len(tokens) > 1:
        raise ActivityInputError("not_a_number")  # "3 4": one answer at a time
    token = tokens[0]
    if token.type == "number":
        return _count(token, allow_zero=True)
    value = _number_word(token, none_words=True)
    assert value is not None
    return value
