"""The issue's measurement, on a real database: six weeks of a labelled history brought in
through /import (CSV, confirmed), the verdict read back from /export."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import User
from bot.services import data_format as fmt
from bot.services import privacy
from tests.coaching_corpus.histories import SPECS, TODAY, build

NOW = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


def as_csv(spec_id: str) -> bytes:
    """The history's days as the daily-activity CSV an owner would import."""
    history = build(next(s for s in SPECS if s.id.startswith(spec_id)))
    answers = {a.day: a for a in history.answers}
    lines = [",".join(fmt.CSV_COLUMNS)]
    for d in history.days:
        answer = answers.get(d.day)
        block = answer.block_done if answer and answer.block_done else ""
        reason = answer.reason if answer and answer.reason in fmt.REASONS else ""
        lines.append(
            f"{d.day.isoformat()},{d.contacts},{d.meetings},{d.proposals},{d.deals},"
            f"{block},{reason}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.mark.parametrize(
    ("spec_id", "verdict"),
    [("I01", "intentional"), ("U01", "unaware"), ("C02", "comfortable")],
)
async def test_an_imported_history_shows_its_verdict_in_the_export(
    sessions: Sessions, spec_id: str, verdict: str
) -> None:
    async with sessions.begin() as session:
        user = User(
            telegram_id=77, chat_id=77, first_name="Ana", language="en", timezone="UTC",
            currency="EUR", created_at=NOW, updated_at=NOW, onboarded_at=NOW,
        )  # fmt: skip
        session.add(user)
        await session.flush()
        data = as_csv(spec_id)
        payload = privacy.check_file(data, "history.csv", "text/csv", today=TODAY, now=NOW)
        token = await privacy.hold(
            session, user, payload, NOW, filename="history.csv", file_id="f",
            file_digest=privacy.digest(data), mime_type="text/csv",
        )  # fmt: skip
        assert await privacy.confirm_import(session, user, token, payload, NOW) is not None
        exported = json.loads((await privacy.export(session, user, NOW)).json_bytes)
    data_verdicts = [d for d in exported["diagnoses"] if d["source"] == "data"]
    assert [(d["date"], d["type"]) for d in data_verdicts] == [(TODAY.isoformat(), verdict)]
