"""The terminal demo plays two weeks in each language through the sandbox: no call refused, every
bot message reads right (plurals, spaces, the owner's command names), files saved and shown, and
a second run on the same database resumes cleanly."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.demo import run_demo
from tests.unit.test_message_language import check

SCRIPTS = Path(__file__).parent / "demo_scripts"
MONDAY = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # before the first check-in of the week


def bot_text(transcript: str) -> str:
    """What the bot and the demo printed: the owner's own typed lines left out."""
    return "\n".join(line for line in transcript.splitlines() if not line.startswith("you › "))


async def play(lang: str, script: Path, db: Path, **options: object) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_demo(lang=lang, script=script, db_path=db, out=out, **options)  # type: ignore[arg-type]
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", {"banner": "Prospect Coach demo", "chart": "[chart]", "calendar": "[calendar]",
                "last_day": "Monday 14 December", "resumed": "Resuming your demo"}),
        ("fr", {"banner": "Démo de Prospect Coach", "chart": "[graphique]",
                "calendar": "[agenda]", "last_day": "lundi 14 décembre", "resumed": "Reprise"}),
    ],
)  # fmt: skip
async def test_two_weeks_of_demo_read_right_in_each_language(
    lang: str, words: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "data" / "demo.db"
    script = SCRIPTS / f"two_weeks.{lang}.txt"
    code, transcript = await play(lang, script, db, start=MONDAY, fresh=True)
    (tmp_path / f"transcript.{lang}.txt").write_text(transcript)

    assert code == 0, "the sandbox refused some of the bot's calls"
    shown = bot_text(transcript)
    assert shown.startswith(words["banner"])
    check(shown, lang)
    # Two weeks went by, and :next said each new date.
    assert words["last_day"] in shown.lower() if lang == "fr" else words["last_day"] in shown
    # Files are saved and their paths shown, as a phone would show the chart and the .ics.
    for kind, ext in (("chart", ".png"), ("calendar", ".ics")):
        found = re.search(re.escape(words[kind]) + r" (data/demo-files/\S+" + ext + ")", shown)
        assert found, f"no {kind} shown"
        assert (tmp_path / found[1]).stat().st_size > 0
    # A typed number at a count question is that number, not a button.
    assert re.search(r"(New contacts|Nouveaux contacts)\W+5\b", shown)
    # Every message is numbered.
    assert all(
        re.match(r"#\d+ bot › ", line)
        for line in shown.splitlines()
        if "bot › " in line
    )

    # A second run on the same database resumes cleanly: an open check-in, no refused call.
    again = tmp_path / "again.txt"
    again.write_text("/checkin\n3\n:next\n" if lang == "en" else "/point\n3\n:next\n")
    code, second = await play(lang, again, db)
    assert code == 0, f"the resumed demo had calls refused:\n{second}"
    assert words["resumed"] in second
    check(bot_text(second), lang)


async def test_nothing_scheduled_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "s.txt"
    script.write_text(":next\n")
    code, transcript = await play("fr", script, tmp_path / "demo.db", start=MONDAY)
    assert code == 0
    assert "Rien n'est programmé" in transcript
