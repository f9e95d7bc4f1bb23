"""The export files and the import checks: exact CSV columns, round trips, line/column errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services import data_format as fmt
from bot.services.data_format import (
    CSV_COLUMNS,
    PROBLEM_CODES,
    ActivityRecord,
    BlockRecord,
    BlockSessionRecord,
    CheckInRecord,
    DayRecord,
    DiagnosisRecord,
    GoalRecord,
    Identity,
    ImportRefused,
    OwnerData,
    ProfileRecord,
    QuoteRecord,
)

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
PROFILE = ProfileRecord("fr", "Europe/Paris", time(9), 0b0011111, "EUR", None, True)
IDENTITY = Identity("Camille", 201, 201, datetime(2026, 10, 1, 7, tzinfo=UTC), NOW)


def owner() -> OwnerData:
    asked = datetime(2026, 11, 20, 8, 0, 5, 123456, tzinfo=UTC)
    return OwnerData(
        identity=IDENTITY,
        profile=PROFILE,
        checkins=[
            CheckInRecord(date(2026, 11, 20), 3, 1, 0, "no", "busy", None, asked, asked),
            CheckInRecord(date(2026, 11, 23), 6, None, None, None, None, None, asked, None),
            CheckInRecord(date(2026, 11, 24), 0, 0, 0, "no", "other", "Salon <b>&", asked, asked),
        ],
        activity=[
            ActivityRecord(date(2026, 11, 20), "contacts", 2, "log", asked),
            ActivityRecord(date(2026, 11, 21), "deals", 1, "quote", asked),
            ActivityRecord(date(2026, 11, 21), "meetings", 4, "import", asked),
        ],
        quotes=[
            QuoteRecord(
                "Dupont & Fils «SARL»", Decimal("4500.50"), "EUR", date(2026, 11, 2),
                date(2026, 12, 2), "open", None, date(2026, 11, 20), asked,
            ),
            QuoteRecord(
                "Acme", Decimal("12"), "USD", date(2026, 10, 1), date(2026, 10, 31), "signed",
                date(2026, 10, 15), None, asked,
            ),
        ],
        blocks=[BlockRecord(1, time(9), 60), BlockRecord(3, time(14, 30), 90)],
        block_sessions=[
            BlockSessionRecord(date(2026, 11, 24), time(9), "done", None, asked),
            BlockSessionRecord(date(2026, 11, 26), time(14, 30), "skipped", "busy", asked),
        ],
        goals=[
            GoalRecord(10, "Un bon resto 🍽", date(2026, 11, 2), False, None, asked),
            GoalRecord(15, "Weekend off", date(2026, 11, 16), True, date(2026, 11, 16), asked),
        ],
        diagnoses=[
            DiagnosisRecord(
                date(2026, 11, 20), "unaware", "data", 0.75, {"signals": ["a", 1]}, asked
            ),
            DiagnosisRecord(date(2026, 11, 24), "on_track", "quiz", 1.0, {}, asked),
        ],
    )  # fmt: skip


def refused(data: bytes | str, name: str = "data.csv", mime: str | None = None) -> ImportRefused:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ImportRefused) as caught:
        fmt.parse_file(raw, name, mime, today=TODAY, now=NOW)
    assert {p.code for p in caught.value.problems} <= set(PROBLEM_CODES)
    return caught.value


def first(data: bytes | str, name: str = "data.csv") -> tuple[str, int | None, int | None]:
    problem = refused(data, name).problems[0]
    return problem.code, problem.line, problem.column


def csv_text(*rows: str) -> str:
    return "\n".join([",".join(CSV_COLUMNS), *rows]) + "\n"


# ---------------------------------------------------------------------------------------------
# Export


def test_the_csv_has_exactly_the_columns_with_a_bom_and_crlf() -> None:
    data = owner()
    content = fmt.export_csv(fmt.daily_rows(data.checkins, data.activity))
    assert content.startswith("\ufeff".encode())
    text = content.decode("utf-8-sig")
    assert text.split("\r\n")[0] == "date,contacts,meetings,proposals,deals,plan_block_done,reason"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [
        ["2026-11-20", "5", "1", "0", "0", "no", "busy"],  # check-in 3 + /log 2
        ["2026-11-21", "0", "4", "0", "1", "", ""],  # activity only: no check-in answers
        ["2026-11-23", "6", "0", "0", "0", "", ""],  # an unfinished check-in
        ["2026-11-24", "0", "0", "0", "0", "no", "other"],
    ]


def test_the_json_has_a_schema_version_and_every_part() -> None:
    document = json.loads(fmt.export_json(owner(), NOW))
    assert document["schema_version"] == 1
    assert set(document) >= {
        "profile", "checkins", "activity", "quotes", "plan", "goals", "diagnoses",
    }  # fmt: skip
    assert document["quotes"][0]["amount"] == "4500.50"
    assert document["profile"]["checkin_days"] == [
        "monday", "tuesday", "wednesday", "thursday", "friday",
    ]  # fmt: skip
    assert [d["type"] for d in document["diagnoses"]] == ["unaware", "on_track"]
    assert document["diagnoses"][0]["date"] == "2026-11-20"
    assert document["plan"]["blocks"][1] == {
        "weekday": "thursday", "start_time": "14:30", "duration_minutes": 90,
    }  # fmt: skip


def test_the_json_reads_back_into_the_same_records() -> None:
    data = owner()
    payload = fmt.parse_file(fmt.export_json(data, NOW), "x.json", None, today=TODAY, now=NOW)
    assert payload.format == "json"
    assert payload.profile == PROFILE
    assert payload.checkins == data.checkins
    assert sorted(payload.activity, key=repr) == sorted(data.activity, key=repr)
    assert payload.quotes == data.quotes
    assert payload.blocks == data.blocks
    assert payload.block_sessions == data.block_sessions
    assert payload.goals == data.goals
    assert payload.diagnoses == data.diagnoses


def test_a_pending_payload_survives_its_storage_in_the_dialog_row() -> None:
    json_payload = fmt.parse_json(fmt.export_json(owner(), NOW).decode(), today=TODAY, now=NOW)
    stored = json.loads(json.dumps(fmt.to_storage(json_payload)))
    assert fmt.from_storage(stored, today=TODAY, now=NOW) == json_payload
    csv_payload = fmt.parse_csv(csv_text("2026-11-20,1,2,3,4,yes,"), today=TODAY)
    stored = json.loads(json.dumps(fmt.to_storage(csv_payload)))
    assert fmt.from_storage(stored, today=TODAY, now=NOW) == csv_payload


days_strategy = st.lists(
    st.builds(
        DayRecord,
        date=st.dates(min_value=fmt.MIN_DATE, max_value=TODAY),
        contacts=st.integers(0, fmt.MAX_DAILY),
        meetings=st.integers(0, fmt.MAX_DAILY),
        proposals=st.integers(0, fmt.MAX_DAILY),
        deals=st.integers(0, fmt.MAX_DAILY),
        plan_block_done=st.sampled_from([None, *fmt.BLOCK_ANSWERS]),
        reason=st.sampled_from([None, *fmt.REASONS]),
    ),
    unique_by=lambda d: d.date,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(days_strategy)
def test_any_csv_the_bot_writes_reads_back_the_same(days: list[DayRecord]) -> None:
    payload = fmt.parse_file(fmt.export_csv(days), "a.csv", "text/csv", today=TODAY, now=NOW)
    assert payload.days == sorted(days, key=lambda d: d.date)


@settings(max_examples=100, deadline=None)
@given(days_strategy)
def test_the_semicolon_csv_opens_in_columns_and_reads_back_the_same(days: list[DayRecord]) -> None:
    content = fmt.export_csv(days, delimiter=";")
    assert content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(fmt.CSV_COLUMNS)  # one column per field, as Excel splits it
    assert all(len(row) == len(fmt.CSV_COLUMNS) for row in rows[1:])
    payload = fmt.parse_file(content, "a-excel.csv", "text/csv", today=TODAY, now=NOW)
    assert payload.days == sorted(days, key=lambda d: d.date)
    # The documented file is unchanged: commas.
    assert fmt.export_csv(days).decode("utf-8-sig").splitlines()[0] == ",".join(fmt.CSV_COLUMNS)


# ---------------------------------------------------------------------------------------------
# CSV import


def test_a_csv_kept_by_hand_may_use_semicolons_any_order_and_blank_cells() -> None:
    text = (
        "Reason;DATE;deals;contacts;meetings;proposals;plan_block_done\r\n"
        "BUSY;2026-11-02;;3;1;0;No\r\n"
        "\r\n"
        ";2026-11-03;1;;;;\r\n"
    )
    payload = fmt.parse_file(text.encode("cp1252"), "mine.csv", None, today=TODAY, now=NOW)
    assert payload.days == [
        DayRecord(date(2026, 11, 2), 3, 1, 0, 0, "no", "busy"),
        DayRecord(date(2026, 11, 3), 0, 0, 0, 1, None, None),
    ]


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        ("2026-11-02,-3,0,0,0,,", "negative", 2),
        ("2026-11-02,2.5,0,0,0,,", "not_whole", 2),
        ("2026-11-02,three,0,0,0,,", "not_a_number", 2),
        ("2026-11-02,0,0,0,99999999,,", "too_large", 5),
        ("2026-12-25,0,0,0,0,,", "future_date", 1),
        ("1999-12-31,0,0,0,0,,", "too_old", 1),
        ("27/11/2026,0,0,0,0,,", "not_a_date", 1),
        ("2026-02-30,0,0,0,0,,", "not_a_date", 1),
        ("2026-11-02,0,0,0,0,maybe,", "not_allowed", 6),
        ("2026-11-02,0,0,0,0,,lazy", "not_allowed", 7),
        ("2026-11-02,=1+1,0,0,0,,", "not_a_number", 2),
    ],
)
def test_a_bad_cell_is_named_by_line_and_column(row: str, code: str, column: int) -> None:
    text = csv_text("2026-11-01,1,1,1,1,yes,", row)
    assert first(text) == (code, 3, column)


def test_every_bad_cell_is_counted_not_only_the_first() -> None:
    text = csv_text(*(f"2026-11-{d:02d},-1,0,0,0,," for d in range(1, 27)))
    error = refused(text)
    assert error.total == 26 and len(error.problems) == fmt.MAX_PROBLEMS_KEPT
    assert [p.line for p in error.problems[:3]] == [2, 3, 4]


def test_wrong_columns_are_refused() -> None:
    assert first("date,contacts,meetings\n2026-11-01,1,1\n") == ("missing_column", 1, None)
    code, line, column = first("date,contacts,meetings,proposals,deals,plan_block_done,why\n")
    assert (code, line, column) == ("unknown_column", 1, 7)
    assert first("date,date,contacts,meetings,proposals,deals,plan_block_done,reason\n")[0] == (
        "duplicate_column"
    )
    assert first(csv_text("2026-11-01,1,1")) == ("field_count", 2, None)


def test_a_day_twice_is_refused_with_both_lines() -> None:
    error = refused(csv_text("2026-11-01,1,0,0,0,,", "2026-11-01,2,0,0,0,,"))
    assert (error.problems[0].code, error.problems[0].line, error.problems[0].hint) == (
        "duplicate", 3, "2",
    )  # fmt: skip


def test_a_quoted_cell_over_several_lines_keeps_line_numbers_right() -> None:
    text = csv_text(
        '2026-11-01,1,0,0,0,,"busy"', '2026-11-02,1,0,0,0,,"bu\nsy"', "2026-11-03,-1,0,0,0,,"
    )
    lines = [(p.line, p.code) for p in refused(text).problems]
    assert lines == [(3, "not_allowed"), (5, "negative")]


# ---------------------------------------------------------------------------------------------
# Files that are not what they claim


def test_files_of_the_wrong_kind_size_or_encoding_are_refused() -> None:
    assert first(b"PK\x03\x04 zip", "activity.xlsx")[0] == "wrong_type"
    assert first(b"%PDF-1.7", "export.pdf")[0] == "wrong_type"
    assert first(b"", "empty.csv")[0] == "empty"
    assert first(b"date,\x00\x01", "nul.csv")[0] == "not_text"
    assert first(b'{"schema_version": 1, "x": "\xff\xfe"}', "bad.json")[0] == "not_text"
    too_big = b"a" * (fmt.MAX_FILE_BYTES + 1)
    assert first(too_big, "big.csv")[0] == "too_big"


def test_broken_json_names_the_line_and_column_of_the_break() -> None:
    text = '{\n  "schema_version": 1,\n  "quotes": [\n    {"client": "A",, }\n  ]\n}\n'
    assert first(text, "x.json") == ("not_json", 4, 20)


def test_json_that_is_not_an_export_is_refused() -> None:
    assert first("[1, 2]", "x.json")[0] == "not_export"
    assert first('{"hello": 1}', "x.json")[0] == "not_export"
    assert first('{\n "schema_version": 7}', "x.json") == ("newer_version", 2, 20)
    assert first('{"schema_version": NaN}', "x.json")[0] == "not_json"
    assert first("[" * 100_000 + "]" * 100_000, "x.json")[0] in ("too_deep", "not_export")


def test_a_wrong_json_value_is_located_at_its_line_and_column() -> None:
    document = json.loads(fmt.export_json(owner(), NOW))
    document["quotes"][1]["amount"] = "-12"
    document["checkins"][2]["contacts"] = 2.5
    document["diagnoses"][0]["type"] = "lazy"
    document["plan"]["blocks"][0]["weekday"] = "someday"
    text = json.dumps(document, indent=2)
    problems = refused(text, "x.json").problems
    found = {p.where: (p.code, p.line, p.column) for p in problems}
    lines = text.splitlines()
    for where, code in [
        ("quotes[2].amount", "negative"),
        ("checkins[3].contacts", "not_whole"),
        ("diagnoses[1].type", "not_allowed"),
        ("plan.blocks[1].weekday", "not_allowed"),
    ]:
        got_code, line, column = found[where]
        assert got_code == code
        assert line is not None and column is not None
        key = where.rsplit(".", 1)[1]
        assert lines[line - 1][column - 1 :].startswith(json.dumps(_at(document, where))), key


def _at(document: dict[str, Any], where: str) -> Any:
    value: Any = document
    for part in where.replace("]", "").replace("[", ".").split("."):
        value = value[int(part) - 1] if part.isdigit() else value[part]
    return value


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("checkins", 0, "date"), "2026-12-01", "future_date"),
        (("checkins", 1, "date"), "2026-11-20", "duplicate"),
        (("checkins", 0, "asked_at"), "yesterday", "not_a_moment"),
        (("activity", 0, "count"), -1, "negative"),
        (("activity", 0, "kind"), "calls", "not_allowed"),
        (("activity", 0, "source"), "DROP TABLE", "not_allowed"),
        (("quotes", 0, "client"), "", "required"),
        (("quotes", 0, "client"), "x" * 101, "too_long"),
        (("quotes", 0, "client"), "A\ud800", "invalid_character"),
        (("quotes", 0, "client"), 42, "not_a_string"),
        (("quotes", 0, "amount"), "1e999999", "too_large"),
        (("quotes", 0, "amount"), "NaN", "not_an_amount"),
        (("quotes", 0, "currency"), "XXY", "unknown_currency"),
        (("quotes", 0, "expires_on"), "2026-11-01", "before_sent"),
        (("quotes", 0, "status"), None, "required"),
        (("goals", 0, "active"), True, "two_active_goals"),
        (("goals", 0, "active"), "yes", "not_true_false"),
        (("goals", 0, "reward"), "nul\x00", "invalid_character"),
        (("plan", "blocks", 0, "start_time"), "23:30", "past_midnight"),
        (("plan", "blocks", 0, "duration_minutes"), 5, "too_small"),
        (("plan", "sessions", 0, "start_time"), "25:00", "not_a_time"),
        (("profile", "timezone"), "Mars/Olympus", "unknown_timezone"),
        (("profile", "checkin_days"), ["someday"], "not_allowed"),
        (("diagnoses", 0, "confidence"), 2, "not_allowed"),
        (("diagnoses", 0, "evidence"), [], "not_an_object"),
        (("quotes",), {"a": 1}, "not_a_list"),
        (("quotes", 0), "Acme", "not_an_object"),
    ],
)
def test_each_wrong_json_value_is_refused(path: tuple[Any, ...], value: Any, code: str) -> None:
    document = json.loads(fmt.export_json(owner(), NOW))
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    problems = refused(json.dumps(document, indent=1), "x.json").problems
    assert code in [p.code for p in problems]
    assert all(p.line is not None for p in problems)


def test_the_latest_day_is_today_in_the_zone_the_export_names() -> None:
    # 08:00 UTC on 27 November is already the 27th in Auckland, and still the 27th in Paris;
    # at 12:00 UTC it is the 28th in Auckland: a check-in of the 28th is then not "future".
    document = json.loads(fmt.export_json(owner(), NOW))
    document["profile"]["timezone"] = "Pacific/Auckland"
    document["checkins"][0]["date"] = "2026-11-28"
    text = json.dumps(document)
    noon = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert fmt.parse_json(text, today=TODAY, now=noon).checkins[0].date == date(2026, 11, 28)
    with pytest.raises(ImportRefused):
        fmt.parse_json(text, today=TODAY, now=NOW)


def test_locate_follows_the_last_duplicate_key_and_deep_paths() -> None:
    text = '{"a": 1, "b": [ {"c": 2}, {"c": 3, "c": [4, 5]} ], "a": "x"}'
    assert text[fmt.locate(text, ("a",)) :].startswith('"x"')
    assert text[fmt.locate(text, ("b", 1, "c", 1)) :].startswith("5")
    assert text[fmt.locate(text, ("b", 7)) :].startswith("[")  # no such item: the list itself


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.lists(st.text(st.characters(codec="utf-8"), max_size=12), max_size=9).map(
            lambda cells: (",".join(CSV_COLUMNS) + "\n" + ",".join(cells)).encode()
        ),
    ),
    st.sampled_from(["a.csv", "a.json", "a.txt", "a", "a.xlsx"]),
)
def test_any_bytes_either_parse_or_are_refused_with_known_codes(data: bytes, name: str) -> None:
    try:
        fmt.parse_file(data, name, None, today=TODAY, now=NOW)
    except ImportRefused as error:
        assert error.problems and {p.code for p in error.problems} <= set(PROBLEM_CODES)


@pytest.mark.parametrize(
    ("field", "value"),
    [("paused_until", "9999-12-31"), ("expires_on", "9999-12-31"), ("expires_on", "2031-01-01")],
)
def test_dates_past_what_the_product_plans_for_are_refused_with_their_place(
    field: str, value: str
) -> None:
    today = date(2026, 12, 1)
    doc: dict[str, Any] = {
        "schema_version": 1,
        "profile": {
            "language": "en", "timezone": "Europe/Paris", "checkin_time": "09:00",
            "checkin_days": ["monday"], "currency": "EUR", "paused_until": None,
        },
        "quotes": [
            {"client": "Dupont", "amount": "100", "currency": "EUR", "sent_on": "2026-11-30",
             "expires_on": "2026-12-30", "status": "open"}
        ],
    }  # fmt: skip
    target = doc["profile"] if field == "paused_until" else doc["quotes"][0]
    target[field] = value
    text = json.dumps(doc, indent=2)
    with pytest.raises(fmt.ImportRefused) as refused:
        fmt.parse_file(text.encode(), "x.json", "application/json", today=today, now=NOW)
    [problem] = refused.value.problems
    assert problem.code == "too_far" and problem.line == text.splitlines().index(
        next(line for line in text.splitlines() if value in line)
    ) + 1
