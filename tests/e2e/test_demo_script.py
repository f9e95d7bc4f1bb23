"""The three-week French demo script (tests/demo/three_weeks.fr.txt) played through the sandbox:
/bilan and /exporter show exactly what the owner did (issue 12)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sandbox import BotApiSandbox
from tests.e2e.conftest import Bot, say, tap
from tests.e2e.test_data import export_files, unpaced  # noqa: F401  (a fixture)

# Replies come in order, one line after the other: the per-chat pacing has its own tests.
pytestmark = pytest.mark.usefixtures("unpaced")

SCRIPT = Path(__file__).parent.parent / "demo" / "three_weeks.fr.txt"
NBSP = "\u00a0"


async def test_three_weeks_in_french_add_up(bot: Bot, sandbox: BotApiSandbox) -> None:
    user = sandbox.user(1212, first_name="Camille", language_code="fr")
    expected: dict[str, int] = {}
    for raw in SCRIPT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@ "):
            bot.clock.set(datetime.fromisoformat(line[2:]).replace(tzinfo=UTC))
        elif line.startswith("= "):
            key, value = line[2:].split()
            expected[key] = int(value)
        elif line.startswith("> "):
            await sandbox.wait_idle(timeout=10)
            user.skip_pending()
            await tap(user, sandbox, line[2:])
        else:
            await sandbox.wait_idle(timeout=10)
            user.skip_pending()  # a plan's calendar file, a second document
            answer = await say(user, sandbox, line)
            # Every line of the script is understood: no "I didn't catch that" anywhere.
            assert "🤔" not in answer.get("text", ""), (line, user.transcript(last=6))

    await sandbox.wait_idle(timeout=10)
    user.skip_pending()
    stats = await say(user, sandbox, "/bilan")
    await sandbox.wait_idle(timeout=10)
    text = stats.get("text") or stats.get("caption") or ""
    if "Nouveaux contacts" not in text:  # the chart comes first, the numbers after it
        text = "\n".join((m.get("text") or m.get("caption") or "") for m in user.messages[-3:])
    assert f"Nouveaux contacts{NBSP}: {expected['week_contacts']}" in text, text
    assert f"Rendez-vous{NBSP}: {expected['week_meetings']}" in text, text
    assert f"Devis envoyés{NBSP}: {expected['week_proposals']}" in text, text
    assert f"Affaires signées{NBSP}: {expected['week_deals']}" in text, text

    document, csv_bytes = await export_files(user, sandbox)
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    for kind in ("contacts", "meetings", "proposals", "deals"):
        assert sum(int(r[kind]) for r in rows) == expected[kind], kind
    activity = Counter[str]()
    for entry in document["activity"]:
        activity[entry["kind"]] += entry["count"]
    checkin_totals = Counter[str]()
    for checkin in document["checkins"]:
        for kind in ("contacts", "meetings", "proposals"):
            checkin_totals[kind] += checkin.get(kind) or 0
    for kind in ("contacts", "meetings", "proposals", "deals"):
        assert activity[kind] + checkin_totals[kind] == expected[kind], kind
    assert activity["follow_ups"] == expected["follow_ups"]
    assert len(document["quotes"]) == expected["quotes"]
    assert sum(1 for q in document["quotes"] if q["followed_up_on"]) == 1
