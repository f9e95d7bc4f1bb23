"""Every template, in both languages, with 0, 1 and 2 of each count: plurals agree with their
number, sentences are followed by a space, and no text names the other language's commands."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from bot.i18n import COMMAND_NAMES, LANGUAGES, command_name, label, render
from bot.sandbox.html_entities import parse_html
from tests.unit.test_messages import LABELS, SAMPLES

# Integers that are not counts of things (positions, limits, codes): left as the samples have them.
NOT_COUNTS = {
    "number", "first_index", "total", "max_days", "max_mb", "max_target", "max_reward",
    "max_blocks", "line", "column", "id", "telegram_id", "chat_id", "question", "step",
    "ratios",
}  # fmt: skip


def with_counts(value: Any, n: int, key: str = "") -> Any:
    """`value` with every count in it (ints in dicts, lists, tuples and dataclasses) set to n."""
    if isinstance(value, bool) or key in NOT_COUNTS:
        return value
    if isinstance(value, int):
        return n
    if isinstance(value, dict):
        return {k: with_counts(v, n, k if isinstance(k, str) else "") for k, v in value.items()}
    if isinstance(value, list):
        return [with_counts(v, n) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(with_counts(v, n) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: with_counts(getattr(value, f.name), n, f.name)
            for f in dataclasses.fields(value)
            if f.init
        }
        try:
            return dataclasses.replace(value, **changes)
        except (TypeError, ValueError):
            return value
    return value


SPACE = r"[ \xa0\u202f]"
NOT_AFTER_NUMBER = r"(?<![\d.,\u202f\xa0])"
ADJECTIVES = (
    "new|open|past|missed|logged|more|prospecting|nouveaux|nouveau|nouvelle|nouvelles"
    "|dernières|dernière|derniers|dernier|devis"
)
ADJECTIVE = rf"(?:(?:{ADJECTIVES}){SPACE})?"
# Words whose singular and plural differ; invariable ones (rendez-vous, devis, fois) are left out.
NOUNS = {
    "en": [
        ("contact", "contacts"), ("meeting", "meetings"), ("proposal", "proposals"),
        ("deal", "deals"), ("day", "days"), ("quote", "quotes"), ("block", "blocks"),
        ("check-in", "check-ins"), ("week", "weeks"), ("time", "times"), ("goal", "goals"),
        ("problem", "problems"), ("diagnosis", "diagnoses"), ("call", "calls"),
        ("sale", "sales"), ("prospect", "prospects"), ("minute", "minutes"), ("hour", "hours"),
    ],
    "fr": [
        ("contact", "contacts"), ("vente", "ventes"), ("jour", "jours"), ("semaine", "semaines"),
        ("point", "points"), ("créneau", "créneaux"), ("objectif", "objectifs"),
        ("problème", "problèmes"), ("diagnostic", "diagnostics"), ("relance", "relances"),
        ("appel", "appels"), ("proposition", "propositions"), ("minute", "minutes"),
        ("heure", "heures"), ("prospect", "prospects"), ("signature", "signatures"),
    ],
}  # fmt: skip
# Babel's rules: English "one" is 1 only, French "one" is 0 and 1.
SINGULAR_COUNTS = {"en": "1", "fr": "[01]"}
PLURAL_COUNTS = {"en": "[02]", "fr": "2"}


def plural_mistakes(text: str, lang: str) -> list[str]:
    ones = "|".join(re.escape(one) for one, _ in NOUNS[lang])
    others = "|".join(re.escape(other) for _, other in NOUNS[lang])
    wrong_plural = rf"{NOT_AFTER_NUMBER}{SINGULAR_COUNTS[lang]}{SPACE}{ADJECTIVE}(?:{others})\b"
    wrong_singular = rf"{NOT_AFTER_NUMBER}{PLURAL_COUNTS[lang]}{SPACE}{ADJECTIVE}(?:{ones})\b"
    found = [m.group(0) for m in re.finditer(wrong_plural, text)]
    found += [m.group(0) for m in re.finditer(wrong_singular, text)]
    if lang == "fr":
        found += re.findall(rf"{NOT_AFTER_NUMBER}[01]{SPACE}nouveaux\b", text)
    return found


MISSING_SPACE = re.compile(r"[a-zà-ÿ)»”][.!?][A-ZÀ-Ý«“]")


def other_language_commands(text: str, lang: str) -> list[str]:
    ours = {names[lang] for names in COMMAND_NAMES.values()}
    theirs = {name for names in COMMAND_NAMES.values() for name in names.values()} - ours
    pattern = r"(?<![\w/])/(" + "|".join(sorted(theirs, key=len, reverse=True)) + r")\b(?!/)"
    return [m.group(0) for m in re.finditer(pattern, text)]


def check(text: str, lang: str) -> None:
    assert not plural_mistakes(text, lang), f"plural does not agree: {plural_mistakes(text, lang)}"
    assert not MISSING_SPACE.findall(text), f"no space after a sentence: {text!r}"
    assert not other_language_commands(text, lang), (
        f"other language's commands: {other_language_commands(text, lang)}"
    )


@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_message_reads_right_with_each_count(name: str, lang: str, n: int) -> None:
    sample = with_counts(SAMPLES[name], n)
    if name == "help/help":  # /help lists the commands by the names of the owner's language
        sample["commands"] = [(command_name(key, lang), key) for key in COMMAND_NAMES]
    text = parse_html(render(name, lang, **sample)).text
    check(text, lang)


@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_labels_read_right_with_each_count(lang: str, n: int) -> None:
    from tests.unit.test_messages import label_names

    for name in sorted(label_names(lang)):
        check(label(name, lang, **with_counts(LABELS.get(name, {}), n)), lang)


@pytest.mark.parametrize(
    ("lang", "text", "mistakes"),
    [
        ("en", "+1 meetings, 1 deals, 2 new contact", ["1 meetings", "1 deals", "2 new contact"]),
        ("en", "0 contacts, 1 meeting, 12 days, 2 quotes", []),
        ("fr", "+1 ventes, 0 nouveaux contacts, 2 jour", ["1 ventes", "0 nouveaux contacts",
                                                          "2 jour", "0 nouveaux"]),
        ("fr", "0 nouveau contact, 1 rendez-vous, 2 devis, 10 jours", []),
    ],
)  # fmt: skip
def test_the_checks_catch_what_the_issue_found(lang: str, text: str, mistakes: list[str]) -> None:
    assert sorted(plural_mistakes(text, lang)) == sorted(mistakes)
    assert MISSING_SPACE.findall("reprennent.Le prochain") and MISSING_SPACE.findall("again.Next")
    assert other_language_commands("Touchez /checkin ou /plan", "fr") == ["/checkin", "/plan"]
    assert other_language_commands("Touchez /point ou /planifier, /pause", "fr") == []
    assert other_language_commands("Tap /point or /checkin", "en") == ["/point"]


def test_every_command_name_of_each_language_is_understood() -> None:
    from telegram.ext import CommandHandler

    import handlers

    understood = {
        command
        for handler in handlers.all_handlers()
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    for names in COMMAND_NAMES.values():
        assert set(names.values()) <= understood, names
