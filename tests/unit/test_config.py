"""Settings: the forms people write are accepted; every bad value names its variable."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings, normalize_database_url

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_get_the_async_driver(raw: str, expected: str) -> None:
    assert normalize_database_url(raw) == expected


def test_default_database_is_a_sqlite_file_under_data(tmp_path: object) -> None:
    url = normalize_database_url(None)
    assert url.startswith("sqlite+aiosqlite:///") and url.endswith("data/prospect-coach.db")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "::::"}, "DATABASE_URL"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "DISPATCH_INTERVAL_SECONDS": "soon"},
            "DISPATCH_INTERVAL_SECONDS",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "DISPATCH_INTERVAL_SECONDS": "0"},
            "DISPATCH_INTERVAL_SECONDS",
        ),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://example.com/hook"}, "WEBHOOK_URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "spaces are bad"}, "WEBHOOK_SECRET"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "OUTBOX_RETENTION_DAYS": "1"}, "OUTBOX_RETENTION_DAYS"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "INBOX_RETENTION_DAYS": "week"}, "INBOX_RETENTION_DAYS"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert names in str(error.value)
    assert TOKEN not in str(error.value)


def test_good_settings_are_read() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DATABASE_URL": "postgres://coach@db/coach",
            "DISPATCH_INTERVAL_SECONDS": "5",
            "WEBHOOK_URL": "https://coach.example.com/telegram",
            "WEBHOOK_SECRET": "s3cret_-x",
            "WEBHOOK_PORT": "8443",
            "LOG_LEVEL": "debug",
            "OUTBOX_RETENTION_DAYS": "90",
            "INBOX_RETENTION_DAYS": "2",
        }
    )
    assert (settings.outbox_retention_days, settings.inbox_retention_days) == (90, 2)
    assert settings.token.get() == TOKEN
    assert TOKEN not in repr(settings)
    assert settings.database_url == "postgresql+asyncpg://coach@db/coach"
    assert settings.dispatch_interval_seconds == 5
    assert settings.webhook_port == 8443
    assert settings.log_level == "DEBUG"


def test_migrate_needs_no_token() -> None:
    assert not load_settings({}, require_token=False).token
