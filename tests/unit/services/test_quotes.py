"""Quote rules: reminder dates, expiry at the end of the local day, the 14-day lost rule, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import users
from bot.db.models import ActivityEntry, DialogName, OutboxMessage, OutboxStatus, Quote, User
from bot.services import quotes, schedules
from bot.services.quote_input import QuoteDraft, QuoteInputError
from bot.services.quotes import QuoteStep, Reminder, Which, reminder_plan

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MON_TO_FRI = 0b0011111
NINE = time(9, 0)
# Friday 27 November 2026, 16:00 in Paris: after the 09:00 check-in.
FRIDAY_AFTERNOON = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def at_nine_paris(day: date) -> datetime:
    """09:00 in Paris in winter, as UTC."""
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


def plan(expires_on: date, now: datetime = FRIDAY_AFTERNOON, **kw: object) -> list[Reminder]:
    return reminder_plan(
        expires_on,
        now,
        kw.get("at", NINE),  # type: ignore[arg-type]
        kw.get("days", MON_TO_FRI),  # type: ignore[arg-type]
        kw.get("tz", PARIS),  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------
# Reminder dates (pure)


def test_reminders_7_and_2_days_before_on_the_day_and_the_day_after() -> None:
    thursday = date(2026, 12, 17)
    assert plan(thursday) == [
        Reminder(Which.D7, date(2026, 12, 10), at_nine_paris(date(2026, 12, 10))),
        Reminder(Which.D2, date(2026, 12, 15), at_nine_paris(date(2026, 12, 15))),
        Reminder(Which.D0, thursday, at_nine_paris(thursday)),
        Reminder(Which.AFTER, date(2026, 12, 18), at_nine_paris(date(2026, 12, 18))),
    ]


def test_reminders_are_at_the_check_in_time_in_the_owners_zone() -> None:
    reminders = plan(date(2026, 12, 17), at=time(17, 30), tz=NEW_YORK)
    assert reminders[0].due_at == datetime(2026, 12, 10, 22, 30, tzinfo=UTC)  # 17:30 EST
    assert all(r.due_at.astimezone(NEW_YORK).time() == time(17, 30) for r in reminders)


def test_a_weekend_reminder_moves_to_the_check_in_day_before() -> None:
    # Expires Monday 14 December: 2 days before is Saturday, so Friday 11.
    reminders = plan(date(2026, 12, 14))
    assert [(r.which, r.day) for r in reminders] == [
        (Which.D7, date(2026, 12, 7)),
        (Which.D2, date(2026, 12, 11)),
        (Which.D0, date(2026, 12, 14)),
        (Which.AFTER, date(2026, 12, 15)),
    ]


def test_reminders_moved_onto_one_day_become_one_and_the_day_after_moves_forward() -> None:
    # Expires Sunday 27 December: 7 days before is Sunday 20 -> Friday 18; 2 days before is
    # Friday 25, and the expiry day itself moves to Friday 25 too: one reminder that day.
    reminders = plan(date(2026, 12, 27))
    assert [(r.which, r.day) for r in reminders] == [
        (Which.D7, date(2026, 12, 18)),
        (Which.D0, date(2026, 12, 25)),
        (Which.AFTER, date(2026, 12, 28)),  # Monday: "did they sign?" never comes early
    ]


def test_reminders_already_past_are_dropped() -> None:
    # Friday afternoon, expiring Monday: 2 days before is Saturday -> today 09:00, already past.
    reminders = plan(date(2026, 11, 30))
    assert [(r.which, r.day) for r in reminders] == [
        (Which.D0, date(2026, 11, 30)),
        (Which.AFTER, date(2026, 12, 1)),
    ]


@pytest.mark.parametrize(
    ("now", "expires_on", "expected"),
    [
        # Expiring today, after the check-in hour: one reminder now.
        (FRIDAY_AFTERNOON, date(2026, 11, 27), [Which.D0, Which.AFTER]),
        # Expiring today, before the check-in hour: still one now, not a second one at 09:00.
        (datetime(2026, 11, 27, 6, 0, tzinfo=UTC), date(2026, 11, 27), [Which.D0, Which.AFTER]),
        # Expiring tomorrow (Friday): one now, and the expiry-day one on Friday.
        (
            datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
            date(2026, 11, 27),
            [Which.D2, Which.D0, Which.AFTER],
        ),
        # Expiring tomorrow, a Saturday: its expiry-day reminder moved to today; sent now.
        (FRIDAY_AFTERNOON, date(2026, 11, 28), [Which.D0, Which.AFTER]),
    ],
)
def test_a_quote_expiring_today_or_tomorrow_gets_one_reminder_now(
    now: datetime, expires_on: date, expected: list[Which]
) -> None:
    reminders = plan(expires_on, now)
    assert [r.which for r in reminders] == expected
    assert reminders[0].due_at == now
    assert all(r.due_at > now for r in reminders[1:])
    assert reminders[-1].day == date(2026, 11, 30)  # the day after moves to Monday


def test_an_extension_to_tomorrow_sends_nothing_right_away() -> None:
    reminders = reminder_plan(
        date(2026, 11, 28), FRIDAY_AFTERNOON, NINE, MON_TO_FRI, PARIS, catch_up=False
    )
    assert [(r.which, r.day) for r in reminders] == [(Which.AFTER, date(2026, 11, 30))]


def test_no_check_in_days_keeps_the_calendar_days() -> None:
    reminders = plan(date(2026, 12, 27), days=0)
    assert [r.day for r in reminders] == [
        date(2026, 12, 20),
        date(2026, 12, 25),
        date(2026, 12, 27),
        date(2026, 12, 28),
    ]


# ---------------------------------------------------------------------------------------------
# With a database (both backends)


async def make_user(
    session: AsyncSession, telegram_id: int = 1, zone: str = "Europe/Paris", currency: str = "EUR"
) -> User:
    now = FRIDAY_AFTERNOON
    user = User(
        telegram_id=telegram_id, chat_id=telegram_id, timezone=zone, currency=currency,
        checkin_time=NINE, checkin_days=MON_TO_FRI, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    return user


def draft(client: str, amount: str, expires_on: date, currency: str | None = None) -> QuoteDraft:
    return QuoteDraft(client, Decimal(amount), currency, expires_on)


async def outbox_rows(session: AsyncSession) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.due_at)
    return list((await session.execute(query)).scalars())


async def test_register_uses_the_owners_currency_and_schedules_reminders(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont SARL", "4500", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        usd = await quotes.register(
            session, user, draft("Acme", "12000", date(2026, 12, 17), "USD"), FRIDAY_AFTERNOON
        )
    async with sessions.begin() as session:
        stored = await session.get(Quote, quote.id)
        assert stored is not None
        assert (stored.currency, stored.amount, stored.sent_on) == (
            "EUR",
            Decimal("4500.00"),
            date(2026, 11, 27),
        )
        assert (await session.get(Quote, usd.id)).currency == "USD"  # type: ignore[union-attr]
        rows = [r for r in await outbox_rows(session) if r.payload["quote_id"] == quote.id]
    assert [r.dedupe_key for r in rows] == [
        f"quote:{quote.id}:2026-12-17:{which}" for which in ("d7", "d2", "d0", "after")
    ]
    assert rows[0].due_at == at_nine_paris(date(2026, 12, 10))
    assert {r.kind for r in rows} == {quotes.REMINDER_KIND}


async def test_signed_cancels_reminders_logs_a_deal_and_counts_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "4500", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        assert await quotes.mark_signed(session, user, quote, FRIDAY_AFTERNOON)
        assert not await quotes.mark_signed(session, user, quote, FRIDAY_AFTERNOON)  # double tap
        assert not await quotes.mark_lost(session, user, quote, FRIDAY_AFTERNOON)
    async with sessions.begin() as session:
        rows = await outbox_rows(session)
        deals = (await session.execute(select(ActivityEntry))).scalars().all()
    assert {r.status for r in rows} == {OutboxStatus.CANCELLED}
    # Registering counted one proposal (issue 12: a quote is a proposal sent); Signed, one deal.
    assert sorted((d.kind, d.count, d.source, d.local_date) for d in deals) == [
        ("deals", 1, "quote", date(2026, 11, 27)),
        ("proposals", 1, "quote", date(2026, 11, 27)),
    ]


async def test_extend_moves_reminders_and_keeps_sent_ones(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "4500", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        [d7] = [r for r in await outbox_rows(session) if r.dedupe_key.endswith(":d7")]
        d7.status = OutboxStatus.SENT
        later = at_nine_paris(date(2026, 12, 10)) + timedelta(hours=1)
        new_expiry = quotes.extended_by(quote, 15, quotes.local_today(user, later))
        assert new_expiry == date(2027, 1, 1)
        await quotes.extend(session, user, quote, new_expiry, later)
    async with sessions.begin() as session:
        rows = await outbox_rows(session)
    pending = [r for r in rows if r.status == OutboxStatus.PENDING]
    assert [r.dedupe_key.split(":", 2)[2] for r in pending] == [
        "2027-01-01:d7",  # Friday 25 December
        "2027-01-01:d2",
        "2027-01-01:d0",
        "2027-01-01:after",  # Saturday 2 January -> Monday 4
    ]
    assert pending[-1].due_at == at_nine_paris(date(2027, 1, 4))
    old = {r.dedupe_key.rsplit(":", 1)[1]: r.status for r in rows if "2026-12-17" in r.dedupe_key}
    assert old == {
        "d7": OutboxStatus.SENT,
        "d2": OutboxStatus.CANCELLED,
        "d0": OutboxStatus.CANCELLED,
        "after": OutboxStatus.CANCELLED,
    }


async def test_extension_limits(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "4500", date(2027, 11, 20)), FRIDAY_AFTERNOON
        )
        today = date(2026, 11, 27)
        with pytest.raises(QuoteInputError) as too_long:
            quotes.extended_by(quote, 15, today)
        assert too_long.value.code == "validity_too_long"
        with pytest.raises(QuoteInputError) as past:
            await quotes.extend(session, user, quote, date(2026, 11, 26), FRIDAY_AFTERNOON)
        assert past.value.code == "expiry_in_past"
        # An expired quote is extended from today, not from its old expiry.
        quote.expires_on = date(2026, 11, 20)
        assert quotes.extended_by(quote, 30, today) == date(2026, 12, 27)


async def test_a_quote_is_valid_to_the_end_of_its_expiry_day_in_the_owners_zone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        paris = await make_user(session, 1)
        new_york = await make_user(session, 2, zone="America/New_York", currency="USD")
        for user in (paris, new_york):
            await quotes.register(
                session, user, draft("Dupont", "100", date(2026, 12, 1)), FRIDAY_AFTERNOON
            )
    last_paris_minute = datetime(2026, 12, 1, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Paris
    async with sessions.begin() as session:
        before = await quotes.pipeline(session, paris, last_paris_minute)
        after = await quotes.pipeline(session, paris, last_paris_minute + timedelta(seconds=1))
        ny_still = await quotes.pipeline(session, new_york, last_paris_minute + timedelta(hours=5))
        ny_after = await quotes.pipeline(session, new_york, datetime(2026, 12, 2, 5, tzinfo=UTC))
    assert len(before.open_quotes) == 1 and before.open_value == {"EUR": Decimal("100.00")}
    assert after.open_quotes == [] and len(after.expired) == 1 and after.open_value == {}
    assert len(ny_still.open_quotes) == 1 and ny_after.open_quotes == []


async def test_an_expired_quote_unanswered_for_14_days_counts_as_lost(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "100", date(2026, 12, 1)), FRIDAY_AFTERNOON
        )
        signed = await quotes.register(
            session, user, draft("Martin", "50", date(2026, 12, 1)), FRIDAY_AFTERNOON
        )
        await quotes.mark_signed(session, user, signed, FRIDAY_AFTERNOON)
    day_14 = at_nine_paris(date(2026, 12, 15))
    day_15 = at_nine_paris(date(2026, 12, 16))
    async with sessions.begin() as session:
        waiting = await quotes.pipeline(session, user, day_14)
        lost = await quotes.pipeline(session, user, day_15)
    assert [q.id for q in waiting.expired] == [quote.id]
    assert (waiting.lost_count, waiting.win_rate) == (0, 1.0)
    assert lost.expired == [] and lost.listed == []
    assert (lost.signed_count, lost.lost_count, lost.win_rate) == (1, 1, 0.5)
    assert quotes.counts_as_lost(quote, date(2026, 12, 16))
    assert not quotes.counts_as_lost(quote, date(2026, 12, 15))
    # Computed, not stored: a late "signed" still works and the quote stops counting as lost.
    async with sessions.begin() as session:
        late = await quotes.get(session, user, quote.id)
        assert late is not None and await quotes.mark_signed(session, user, late, day_15)
        assert (await quotes.pipeline(session, user, day_15)).win_rate == 1.0


async def test_pipeline_totals_per_currency_month_and_follow_ups(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    created = datetime(2026, 11, 2, 10, tzinfo=UTC)
    async with sessions.begin() as session:
        user = await make_user(session)
        a = await quotes.register(session, user, draft("A", "4500.50", date(2026, 12, 3)), created)
        await quotes.register(session, user, draft("B", "0.25", date(2026, 12, 20)), created)
        await quotes.register(session, user, draft("C", "1200", date(2026, 12, 2), "USD"), created)
        late_nov = await quotes.register(
            session, user, draft("D", "999", date(2026, 12, 9)), created
        )
        dec = await quotes.register(
            session, user, draft("E", "10", date(2026, 12, 9), "USD"), created
        )
        lost = await quotes.register(session, user, draft("F", "7", date(2026, 12, 9)), created)
        # Signed on 30 November 23:30 in Paris (22:30 UTC): November, not December.
        await quotes.mark_signed(
            session, user, late_nov, datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
        )
        await quotes.mark_signed(session, user, dec, datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
        await quotes.mark_lost(session, user, lost, datetime(2026, 12, 1, 9, tzinfo=UTC))
        await quotes.note_follow_up(a, user, datetime(2026, 12, 1, 9, tzinfo=UTC))
    async with sessions.begin() as session:
        result = await quotes.pipeline(session, user, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert [q.client for q in result.open_quotes] == ["C", "A", "B"]  # soonest expiry first
    assert result.open_value == {"EUR": Decimal("4500.75"), "USD": Decimal("1200.00")}
    assert [q.client for q in result.expiring_this_week] == ["C", "A"]
    assert result.signed_this_month == {"USD": Decimal("10.00")}
    assert (result.signed_count, result.lost_count) == (2, 1)
    assert result.win_rate == pytest.approx(2 / 3)
    assert result.without_follow_up == 2  # B and C: sent a month ago, never followed up
    page = quotes.page_of(result.listed, 5, size=2)
    assert (page.number, page.count, page.first_index, [q.client for q in page.quotes]) == (
        1,
        2,
        3,
        ["B"],
    )


async def test_nothing_closed_means_no_win_rate(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        empty = await quotes.pipeline(session, user, FRIDAY_AFTERNOON)
    assert empty.win_rate is None and empty.open_value == {} and empty.listed == []


async def test_a_user_never_reaches_another_users_quote(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        owner = await make_user(session, 1)
        other = await make_user(session, 2)
        quote = await quotes.register(
            session, owner, draft("Dupont", "100", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        assert await quotes.get(session, other, quote.id) is None
        assert await quotes.get(session, owner, quote.id) is not None
        # An extension dialog pointing at someone else's quote does nothing.
        await users.set_dialog(
            session, other, DialogName.QUOTE, QuoteStep.EXTEND, FRIDAY_AFTERNOON,
            data={"quote_id": quote.id},
        )  # fmt: skip
        dialog = await users.get_dialog(session, other)
        assert dialog is not None
        assert await quotes.extend_typed(session, other, dialog, "60", FRIDAY_AFTERNOON) is None
        assert (await quotes.pipeline(session, other, FRIDAY_AFTERNOON)).listed == []
    async with sessions.begin() as session:
        stored = await session.get(Quote, quote.id)
    assert stored is not None and stored.expires_on == date(2026, 12, 17)


async def test_a_due_reminder_rechecks_the_quote(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "100", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        rows = {r.payload["which"]: r for r in await outbox_rows(session)}
        d2_time = at_nine_paris(date(2026, 12, 15))
        assert await quotes.due_reminder(session, user, rows["d2"], d2_time) is quote
        # Too late (the dispatcher was down): dropped rather than sent stale.
        assert (
            await quotes.due_reminder(session, user, rows["d2"], d2_time + timedelta(hours=13))
            is None
        )
        # The day after: while the quote waits for an answer; not once it counts as lost.
        after = rows["after"]
        assert (
            await quotes.due_reminder(session, user, after, at_nine_paris(date(2026, 12, 18)))
            is quote
        )
        assert (
            await quotes.due_reminder(session, user, after, at_nine_paris(date(2027, 1, 1))) is None
        )
        # Extended since: the old row is about another expiry.
        quote.expires_on = date(2026, 12, 31)
        assert await quotes.due_reminder(session, user, rows["d2"], d2_time) is None
        quote.expires_on = date(2026, 12, 17)
        await quotes.mark_lost(session, user, quote, d2_time)
        assert await quotes.due_reminder(session, user, rows["d2"], d2_time) is None


async def test_reminders_follow_a_new_check_in_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "100", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        expired = await quotes.register(
            session, user, draft("Old", "100", date(2026, 11, 30)), FRIDAY_AFTERNOON
        )
        user.checkin_time = time(17, 30)
        later = datetime(2026, 12, 2, 12, tzinfo=UTC)  # the old quote has expired
        for row in await outbox_rows(session):  # what the dispatcher sent by then
            if row.due_at <= later:
                row.status = OutboxStatus.SENT
        await session.flush()
        result = await schedules.sync(session, user, later, (schedules.Series.REMINDERS,))
        assert {key.split(":")[1] for key in result.added} == {str(quote.id)}
        rows = await outbox_rows(session)
    pending = [r for r in rows if r.status == OutboxStatus.PENDING]
    assert {r.payload["quote_id"] for r in pending} == {quote.id}  # nothing re-sent for "Old"
    assert all(r.due_at.astimezone(PARIS).time() == time(17, 30) for r in pending)
    assert [r.payload["which"] for r in pending] == ["d7", "d2", "d0", "after"]
    assert expired.id != quote.id


async def test_deleting_cancels_reminders(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        quote = await quotes.register(
            session, user, draft("Dupont", "100", date(2026, 12, 17)), FRIDAY_AFTERNOON
        )
        await quotes.delete(session, user, quote)
    async with sessions.begin() as session:
        assert (await session.execute(select(Quote))).scalars().all() == []
        assert {r.status for r in await outbox_rows(session)} == {OutboxStatus.CANCELLED}


async def test_the_guided_quote_lives_in_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user = await make_user(session)
        await quotes.start_guided(session, user, FRIDAY_AFTERNOON)
        await quotes.answer_client(session, user, "  « Dupont & <Fils> 🦄 »  ", FRIDAY_AFTERNOON)
    # A new session (another process) picks up where the last one stopped.
    async with sessions.begin() as session:
        user = await session.get(User, user.id)  # type: ignore[assignment]
        dialog = await quotes.open_dialog(session, user, FRIDAY_AFTERNOON)
        assert dialog is not None and dialog.step == QuoteStep.AMOUNT
        with pytest.raises(QuoteInputError):
            await quotes.answer_amount(session, user, dialog, "-3", FRIDAY_AFTERNOON)
        assert dialog.step == QuoteStep.AMOUNT  # bad input moved nothing
        await quotes.answer_amount(session, user, dialog, "4 500,50", FRIDAY_AFTERNOON)
    async with sessions.begin() as session:
        dialog = await quotes.open_dialog(session, user, FRIDAY_AFTERNOON)
        assert dialog is not None and dialog.step == QuoteStep.VALIDITY
        assert await quotes.open_dialog(session, user, FRIDAY_AFTERNOON + timedelta(days=2)) is None
        quote = await quotes.finish_guided(
            session, user, dialog, date(2026, 12, 27), FRIDAY_AFTERNOON
        )
        assert quote is not None
        assert (quote.client, quote.amount, quote.currency) == (
            "Dupont & <Fils> 🦄",
            Decimal("4500.50"),
            "EUR",
        )
        assert await users.get_dialog(session, user) is None
