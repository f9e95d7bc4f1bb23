"""Export, merge and forget rules on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import inbox, outbox
from bot.db import privacy as queries
from bot.db.models import (
    ActivityEntry,
    Base,
    BlockSession,
    CheckIn,
    Diagnosis,
    DialogName,
    Goal,
    InboundUpdate,
    OutboxMessage,
    PlanBlock,
    Quote,
    User,
)
from bot.services import data_format as fmt
from bot.services import privacy
from bot.services.privacy import ImportSummary

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
Sessions = async_sessionmaker[AsyncSession]


async def make_user(session: AsyncSession, telegram_id: int, *, onboarded: bool = True) -> User:
    user = User(
        telegram_id=telegram_id, chat_id=telegram_id, first_name=f"User {telegram_id}",
        language="fr", timezone="Europe/Paris", currency="EUR", created_at=NOW, updated_at=NOW,
        onboarded_at=NOW if onboarded else None,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    return user


async def fill(session: AsyncSession, user: User) -> None:
    """A bit of everything, as the bot would have stored it."""
    asked = NOW - timedelta(days=7)
    session.add_all(
        [
            CheckIn(
                user_id=user.id, local_date=date(2026, 11, 20), step="done", contacts=3,
                meetings=1, proposals=0, block_done="no", reason="other", reason_text="Salon",
                asked_at=asked, completed_at=asked + timedelta(minutes=2),
            ),
            CheckIn(
                user_id=user.id, local_date=date(2026, 11, 23), step="meetings", contacts=5,
                asked_at=asked,
            ),
            ActivityEntry(
                user_id=user.id, local_date=date(2026, 11, 20), kind="contacts", count=2,
                source="log", created_at=asked,
            ),
            ActivityEntry(
                user_id=user.id, local_date=date(2026, 11, 21), kind="deals", count=1,
                source="quote", created_at=asked,
            ),
            Quote(
                user_id=user.id, client="Dupont & Fils", amount=Decimal("4500.50"), currency="EUR",
                sent_on=date(2026, 11, 2), expires_on=date(2026, 12, 2), status="open",
                created_at=asked, updated_at=asked,
            ),
            Quote(
                user_id=user.id, client="Acme", amount=Decimal("900"), currency="USD",
                sent_on=date(2026, 10, 2), expires_on=date(2026, 11, 2), status="signed",
                closed_on=date(2026, 10, 20), created_at=asked, updated_at=asked,
            ),
            PlanBlock(
                user_id=user.id, weekday=1, start_time=time(9), duration_minutes=60,
                created_at=asked,
            ),
            BlockSession(
                user_id=user.id, local_date=date(2026, 11, 24), start_time=time(9),
                status="skipped", reason="busy", created_at=asked, answered_at=asked,
            ),
            Goal(
                user_id=user.id, weekly_contacts=10, reward="Resto", started_on=date(2026, 11, 2),
                active=True, created_at=asked,
            ),
            Diagnosis(
                user_id=user.id, on_date=date(2026, 11, 20), source="data", verdict="unaware",
                confidence=0.75, evidence={"signals": ["x"]}, created_at=asked,
            ),
        ]
    )  # fmt: skip
    await session.flush()


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """An export without who it belongs to and when it was made or set up."""
    document = json.loads(json.dumps(document))
    del document["exported_at"]
    for key in ("first_name", "telegram_id", "chat_id", "created_at", "onboarded_at"):
        document["profile"].pop(key)
    return document


async def exported(session: AsyncSession, user: User) -> tuple[dict[str, Any], bytes]:
    files = await privacy.export(session, user, NOW)
    return json.loads(files.json_bytes), files.csv_bytes


async def rows_of(session: AsyncSession, user_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the user in every table, ids left out (to compare states)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table in queries.user_tables():
        columns = [c for c in table.c if c.name not in ("id", "block_id")]
        result = await session.execute(select(*columns).where(table.c.user_id == user_id))
        found[table.name] = sorted((tuple(r) for r in result), key=repr)
    return found


async def test_export_then_import_into_a_fresh_user_exports_the_same(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        owner = await make_user(session, 1)
        await fill(session, owner)
        first_json, first_csv = await exported(session, owner)
        fresh = await make_user(session, 2, onboarded=False)
        fresh.language, fresh.timezone, fresh.currency = "en", "America/New_York", "USD"
        payload = fmt.parse_json(json.dumps(first_json), today=TODAY, now=NOW)
        summary = await privacy.merge(session, fresh, payload, NOW, apply=True)
        assert summary == ImportSummary(
            days=3, quotes=2, blocks=1, sessions=1, goals=1, diagnoses=1, settings=True
        )
        second_json, second_csv = await exported(session, fresh)
    assert comparable(second_json) == comparable(first_json)
    assert second_csv == first_csv
    assert fresh.onboarded_at == NOW  # set up by the import


async def test_importing_the_same_file_twice_changes_nothing(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        owner = await make_user(session, 1)
        await fill(session, owner)
        document, csv_bytes = await exported(session, owner)
        fresh = await make_user(session, 2)
        payload = fmt.parse_json(json.dumps(document), today=TODAY, now=NOW)
        await privacy.merge(session, fresh, payload, NOW, apply=True)
        csv_payload = fmt.parse_file(csv_bytes, "a.csv", None, today=TODAY, now=NOW)
        before = await rows_of(session, fresh.id)
        assert (await privacy.merge(session, fresh, payload, NOW, apply=True)).is_empty()
        assert (await privacy.merge(session, fresh, csv_payload, NOW, apply=True)).is_empty()
        assert await rows_of(session, fresh.id) == before
        # Into the owner themselves: everything is already there.
        mine = await rows_of(session, owner.id)
        assert (await privacy.preview(session, owner, payload, NOW)).is_empty()
        assert await rows_of(session, owner.id) == mine


async def test_a_csv_reaches_the_days_totals_without_lowering_what_the_bot_has(
    sessions: Sessions,
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        await fill(session, user)  # 20 Nov: check-in 3 contacts + /log 2 = 5
        text = "\n".join(
            [
                ",".join(fmt.CSV_COLUMNS),
                "2026-11-20,8,1,0,0,,",  # 3 more contacts than the bot has
                "2026-11-21,0,0,0,0,,",  # below the bot's deal: kept as it is
                "2026-11-25,2,0,1,0,yes,",  # a new day with a block answer
            ]
        )
        payload = fmt.parse_csv(text, today=TODAY)
        summary = await privacy.merge(session, user, payload, NOW, apply=True)
        assert summary.days == 2
        imported = await session.execute(
            select(ActivityEntry.local_date, ActivityEntry.kind, ActivityEntry.count).where(
                ActivityEntry.user_id == user.id, ActivityEntry.source == "import"
            )
        )
        assert sorted(imported) == [
            (date(2026, 11, 20), "contacts", 3),
            (date(2026, 11, 25), "contacts", 2),
            (date(2026, 11, 25), "proposals", 1),
        ]
        made = await session.scalar(
            select(CheckIn).where(
                CheckIn.user_id == user.id, CheckIn.local_date == TODAY - timedelta(days=2)
            )
        )
        assert made is not None and made.block_done == "yes" and made.completed_at == NOW
        # A corrected file replaces the previous import of that day.
        corrected = fmt.parse_csv(text.replace("2026-11-20,8", "2026-11-20,6"), today=TODAY)
        assert (await privacy.merge(session, user, corrected, NOW, apply=True)).days == 1
        total = await session.scalar(
            select(func.sum(ActivityEntry.count)).where(
                ActivityEntry.user_id == user.id,
                ActivityEntry.local_date == date(2026, 11, 20),
                ActivityEntry.kind == "contacts",
            )
        )
        assert total == 2 + 1  # /log 2, import 1 (check-in 3): 6 in all
        files = await privacy.export(session, user, NOW)
        assert b"2026-11-20,6,1,0,0,no,other" in files.csv_bytes


async def test_matches_are_kept_and_only_new_rows_are_added(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        await fill(session, user)
        document, _ = await exported(session, user)
        document["quotes"][0]["status"] = "lost"  # same quote (client, amount, currency, sent)
        document["quotes"].append({**document["quotes"][0], "client": "Nouveau"})
        document["plan"]["blocks"] += [
            {"weekday": "tuesday", "start_time": "09:30", "duration_minutes": 30},  # overlaps
            {"weekday": "friday", "start_time": "09:30", "duration_minutes": 30},
        ]
        document["goals"].append({**document["goals"][0], "reward": "Vacances"})
        document["goals"][0]["active"] = False
        payload = fmt.parse_json(json.dumps(document), today=TODAY, now=NOW)
        summary = await privacy.merge(session, user, payload, NOW, apply=True)
        assert (summary.quotes, summary.blocks, summary.skipped_blocks, summary.goals) == (
            1,
            1,
            1,
            1,
        )
        statuses = await session.execute(
            select(Quote.client, Quote.status).where(Quote.user_id == user.id)
        )
        assert sorted(statuses) == [
            ("Acme", "signed"),
            ("Dupont & Fils", "open"),
            ("Nouveau", "lost"),
        ]
        active = await session.execute(
            select(Goal.reward).where(Goal.user_id == user.id, Goal.active.is_(True))
        )
        assert list(active.scalars()) == ["Resto"]  # the owner's active goal stays the one


async def test_an_unfinished_check_in_is_completed_not_overwritten(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        await fill(session, user)
        document, _ = await exported(session, user)
        document["checkins"][1].update(contacts=9, meetings=2, proposals=1, plan_block_done="yes")
        document["checkins"][1]["completed_at"] = NOW.isoformat()
        payload = fmt.parse_json(json.dumps(document), today=TODAY, now=NOW)
        assert (await privacy.merge(session, user, payload, NOW, apply=True)).days == 1
        checkin = await session.scalar(
            select(CheckIn).where(
                CheckIn.user_id == user.id, CheckIn.local_date == date(2026, 11, 23)
            )
        )
        assert checkin is not None
        assert (checkin.contacts, checkin.meetings, checkin.block_done) == (5, 2, "yes")
        assert checkin.step == "done" and checkin.completed_at == NOW


async def test_a_pending_import_lives_in_the_dialog_row_and_expires(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        payload = fmt.parse_csv(",".join(fmt.CSV_COLUMNS) + "\n2026-11-20,1,0,0,0,,", today=TODAY)
        token = await privacy.hold(
            session, user, payload, NOW, filename="a.csv", file_id="F", file_digest="D",
            mime_type="text/csv",
        )  # fmt: skip
    async with sessions.begin() as session:
        user = await session.get_one(User, user.id)
        pending = await privacy.pending_import(session, user, token, NOW + timedelta(hours=1))
        assert pending is not None and pending.payload == payload and pending.file_id is None
        assert await privacy.pending_import(session, user, "other", NOW) is None
        later = NOW + privacy.PENDING_TTL + timedelta(seconds=1)
        assert await privacy.pending_import(session, user, token, later) is None
        assert await privacy.confirm_import(session, user, "other", payload, NOW) is None
        summary = await privacy.confirm_import(session, user, token, payload, NOW)
        assert summary is not None and summary.days == 1
        assert await privacy.import_dialog(session, user) is None  # a second tap finds nothing
        assert await privacy.confirm_import(session, user, token, payload, NOW) is None


async def test_a_large_pending_import_keeps_only_the_file_reference(sessions: Sessions) -> None:
    days = [
        fmt.DayRecord(date(2000, 1, 1) + timedelta(days=n), n, n, n, n, "yes", "busy")
        for n in range(6000)
    ]
    payload = fmt.Payload(format="csv", days=days)
    assert len(json.dumps(fmt.to_storage(payload))) > privacy.MAX_INLINE_BYTES
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        token = await privacy.hold(
            session, user, payload, NOW, filename="big.csv", file_id="FILE-ID",
            file_digest="abc", mime_type="text/csv",
        )  # fmt: skip
        pending = await privacy.pending_import(session, user, token, NOW)
        assert pending is not None and pending.payload is None
        assert (pending.file_id, pending.digest) == ("FILE-ID", "abc")


async def test_forget_erases_every_row_about_the_user_and_nobody_elses(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        other = await make_user(session, 2)
        for someone in (user, other):
            await fill(session, someone)
            await outbox.schedule(
                session, user_id=someone.id, kind="checkin", dedupe_key=f"checkin:{someone.id}",
                due_at=NOW + timedelta(days=1), now=NOW,
            )  # fmt: skip
        # Stored as the webhook stores them (with their sender, indexed), then handled.
        for n, telegram_id in ((1, 1), (2, 2), (3, 1)):
            payload = {"update_id": n, "message": {"from": {"id": telegram_id}}}
            assert await inbox.store(session, n, payload, NOW)
        await inbox.mark_handled(session, [1, 2, 3], NOW)
        token = await privacy.begin_forget(session, user, NOW)
        assert await privacy.forget(session, user, "stale", NOW) is None
        too_late = NOW + privacy.FORGET_TTL + timedelta(seconds=1)
        assert await privacy.forget(session, user, token, too_late) is None
        user_id, others_before = user.id, await rows_of(session, other.id)
    async with sessions.begin() as session:
        user = await session.get_one(User, user_id)
        erased = await privacy.forget(session, user, token, NOW)
        assert erased is not None and erased["user_account"] == 1 and erased["quote"] == 2
    async with sessions.begin() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.c:
                if column.name in ("user_id", "telegram_id", "chat_id"):
                    value = user_id if column.name == "user_id" else 1
                    n = await session.scalar(
                        select(func.count()).select_from(table).where(column == value)
                    )
                    assert n == 0, f"{table.name}.{column.name} still refers to the user"
        left = await session.execute(select(InboundUpdate.update_id))
        assert list(left.scalars()) == [2]
        assert await rows_of(session, other.id) == others_before
        pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == user_id)
        )
        assert pending == 0


async def test_keep_closes_the_question(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        user = await make_user(session, 1)
        token = await privacy.begin_forget(session, user, NOW)
        assert await privacy.keep(session, user)
        assert not await privacy.keep(session, user)
        assert await privacy.forget(session, user, token, NOW) is None
        await privacy.begin_import(session, user, NOW)
        dialog = await privacy.import_dialog(session, user)
        assert dialog is not None and dialog.name == DialogName.IMPORT


async def test_a_confirmed_import_merged_in_slices_equals_the_whole_and_lets_others_write(
    sessions: Sessions,
) -> None:
    async with sessions.begin() as session:
        owner = await make_user(session, 1)
        await fill(session, owner)
        for n in range(40):
            day = TODAY - timedelta(days=n + 30)
            session.add(CheckIn(user_id=owner.id, local_date=day, step="done", contacts=n,
                                meetings=1, asked_at=NOW, completed_at=NOW))  # fmt: skip
            # Two identical entries a day: matched together, they must land in one slice.
            for _ in range(2):
                session.add(ActivityEntry(user_id=owner.id, local_date=day, kind="contacts",
                                          count=2, source="log", created_at=NOW))  # fmt: skip
            session.add(Quote(user_id=owner.id, client=f"Client {n}", amount=Decimal(100 + n),
                              currency="EUR", sent_on=day, expires_on=TODAY + timedelta(days=n),
                              status="open", created_at=NOW, updated_at=NOW))  # fmt: skip
        await session.flush()
        document, _ = await exported(session, owner)
        whole, sliced, other = [await make_user(session, n) for n in (2, 3, 4)]
        payload = fmt.parse_json(json.dumps(document), today=TODAY, now=NOW)
        expected = await privacy.merge(session, whole, payload, NOW, apply=True)
        token = await privacy.hold(
            session, sliced, payload, NOW, filename="a.json", file_id="F", file_digest="d",
            mime_type=None,
        )  # fmt: skip
        ids = whole.id, sliced.id, other.id
    assert len(privacy.split_import(payload, 5)) > 20

    writes: list[str] = []

    async def another_owner_taps() -> None:
        for _ in range(3):
            async with sessions.begin() as session:
                someone = await session.get_one(User, ids[2], with_for_update=True)
                someone.updated_at = NOW
            writes.append("tap")

    tapping = asyncio.create_task(another_owner_taps())
    summary = await privacy.confirm_import_in_chunks(sessions, ids[1], token, payload, NOW, chunk=5)
    writes.append("import done")
    await tapping
    assert writes.index("tap") < writes.index("import done"), "taps go in between slices"
    assert summary == expected
    assert await privacy.confirm_import_in_chunks(sessions, ids[1], token, payload, NOW) is None

    async with sessions.begin() as session:
        a, b = await rows_of(session, ids[0]), await rows_of(session, ids[1])
        for table in ("outbox_message", "dialog"):
            a.pop(table), b.pop(table)
        # The same rows, but for their owner (the user_id column, first of each row).
        assert {t: [r[1:] for r in rows] for t, rows in a.items()} == {
            t: [r[1:] for r in rows] for t, rows in b.items()
        }

        async def planned(user_id: int) -> list[tuple[Any, ...]]:
            query = select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.due_at).where(
                OutboxMessage.user_id == user_id
            )
            return sorted((tuple(r) for r in await session.execute(query)), key=repr)

        assert await planned(ids[0]) == await planned(ids[1])
        assert len([r for r in await planned(ids[1]) if r[0] == "quote_reminder"]) >= 40
