"""Owners' data through the sandbox: /export, /import, /forget, /privacy, and button isolation."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import privacy as privacy_queries
from bot.db.models import Base, Dialog, OutboxMessage, Quote, User
from bot.delivery.rate_limit import PacedRateLimiter
from bot.i18n import command_name
from bot.sandbox import BotApiSandbox, SandboxUser
from bot.sandbox.models import inline_buttons
from bot.services import data_format
from tests.e2e.conftest import Bot, say, tap
from tests.e2e.test_checkin import onboard

# Friday 27 November 2026, 09:00 in Paris.
FRIDAY_MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
CONFIRM = {"en": "✅ Import", "fr": "✅ Importer"}
CANCEL = {"en": "✖ Cancel", "fr": "✖ Annuler"}

# Many steps in a row in one chat: without this the 1-a-second pacing of a chat makes replies
# arrive after the next step began (see `unpaced`).
pytestmark = pytest.mark.usefixtures("unpaced")


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def unpaced(sandbox: BotApiSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """No flood limits: tests that press hundreds of buttons in one chat measure isolation, not
    pacing (the rate limiter and the sandbox's flood control have their own tests)."""
    sandbox.flood_control = False

    async def send_now(
        self: PacedRateLimiter, chat_id: object, callback: Any, args: Any, kwargs: Any
    ) -> Any:
        return await callback(*args, **kwargs)

    monkeypatch.setattr(PacedRateLimiter, "_paced", send_now)


async def user_row(engine: AsyncEngine, telegram_id: int) -> Any:
    async with engine.connect() as conn:
        query = select(User.__table__).where(User.telegram_id == telegram_id)
        return (await conn.execute(query)).one_or_none()


async def rows_about(
    engine: AsyncEngine, telegram_id: int, *, data_only: bool = False
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table about one user (their account row included); `data_only`:
    only the tables of their data (not the open dialog, not the account)."""
    account = await user_row(engine, telegram_id)
    found: dict[str, list[tuple[Any, ...]]] = {}
    if account is None:
        return found
    async with engine.connect() as conn:
        if not data_only:
            found["user_account"] = [tuple(account)]
        for table in privacy_queries.user_tables():
            if data_only and table.name == "dialog":
                continue
            query = select(table).where(table.c.user_id == account.id)
            found[table.name] = sorted((tuple(r) for r in await conn.execute(query)), key=repr)
    return found


async def refers_to(engine: AsyncEngine, user_id: int, telegram_id: int) -> list[str]:
    """Tables (and columns) that still hold a row referring to a user."""
    found = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for column in table.c:
                value = {"user_id": user_id, "telegram_id": telegram_id, "chat_id": telegram_id}
                if column.name in value:
                    query = (
                        select(func.count()).select_from(table).where(column == value[column.name])
                    )
                    if (await conn.execute(query)).scalar_one():
                        found.append(f"{table.name}.{column.name}")
    return found


async def export_files(user: SandboxUser, sandbox: BotApiSandbox) -> tuple[dict[str, Any], bytes]:
    """/export: the JSON (as a dict) and the CSV (bytes) the bot sends."""
    await sandbox.wait_idle(timeout=10)
    user.skip_pending()
    first = await say(user, sandbox, "/export")
    second = await user.next_message(timeout=10)
    await sandbox.wait_idle(timeout=10)
    assert "document" in first and "document" in second, user.transcript(last=12)
    documents = {m["document"]["file_name"]: m for m in (first, second)}
    json_message = next(m for name, m in documents.items() if name.endswith(".json"))
    csv_message = next(m for name, m in documents.items() if name.endswith(".csv"))
    assert json_message["caption"] and csv_message["caption"]
    document = json.loads(sandbox.file_of(json_message).data or b"")
    user.skip_pending()  # a French owner's `;` copy for Excel (its own test below)
    return document, sandbox.file_of(csv_message).data or b""


@pytest.mark.parametrize(("lang", "copies"), [("fr", 1), ("en", 0)])
async def test_a_french_owner_also_gets_a_csv_that_french_excel_opens_in_columns(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, lang: str, copies: int
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    user = sandbox.user(660 if lang == "fr" else 661, first_name="Lou", language_code=lang)
    await onboard(user, sandbox, engine, zone="Paris" if lang == "fr" else "London")
    await say(user, sandbox, "/log 3 appels" if lang == "fr" else "/log 3 calls")
    await say(user, sandbox, "/exporter" if lang == "fr" else "/export")
    await sandbox.wait_idle(timeout=10)
    documents = [m for m in user.messages if "document" in m]
    excel = [m for m in documents if m["document"]["file_name"].endswith("-excel.csv")]
    assert len(documents) == 2 + copies and len(excel) == copies
    if not copies:
        return
    content = sandbox.file_of(excel[0]).data or b""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(data_format.CSV_COLUMNS)
    assert rows[1][1] == "3" and len(rows[1]) == len(data_format.CSV_COLUMNS)
    assert "Excel" in excel[0]["caption"]


async def send_file(
    user: SandboxUser, sandbox: BotApiSandbox, name: str, data: bytes, mime: str = "text/csv"
) -> dict[str, Any]:
    await user.send_document(name, data, mime)
    reply = await user.next_message(timeout=10)
    await sandbox.wait_idle(timeout=10)
    return reply


async def confirm(
    user: SandboxUser, sandbox: BotApiSandbox, preview: dict[str, Any], lang: str = "en"
) -> dict[str, Any]:
    """Tap Confirm under an import preview; the message once it says the import is done."""
    await user.press(preview, CONFIRM[lang])
    return await user.wait_for(
        lambda m: m["message_id"] == preview["message_id"] and m["text"].startswith("✅"),
        timeout=30,
    )


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """An export without who it belongs to and when it was made or set up."""
    document = json.loads(json.dumps(document))
    del document["exported_at"]
    for key in ("first_name", "telegram_id", "chat_id", "created_at", "onboarded_at"):
        document["profile"].pop(key)
    return document


async def busy_owner(
    user: SandboxUser, sandbox: BotApiSandbox, bot: Bot, engine: AsyncEngine
) -> None:
    """A French owner with two check-ins, /log, two quotes (one signed), a plan, a goal and a
    quiz verdict, all made through the bot."""
    bot.clock.set(FRIDAY_MORNING - timedelta(days=1))
    await onboard(user, sandbox, engine)
    for day in (1, 0):
        bot.clock.set(FRIDAY_MORNING - timedelta(days=day) + timedelta(hours=2))
        await say(user, sandbox, "/point")
        await tap(user, sandbox, "3")
        await tap(user, sandbox, "1")
        await tap(user, sandbox, "0")  # no plan yet: no block question, and 3 contacts is fine
    await say(user, sandbox, "/noter 2 appels")
    await say(user, sandbox, '/devis "Zyx Secret & <Fils>" 98 765 € 30j')
    await say(user, sandbox, "/devis Bêta 1 200 € 15j")
    await say(user, sandbox, "/mesdevis")
    await tap(user, sandbox, "✅ 1")
    await say(user, sandbox, "/planifier mardi jeudi 9h-10h")
    await sandbox.wait_idle(timeout=10)
    user.skip_pending()  # the plan's calendar file
    await say(user, sandbox, "/objectif 5 Secret reward: un dîner")
    question = await say(user, sandbox, "/diagnostic")
    for _ in range(20):
        first = user.buttons(question)[0][0] if user.buttons(question) else ("", "")
        if not (first[1] or "").startswith("diag:"):
            break
        question = await tap(user, sandbox, first[0], message=question)
    await sandbox.wait_idle(timeout=10)
    user.skip_pending()


# ---------------------------------------------------------------------------------------------
# Export and import


async def test_export_then_import_into_a_fresh_user_gives_the_same_data_back(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    camille = sandbox.user(601, first_name="Camille", language_code="fr")
    await busy_owner(camille, sandbox, bot, engine)
    document, csv_bytes = await export_files(camille, sandbox)

    assert document["schema_version"] == 1
    assert len(document["checkins"]) == 2 and len(document["quotes"]) == 2
    assert len(document["plan"]["blocks"]) == 2 and len(document["goals"]) == 1
    assert {d["type"] for d in document["diagnoses"]} <= set(data_format.DIAGNOSIS_TYPES)
    assert document["diagnoses"] and all(d["date"] for d in document["diagnoses"])
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert tuple(rows[0]) == data_format.CSV_COLUMNS
    assert rows[1:] == [
        ["2026-11-26", "3", "1", "0", "0", "", ""],  # no block planned yet: not asked
        # + /log 2 calls; the two /devis are the day's 2 proposals (counted once); 1 signed
        ["2026-11-27", "5", "1", "2", "1", "", ""],
    ]

    # Sam never used the bot: the import sets him up with Camille's settings (French).
    sam = sandbox.user(602, first_name="Sam", language_code="en")
    asked = await say(sam, sandbox, "/import")
    assert "/export" in asked["text"] and ".csv" in asked["text"]
    preview = await send_file(
        sam, sandbox, "export.json", json.dumps(document).encode(), "application/json"
    )
    assert "2 days of activity" in preview["text"] and "2 quotes" in preview["text"]
    assert "Europe/Paris" in preview["text"]
    assert await user_row(engine, 602) is not None
    before = await rows_about(engine, 602)
    assert before["quote"] == [] and before["checkin"] == []  # nothing before Confirm
    done = await confirm(sam, sandbox, preview)
    assert done["text"].startswith("✅ C'est importé")  # his settings are now in French
    again, again_csv = await export_files(sam, sandbox)
    assert comparable(again) == comparable(document)
    assert again_csv == csv_bytes

    # The same file again: nothing new, nothing changed.
    state = await rows_about(engine, 602)
    await say(sam, sandbox, "/import")
    same = await send_file(
        sam, sandbox, "export.json", json.dumps(document).encode(), "application/json"
    )
    assert "rien à importer" in same["text"] and not sam.buttons(same)
    assert await rows_about(engine, 602) == state

    # The CSV alone into a third owner gives the same daily activity.
    lee = sandbox.user(603, first_name="Lee", language_code="en")
    await say(lee, sandbox, "/import")
    preview = await send_file(lee, sandbox, "activity.csv", csv_bytes)
    assert "2 days of activity" in preview["text"]
    await confirm(lee, sandbox, preview)
    _, lee_csv = await export_files(lee, sandbox)
    assert lee_csv == csv_bytes


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_invalid_files_name_their_first_problems_and_import_nothing(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, lang: str
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    user = sandbox.user(610, first_name="Eve", language_code=lang)
    await onboard(user, sandbox, engine, zone="Paris")
    await say(user, sandbox, "/import")
    state = await rows_about(engine, 610)
    header = ",".join(data_format.CSV_COLUMNS)
    line, column = ("Line", "column") if lang == "en" else ("Ligne", "colonne")
    cases: list[tuple[str, bytes, str, list[str]]] = [
        ("neg.csv", f"{header}\n2026-11-20,1,0,0,0,,\n2026-11-21,-3,0,0,0,,\n".encode(), "text/csv",
         [f"{line} 3, {column} 2 (contacts)", "-3"]),
        ("future.csv", f"{header}\n2027-01-05,1,0,0,0,,\n".encode(), "text/csv",
         [f"{line} 2, {column} 1 (date)", "2027-01-05"]),
        ("cols.csv", b"day,calls\n2026-11-20,3\n", "text/csv", [f"{line} 1, {column} 1", "day"]),
        ("broken.json", b'{"schema_version": 1,\n "quotes": [}', "application/json",
         [f"{line} 2, {column} 13"]),
        ("sheet.xlsx", b"PK\x03\x04", "application/vnd.ms-excel.sheet", ["sheet.xlsx"]),
        ("big.csv", header.encode() + b"\n" + b" " * data_format.MAX_FILE_BYTES, "text/csv",
         ["5 MB" if lang == "en" else "5 Mo"]),
    ]  # fmt: skip
    for name, content, mime, expected in cases:
        refused = await send_file(user, sandbox, name, content, mime)
        assert refused["text"].startswith("❌"), name
        for words in expected:
            assert words in refused["text"], (name, words, refused["text"])
        assert await rows_about(engine, 610) == state, name


async def test_cancel_and_a_stale_confirm_import_nothing(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    user = sandbox.user(620, first_name="Ada", language_code="en")
    await onboard(user, sandbox, engine, zone="London")
    state = await rows_about(engine, 620, data_only=True)
    csv_bytes = data_format.export_csv(
        [data_format.DayRecord(FRIDAY_MORNING.date(), 4, 0, 0, 0, None, None)]
    )
    await say(user, sandbox, "/import")
    waiting = await say(user, sandbox, "here it is")
    assert "waiting for a file" in waiting["text"]
    preview = await send_file(user, sandbox, "a.csv", csv_bytes)
    cancelled = await tap(user, sandbox, CANCEL["en"], message=preview)
    assert "nothing was imported" in cancelled["text"]
    query = await user.press(preview, CONFIRM["en"])  # the old keyboard
    answered = await user.wait_for_answer(query)
    assert answered.answer_text == "This button has expired."
    await sandbox.wait_idle(timeout=10)
    # A file sent without /import is checked and shown too; a newer file replaces the older.
    first = await send_file(user, sandbox, "a.csv", csv_bytes)
    second = await send_file(user, sandbox, "b.csv", csv_bytes.replace(b",4,", b",5,"))
    query = await user.press(first, CONFIRM["en"])
    assert (await user.wait_for_answer(query)).answer_text == "This button has expired."
    await sandbox.wait_idle(timeout=10)
    assert await rows_about(engine, 620, data_only=True) == state
    await confirm(user, sandbox, second)
    _, exported = await export_files(user, sandbox)
    assert b"2026-11-27,5,0,0,0,," in exported


async def test_a_large_file_is_fetched_again_and_checked_on_confirm(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    user = sandbox.user(630, first_name="Max", language_code="en")
    first_day = datetime(2003, 1, 1, tzinfo=UTC).date()
    days = [
        data_format.DayRecord(first_day + timedelta(days=n), n % 50, 1, 0, n % 2, "yes", None)
        for n in range(8000)
    ]
    csv_bytes = data_format.export_csv(days)
    await say(user, sandbox, "/import")
    preview = await send_file(user, sandbox, "years.csv", csv_bytes)
    assert "8,000 days of activity" in preview["text"]
    account = await user_row(engine, 630)
    async with engine.connect() as conn:
        data = (
            await conn.execute(select(Dialog.data).where(Dialog.user_id == account.id))
        ).scalar_one()
    assert "payload" not in data and data["file_id"]  # too big for the row: the file's id
    done = await confirm(user, sandbox, preview)
    assert "Imported: 8,000 days" in done["text"]
    _, exported = await export_files(user, sandbox)
    assert exported == csv_bytes


# ---------------------------------------------------------------------------------------------
# Forget and privacy


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_forget_erases_every_row_and_start_begins_fresh(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine, lang: str
) -> None:
    bot.clock.set(FRIDAY_MORNING)
    user = sandbox.user(640, first_name="Noa", language_code=lang)
    other = sandbox.user(641, first_name="Kim", language_code=lang)
    for someone in (user, other):
        await onboard(someone, sandbox, engine, zone="Paris")
        await say(someone, sandbox, "/log 3 calls")
        await say(someone, sandbox, "/quote Dupont 4500 EUR 30d")
    others = await rows_about(engine, 641)
    account = await user_row(engine, 640)
    async with engine.connect() as conn:
        pending = await conn.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.user_id == account.id)
        )
        assert pending.scalar_one() > 0  # a check-in and quote reminders are planned

    asked = await say(user, sandbox, "/forget")
    assert "/export" in asked["text"]
    kept = await tap(user, sandbox, "Keep my data" if lang == "en" else "Garder mes données")
    assert "❌" not in kept["text"] and await user_row(engine, 640) is not None
    asked = await say(user, sandbox, "/oublier" if lang == "fr" else "/forget")
    erase = "🗑 Yes, erase everything" if lang == "en" else "🗑 Oui, tout effacer"
    done = await tap(user, sandbox, erase, message=asked)
    assert done["text"].startswith("🗑")
    again = await user.press(asked, erase)  # a second tap, on the old keyboard
    assert (await user.wait_for_answer(again)).answer_text in (
        "This button has expired.", "Ce bouton n'est plus valable.",
    )  # fmt: skip
    await sandbox.wait_idle(timeout=10)
    assert await refers_to(engine, account.id, 640) == []  # and no new account made by the tap
    assert await rows_about(engine, 641) == others
    await bot.tick()  # nothing is left to send them
    assert user.last_message == done

    welcome = await say(user, sandbox, "/start")
    assert user.buttons(welcome)  # the first onboarding question again
    fresh = await user_row(engine, 640)
    assert fresh is not None and fresh.onboarded_at is None


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_privacy_says_what_is_kept_and_help_lists_the_commands(
    bot: Bot, sandbox: BotApiSandbox, lang: str
) -> None:
    user = sandbox.user(650, first_name="Ivy", language_code=lang)
    text = (await say(user, sandbox, "/privacy"))["text"]
    keys = ("export", "import", "forget", "privacy")
    names = {key: "/" + command_name(key, lang) for key in keys}
    for key in ("export", "import", "forget"):
        assert names[key] in text
    help_text = (await say(user, sandbox, "/help"))["text"]
    for key in ("export", "import", "forget", "privacy"):
        assert names[key] in help_text


# ---------------------------------------------------------------------------------------------
# Isolation: every button of one owner, replayed by another


def callback_data_in(sandbox: BotApiSandbox, chat_id: int) -> dict[str, int]:
    """Every callback data the bot ever showed in a chat (old keyboards too) -> the newest
    message that showed it; newest messages first, each message's buttons in reading order."""
    found: dict[str, int] = {}
    for stored in reversed(sandbox.transcript(chat_id)):
        versions = [stored.buttons, *(inline_buttons(v) for v in reversed(stored.history))]
        for rows in versions:
            for row in rows:
                for _, data in row:
                    if data and data not in found:
                        found[data] = stored.message_id
    return found


def kind_of(data: str) -> str:
    """A button's kind: its feature and action, and the words of its argument (not ids, dates,
    numbers or tokens): "set:open:language", "plan:did:skipped", "quote:sign"."""
    feature, action, arg = (data.split(":", 2) + ["", ""])[:3]
    words = [part for part in arg.split("|") if re.fullmatch(r"[a-z_]{2,16}", part)]
    return ":".join([feature, action, *words])


NEVER_PRESSED_BY_THE_OWNER = ("data:fgt",)  # the crawl must not erase the owner it explores


async def test_no_button_of_one_owner_reaches_another_owners_rows(
    bot: Bot, sandbox: BotApiSandbox, engine: AsyncEngine
) -> None:
    """The owner (A) goes everywhere the bot has buttons: onboarding, settings, check-ins, /log,
    quotes, plan, goal, quiz and coaching, import, forget. Each time new buttons appear, another
    owner (B) sends every one of their payloads as a forged press on B's own message; A's rows
    must not move and B must see nothing of A's."""
    alpha = sandbox.user(660, first_name="Alpha", language_code="fr")
    beta = sandbox.user(661, first_name="Beta", language_code="en")
    await onboard(beta, sandbox, engine, zone="London")
    await say(beta, sandbox, "/quote Beta Corp 500 USD 30d")
    target = await say(beta, sandbox, "/help")  # B's own message that B's forged presses carry
    replayed: set[str] = set()

    async def settled_rows() -> dict[str, list[tuple[Any, ...]]]:
        """A's rows once A's last action is done: a handler still thinking makes no API call,
        so quiet alone is not proof; two equal reads a moment apart are."""
        rows = await rows_about(engine, 660)
        while True:
            await sandbox.wait_idle(timeout=10, settle=0.2)
            again = await rows_about(engine, 660)
            if again == rows:
                return rows
            rows = again

    async def replay_new() -> None:
        await sandbox.wait_idle(timeout=10)
        fresh = [d for d in callback_data_in(sandbox, alpha.chat_id) if d not in replayed]
        if not fresh:
            return
        before = await settled_rows()
        for data in fresh:
            query = await beta.send_callback(target, data)
            await beta.wait_for_answer(query, timeout=10)
            # Settled before the next press: it must carry the message as it now stands.
            await sandbox.wait_idle(timeout=10, settle=0.02)
        assert await rows_about(engine, 660) == before, f"B's presses changed A's rows: {fresh}"
        replayed.update(fresh)

    async def step(action: Callable[[], Awaitable[object]]) -> None:
        await action()
        await sandbox.wait_idle(timeout=10)
        await replay_new()

    def last_message_id() -> int:
        chat = sandbox.transcript(alpha.chat_id)
        return chat[-1].message_id if chat else 0

    async def explore(pressed: set[str], since: int = 0) -> None:
        """Press each new kind of button once, as A, on messages after `since`, newest first:
        a flow is followed while it is open, and the keyboards behind each button are reached."""
        for _ in range(100):
            todo = [
                (data, message_id)
                for data, message_id in callback_data_in(sandbox, alpha.chat_id).items()
                if message_id > since
                and kind_of(data) not in pressed
                and not data.startswith(NEVER_PRESSED_BY_THE_OWNER)
            ]
            if not todo:
                return
            data, message_id = todo[0]
            pressed.add(kind_of(data))
            await step(lambda data=data, message_id=message_id: alpha.press(message_id, data))

    # Everything A can reach from commands and scheduled messages.
    bot.clock.set(FRIDAY_MORNING)
    await say(alpha, sandbox, "/start")
    await replay_new()  # onboarding buttons, before A answers them
    await step(lambda: onboard(alpha, sandbox, engine))
    file = data_format.export_csv(
        [data_format.DayRecord(date(2026, 11, 20), 4, 0, 0, 0, "no", "busy")]
    )
    script = (
        "/settings", "/checkin", "/log", "/log 2 calls", '/quote "Zyx Secret" 98765 EUR 30d',
        "/quote Secret Two 1200 EUR 10d", "/quote", "Secret Guided", "700", "/quotes",
        "/plan vendredi 15h-16h", "/plan", "/goal 5 Secret reward", "/goal", "/diagnose",
        "/stats", "/import", "/forget", "/privacy",
    )  # fmt: skip
    for command in script:
        await step(lambda command=command: say(alpha, sandbox, command))
    await step(lambda: alpha.send_document("secret.csv", file, "text/csv"))
    for _ in range(25):  # scheduled messages over the next days: check-ins, pings, reminders
        async with engine.connect() as conn:
            query = select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == "pending")
            due = (await conn.execute(query)).scalar_one()
        due = due.replace(tzinfo=UTC) if due is not None and due.tzinfo is None else due
        if due is None or due > FRIDAY_MORNING + timedelta(days=9):
            break
        bot.clock.set(max(due, bot.clock.now()) + timedelta(seconds=1))
        await step(bot.tick)
    everywhere: set[str] = set()
    await explore(everywhere)
    # Once more, each flow followed from its command while it is open (presses above closed some).
    for command in script:
        since = last_message_id()
        await step(lambda command=command: say(alpha, sandbox, command))
        await explore(set(), since)
    since = last_message_id()
    await step(lambda: alpha.send_document("secret.csv", file, "text/csv"))
    await explore(set(), since)
    kinds = {kind_of(d) for d in replayed}
    features = {k.split(":")[0] for k in kinds}
    assert {"pref", "set", "ci", "log", "quote", "plan", "goal", "diag", "data"} <= features
    assert {"data:imp", "data:impno", "data:fgt", "data:fgtno"} <= kinds

    # B saw nothing of A's: no text, caption or file of B's chat holds A's words.
    for stored in sandbox.transcript(beta.chat_id):
        seen = (stored.text or "") + (stored.caption or "")
        if stored.file is not None and stored.file.data:
            seen += stored.file.data.decode("utf-8", "replace")
        assert "Secret" not in seen and "Zyx" not in seen and "Alpha" not in seen, seen
    beta_id = (await user_row(engine, 661)).id
    async with engine.connect() as conn:
        clients = await conn.execute(select(Quote.client).where(Quote.user_id == beta_id))
    assert list(clients.scalars()) == ["Beta Corp"]
