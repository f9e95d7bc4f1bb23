"""Tests for the quote input parsers (amount, currency, validity, one-line form)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.quote_input import (
    DEFAULT_VALIDITY_DAYS,
    ERROR_CODES,
    MAX_CLIENT_LENGTH,
    MAX_VALIDITY_DAYS,
    QuoteDraft,
    QuoteInputError,
    parse_amount,
    parse_client,
    parse_quote_line,
    parse_validity,
)

TODAY = date(2026, 11, 27)  # a Friday
D = Decimal


def _error_code(call: Callable[..., object], *args: object) -> str:
    """Return the QuoteInputError code raised by call(*args)."""
    with pytest.raises(QuoteInputError) as caught:
        call(*args)
    assert caught.value.code in ERROR_CODES
    return caught.value.code


# --- client -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dupont SARL", "Dupont SARL"),
        ("  Dupont \t  SARL \n", "Dupont SARL"),
        ('"Acme Inc"', "Acme Inc"),
        ("« Acme »", "Acme"),
        ("“Acme”", "Acme"),
        ("Café <b>&amp; Co 😀", "Café <b>&amp; Co 😀"),
        ("Bob\x00\x07 Smith", "Bob Smith"),
        ("\u200bBob\ufeff", "Bob"),
        ('"Acme" Inc', '"Acme" Inc'),
        ("O'Neil", "O'Neil"),
        ("x" * MAX_CLIENT_LENGTH, "x" * MAX_CLIENT_LENGTH),
    ],
)
def test_parse_client_accepts(text: str, expected: str) -> None:
    assert parse_client(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "no_client"),
        ("   ", "no_client"),
        ('""', "no_client"),
        ("« »", "no_client"),
        ("\x00\x01", "no_client"),
        ("x" * (MAX_CLIENT_LENGTH + 1), "client_too_long"),
        ("x" * 5000, "client_too_long"),
    ],
)
def test_parse_client_errors(text: str, code: str) -> None:
    assert _error_code(parse_client, text) == code


def test_client_too_long_details() -> None:
    with pytest.raises(QuoteInputError) as caught:
        parse_client("x" * 101)
    assert caught.value.details == {"max_length": "100"}


# --- amount -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        # plain and grouped numbers, French and English
        ("4500", D("4500"), None),
        ("4 500", D("4500"), None),
        ("4\u00a0500", D("4500"), None),
        ("4\u202f500", D("4500"), None),
        ("4'500", D("4500"), None),
        ("1 000 000", D("1000000"), None),
        ("4 500,50", D("4500.50"), None),
        ("4,500.50", D("4500.50"), None),
        ("4.500,50", D("4500.50"), None),
        ("1,000,000.25", D("1000000.25"), None),
        ("1.000.000,25", D("1000000.25"), None),
        ("4500.5", D("4500.50"), None),
        ("4500,50", D("4500.50"), None),
        ("4,5", D("4.50"), None),
        ("4.5", D("4.50"), None),
        # the d,ddd / d.ddd rule: exactly three digits after a single separator = thousands
        ("4,500", D("4500"), None),
        ("4.500", D("4500"), None),
        ("0,500", D("0.50"), None),
        ("4500,500", D("4500.50"), None),
        ("4 500,500", D("4500.50"), None),
        ("4500.-", D("4500"), None),
        # multipliers
        ("4.5k", D("4500"), None),
        ("4,5k", D("4500"), None),
        ("12K", D("12000"), None),
        ("4,5 k", D("4500"), None),
        ("1.2M", D("1200000"), None),
        ("1,2m", D("1200000"), None),
        ("1.250k", D("1250"), None),
        # currencies before or after, attached or spaced
        ("4 500 €", D("4500"), "EUR"),
        ("4500€", D("4500"), "EUR"),
        ("€4500", D("4500"), "EUR"),
        ("€ 4 500", D("4500"), "EUR"),
        ("$4,500.50", D("4500.50"), "USD"),
        ("4500 $", D("4500"), "USD"),
        ("£99.99", D("99.99"), "GBP"),
        ("CHF 4500", D("4500"), "CHF"),
        ("4500 CHF", D("4500"), "CHF"),
        ("4500EUR", D("4500"), "EUR"),
        ("4500 EUR", D("4500"), "EUR"),
        ("4500 usd", D("4500"), "USD"),
        ("4500 euros", D("4500"), "EUR"),
        ("4500 euro", D("4500"), "EUR"),
        ("10 dollars", D("10"), "USD"),
        ("US$ 10", D("10"), "USD"),
        ("10 $US", D("10"), "USD"),
        ("10 £GB", D("10"), "GBP"),
        ("CA$10", D("10"), "CAD"),
        ("4500 dh", D("4500"), "MAD"),
        ("4500 MAD", D("4500"), "MAD"),
        ("4,5k€", D("4500"), "EUR"),
        ("4,5 k€", D("4500"), "EUR"),
        ("4,5 K EUR", D("4500"), "EUR"),
        ("1,2 M$", D("1200000"), "USD"),
        ("$4500 USD", D("4500"), "USD"),
        # tax markers are ignored
        ("4500 HT", D("4500"), None),
        ("4 500 € HT", D("4500"), "EUR"),
        ("4500€ TTC", D("4500"), "EUR"),
        ("4500 + VAT", D("4500"), None),
        # rounding and bounds
        ("0.005", D("0.01"), None),
        ("12.3456", D("12.35"), None),
        ("0.01", D("0.01"), None),
        ("1000000000000", D("1000000000000"), None),
        ("1000000000000.004", D("1000000000000"), None),
        ("+500", D("500"), None),
    ],
)
def test_parse_amount_accepts(text: str, amount: Decimal, currency: str | None) -> None:
    value, code = parse_amount(text)
    assert (value, code) == (amount, currency)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "no_amount"),
        ("   ", "no_amount"),
        ("€", "no_amount"),
        ("abc", "amount_not_number"),
        ("quatre mille", "amount_not_number"),
        ("NaN", "amount_not_number"),
        ("inf", "amount_not_number"),
        ("Infinity", "amount_not_number"),
        ("1e999", "amount_not_number"),
        ("1E5", "amount_not_number"),
        ("0x10", "amount_not_number"),
        ("4 50", "amount_not_number"),
        ("800 30", "amount_not_number"),
        ("1,2.5", "amount_not_number"),
        ("1.2.3", "amount_not_number"),
        ("12,345,67", "amount_not_number"),
        ("4500 kg", "amount_not_number"),
        ("4500 abcd", "amount_not_number"),
        ("٤٥٠٠", "amount_not_number"),
        ("9" * 1001, "amount_not_number"),
        ("0", "amount_not_positive"),
        ("0,00 €", "amount_not_positive"),
        ("0.004", "amount_not_positive"),
        ("-5", "amount_not_positive"),
        ("\u22125", "amount_not_positive"),
        ("-€500", "amount_not_positive"),
        ("€-500", "amount_not_positive"),
        ("1000000000000.01", "amount_too_large"),
        ("1000000000001", "amount_too_large"),
        ("2M k", "amount_not_number"),
        ("1000001M", "amount_too_large"),
        ("9" * 500, "amount_too_large"),
        ("4500 XYZ", "currency_unknown"),
        ("XYZ 4500", "currency_unknown"),
        ("4500 xyz", "currency_unknown"),
        ("4500 FRF", "currency_unknown"),  # withdrawn in 2002
        ("4500 XXX", "currency_unknown"),
        ("€4500 USD", "currency_unknown"),
        ("-5 XYZ", "amount_not_positive"),  # amount errors come before currency errors
    ],
)
def test_parse_amount_errors(text: str, code: str) -> None:
    assert _error_code(parse_amount, text) == code


def test_currency_unknown_details() -> None:
    with pytest.raises(QuoteInputError) as caught:
        parse_amount("4500 XYZ")
    assert caught.value.details == {"currency": "XYZ"}


def test_amount_too_large_details() -> None:
    with pytest.raises(QuoteInputError) as caught:
        parse_amount("2000000000000")
    assert caught.value.details == {"max_amount": "1000000000000"}


# --- validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # numbers of days, weeks, months, years
        ("30", date(2026, 12, 27)),
        ("0", TODAY),
        ("30d", date(2026, 12, 27)),
        ("30j", date(2026, 12, 27)),
        ("30 j", date(2026, 12, 27)),
        ("30 jours", date(2026, 12, 27)),
        ("30 days", date(2026, 12, 27)),
        ("1 day", date(2026, 11, 28)),
        ("3w", date(2026, 12, 18)),
        ("3 semaines", date(2026, 12, 18)),
        ("3 weeks", date(2026, 12, 18)),
        ("une semaine", date(2026, 12, 4)),
        ("a week", date(2026, 12, 4)),
        ("2 mois", date(2027, 1, 27)),
        ("2 months", date(2027, 1, 27)),
        ("un mois", date(2026, 12, 27)),
        ("3 MOIS", date(2027, 2, 27)),
        ("1 an", date(2027, 11, 27)),
        ("1 year", date(2027, 11, 27)),
        ("365", date(2027, 11, 27)),
        # phrases around durations
        ("in 3 weeks", date(2026, 12, 18)),
        ("dans 3 semaines", date(2026, 12, 18)),
        ("d'ici 2 semaines", date(2026, 12, 11)),
        ("valable 30 jours", date(2026, 12, 27)),
        ("valid for 30 days", date(2026, 12, 27)),
        ("sous 15 jours", date(2026, 12, 12)),
        # numeric dates, day first
        ("2027-01-15", date(2027, 1, 15)),
        ("2027/01/15", date(2027, 1, 15)),
        ("15/01/2027", date(2027, 1, 15)),
        ("15-01-2027", date(2027, 1, 15)),
        ("15.01.27", date(2027, 1, 15)),
        ("01/02/2027", date(2027, 2, 1)),
        ("15/01", date(2027, 1, 15)),
        ("15/12", date(2026, 12, 15)),
        ("27/11", TODAY),
        ("2026-11-27", TODAY),
        # written dates, both languages
        ("15 janvier", date(2027, 1, 15)),
        ("15 janvier 2027", date(2027, 1, 15)),
        ("15 janv.", date(2027, 1, 15)),
        ("1er décembre", date(2026, 12, 1)),
        ("le 15 janvier", date(2027, 1, 15)),
        ("Jan 15", date(2027, 1, 15)),
        ("January 15, 2027", date(2027, 1, 15)),
        ("15 Jan", date(2027, 1, 15)),
        ("December 1st", date(2026, 12, 1)),
        ("27 novembre", TODAY),
        ("26 novembre", date(2027, 11, 26)),
        ("le 15", date(2026, 12, 15)),
        ("the 15th", date(2026, 12, 15)),
        ("le 30", date(2026, 11, 30)),
        # phrases around dates
        ("until 2027-01-15", date(2027, 1, 15)),
        ("expires 2027-01-15", date(2027, 1, 15)),
        ("expires: 2027-01-15", date(2027, 1, 15)),
        ("jusqu'au 15 janvier", date(2027, 1, 15)),
        ("jusqu’au 15 janvier", date(2027, 1, 15)),
        ("valable jusqu'au 15/01", date(2027, 1, 15)),
        ("valid until January 15, 2027", date(2027, 1, 15)),
        # words
        ("today", TODAY),
        ("aujourd'hui", TODAY),
        ("demain", date(2026, 11, 28)),
        ("tomorrow", date(2026, 11, 28)),
        ("fin du mois", date(2026, 11, 30)),
        ("end of month", date(2026, 11, 30)),
        ("vendredi", date(2026, 12, 4)),
        ("next friday", date(2026, 12, 4)),
        ("vendredi prochain", date(2026, 12, 4)),
        ("lundi", date(2026, 11, 30)),
        ("next month", date(2026, 12, 27)),
    ],
)
def test_parse_validity_accepts(text: str, expected: date) -> None:
    assert parse_validity(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "validity_unreadable"),
        ("xyz", "validity_unreadable"),
        ("bientôt", "validity_unreadable"),
        ("31/02", "validity_unreadable"),
        ("2027-02-30", "validity_unreadable"),
        ("15/13/2027", "validity_unreadable"),
        ("le 32", "validity_unreadable"),
        ("<b>&amp;</b>", "validity_unreadable"),
        ("30 parsecs", "validity_unreadable"),
        ("15 janvier " + "x" * 200, "validity_unreadable"),
        ("x" * 2000, "validity_unreadable"),
        ("2026-11-26", "expiry_in_past"),
        ("01/01/2026", "expiry_in_past"),
        ("-3", "expiry_in_past"),
        ("3 days ago", "expiry_in_past"),
        ("il y a 3 jours", "expiry_in_past"),
        ("366", "validity_too_long"),
        ("400 jours", "validity_too_long"),
        ("53 weeks", "validity_too_long"),
        ("13 mois", "validity_too_long"),
        ("2 ans", "validity_too_long"),
        ("2028-01-01", "validity_too_long"),
        ("99999999999", "validity_too_long"),
        ("999999 years", "validity_too_long"),
    ],
)
def test_parse_validity_errors(text: str, code: str) -> None:
    assert _error_code(parse_validity, text, TODAY) == code


def test_validity_error_details() -> None:
    with pytest.raises(QuoteInputError) as past:
        parse_validity("2026-11-20", TODAY)
    assert past.value.details == {"date": "2026-11-20"}
    with pytest.raises(QuoteInputError) as too_long:
        parse_validity("500", TODAY)
    assert too_long.value.details == {"max_days": "365"}


def test_parse_validity_accepts_a_datetime_as_today() -> None:
    assert parse_validity("30", datetime(2026, 11, 27, 23, 59)) == date(2026, 12, 27)


def test_leap_day_without_year_is_the_next_one() -> None:
    assert parse_validity("29/02", date(2027, 6, 1)) == date(2028, 2, 29)
    assert _error_code(parse_validity, "29/02", date(2026, 6, 1)) == "validity_unreadable"


def test_months_clamp_to_the_end_of_month() -> None:
    assert parse_validity("1 mois", date(2027, 1, 31)) == date(2027, 2, 28)


# --- one line ---------------------------------------------------------------------------------

IN_30_DAYS = TODAY + timedelta(days=DEFAULT_VALIDITY_DAYS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dupont SARL 4 500 € 30j",
            QuoteDraft("Dupont SARL", D("4500.00"), "EUR", date(2026, 12, 27)),
        ),
        (
            '"Acme Inc" 12000 USD until 2027-01-15',
            QuoteDraft("Acme Inc", D("12000.00"), "USD", date(2027, 1, 15)),
        ),
        ("Martin 800", QuoteDraft("Martin", D("800.00"), None, IN_30_DAYS)),
        (
            "Boulangerie Paul 1 250,50 € dans 3 semaines",
            QuoteDraft("Boulangerie Paul", D("1250.50"), "EUR", date(2026, 12, 18)),
        ),
        (
            '"3M France" 4.5k EUR 45',
            QuoteDraft("3M France", D("4500.00"), "EUR", date(2027, 1, 11)),
        ),
        (
            "Café <b>&amp; Co 😀 900 15/01/2027",
            QuoteDraft("Café <b>&amp; Co 😀", D("900.00"), None, date(2027, 1, 15)),
        ),
        ("« Acme » 500 $", QuoteDraft("Acme", D("500.00"), "USD", IN_30_DAYS)),
        ("“Acme 2” 500", QuoteDraft("Acme 2", D("500.00"), None, IN_30_DAYS)),
        ("Martin 800 30", QuoteDraft("Martin", D("800.00"), None, date(2026, 12, 27))),
        ("Martin 1 200 45", QuoteDraft("Martin", D("1200.00"), None, date(2027, 1, 11))),
        ("Martin 800 100", QuoteDraft("Martin", D("800100.00"), None, IN_30_DAYS)),
        ("Martin 800 100j", QuoteDraft("Martin", D("800.00"), None, date(2027, 3, 7))),
        ("Martin 800 € 100", QuoteDraft("Martin", D("800.00"), "EUR", date(2027, 3, 7))),
        ("Martin 4 500€ 2 mois", QuoteDraft("Martin", D("4500.00"), "EUR", date(2027, 1, 27))),
        ("Martin € 4 500 30j", QuoteDraft("Martin", D("4500.00"), "EUR", date(2026, 12, 27))),
        ("Martin $4,500.50 Jan 15", QuoteDraft("Martin", D("4500.50"), "USD", date(2027, 1, 15))),
        ("Martin 800 Jan 15", QuoteDraft("Martin", D("800.00"), None, date(2027, 1, 15))),
        ("Martin 800 usd 2 weeks", QuoteDraft("Martin", D("800.00"), "USD", date(2026, 12, 11))),
        ("Martin 4,5 k€ 30j", QuoteDraft("Martin", D("4500.00"), "EUR", date(2026, 12, 27))),
        ("Martin 4,5 k EUR", QuoteDraft("Martin", D("4500.00"), "EUR", IN_30_DAYS)),
        ("Martin 12K", QuoteDraft("Martin", D("12000.00"), None, IN_30_DAYS)),
        ("Martin 4 500 € HT 30j", QuoteDraft("Martin", D("4500.00"), "EUR", date(2026, 12, 27))),
        ("Martin CHF1,250.50", QuoteDraft("Martin", D("1250.50"), "CHF", IN_30_DAYS)),
        (
            "Jean-Pierre & Fils 800 jusqu'au 15 janvier",
            QuoteDraft("Jean-Pierre & Fils", D("800.00"), None, date(2027, 1, 15)),
        ),
        (
            "  Martin\u00a0\u00a0800\n30j ",
            QuoteDraft("Martin", D("800.00"), None, date(2026, 12, 27)),
        ),
    ],
)
def test_parse_quote_line_accepts(text: str, expected: QuoteDraft) -> None:
    assert parse_quote_line(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "no_client"),
        ("   ", "no_client"),
        ("800", "no_client"),
        ("4500 30j", "no_client"),  # digits only; "3M France 4500" is a client now (issue 12)
        ('"" 800', "no_client"),
        ("x" * 101 + " 800", "client_too_long"),
        ("x" * 101, "client_too_long"),  # client problems come before the missing amount
        ("x" * 2000, "client_too_long"),
        ("Bob 500 " + "x" * 2000, "validity_unreadable"),
        ("Martin", "no_amount"),
        ("Martin abc", "no_amount"),
        ('"Acme"', "no_amount"),
        ("Martin 800abc", "currency_unknown"),
        ("Martin 0", "amount_not_positive"),
        ("Martin -5 30j", "amount_not_positive"),
        ("Martin 1e999", "amount_not_number"),
        ("Martin 99999999999999", "amount_too_large"),
        ("Martin 800 XYZ 30j", "currency_unknown"),
        ("Martin 0 XYZ xyz", "amount_not_positive"),
        ("Martin 800 XYZ xyz", "currency_unknown"),
        ("Martin 800 xyz", "validity_unreadable"),
        ("Martin 800 2026-01-01", "expiry_in_past"),
        ("Martin 800 € 400", "validity_too_long"),
    ],
)
def test_parse_quote_line_errors(text: str, code: str) -> None:
    assert _error_code(parse_quote_line, text, TODAY) == code


# --- properties -------------------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from("<>&\"'€$£ 0123456789 ,.kKmM-/\u00a0\u202f«»jdwJ"),
    ),
    max_size=40,
)
_WORDS = st.lists(
    st.sampled_from(
        ["Dupont", '"Acme', 'Inc"', "4", "500", "4,5k", "€", "$", "EUR", "XYZ", "30j", "15/01",
         "2027-01-15", "jusqu'au", "15", "janvier", "dans", "3", "semaines", "-", "0", "1e999",
         "HT", "k", "usd", "Jan", "«", "»", "1 000", ",50", ".5"]
    ),
    max_size=8,
).map(" ".join)  # fmt: skip
_MAX_EXPIRY = TODAY + timedelta(days=MAX_VALIDITY_DAYS)


def _assert_amount_ok(amount: Decimal) -> None:
    assert amount.is_finite()
    assert D(0) < amount <= D(10**12)
    assert amount.as_tuple().exponent == -2


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _WORDS))
def test_parse_amount_never_raises_anything_else(text: str) -> None:
    try:
        amount, currency = parse_amount(text)
    except QuoteInputError as error:
        assert error.code in ERROR_CODES
        return
    _assert_amount_ok(amount)
    assert currency is None or (len(currency) == 3 and currency.isupper())


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _WORDS))
def test_parse_validity_never_raises_anything_else(text: str) -> None:
    try:
        expiry = parse_validity(text, TODAY)
    except QuoteInputError as error:
        assert error.code in ERROR_CODES
        return
    assert TODAY <= expiry <= _MAX_EXPIRY


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _WORDS, st.tuples(_WORDS, _TEXT).map(" ".join)))
def test_parse_quote_line_never_raises_anything_else(text: str) -> None:
    try:
        draft = parse_quote_line(text, TODAY)
    except QuoteInputError as error:
        assert error.code in ERROR_CODES
        return
    assert 0 < len(draft.client) <= MAX_CLIENT_LENGTH
    _assert_amount_ok(draft.amount)
    assert TODAY <= draft.expires_on <= _MAX_EXPIRY


_AMOUNTS = st.decimals(
    min_value=D("0.01"), max_value=D(10**9), places=2, allow_nan=False, allow_infinity=False
)


@settings(max_examples=300, deadline=None)
@given(_AMOUNTS, st.sampled_from(["en_US", "fr_FR"]))
def test_format_decimal_round_trips(amount: Decimal, locale: str) -> None:
    assert parse_amount(format_decimal(amount, locale=locale)) == (amount, None)


@settings(max_examples=300, deadline=None)
@given(_AMOUNTS, st.sampled_from(["en_US", "fr_FR"]), st.sampled_from(["EUR", "USD", "GBP", "CHF"]))
def test_format_currency_round_trips(amount: Decimal, locale: str, currency: str) -> None:
    assert parse_amount(format_currency(amount, currency, locale=locale)) == (amount, currency)


@settings(max_examples=100, deadline=None)
@given(_AMOUNTS, st.sampled_from(["en_US", "fr_FR"]), st.integers(0, MAX_VALIDITY_DAYS))
def test_one_line_round_trips(amount: Decimal, locale: str, days: int) -> None:
    line = f"Client {format_currency(amount, 'EUR', locale=locale)} {days}j"
    assert parse_quote_line(line, TODAY) == QuoteDraft(
        "Client", amount, "EUR", TODAY + timedelta(days=days)
    )
