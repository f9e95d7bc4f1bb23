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


PASSWORD = "Sup3r-S3cret-pw"
HOOK_SECRET = "hook_secret_value_42"


@pytest.mark.parametrize(
    ("env", "name", "secret"),
    [
        # A database URL that cannot be parsed is never echoed: it may carry a password.
        ({"DATABASE_URL": f"postgresql//coach:{PASSWORD}@db/coach"}, "DATABASE_URL", PASSWORD),
        ({"DATABASE_URL": f"::{PASSWORD}::"}, "DATABASE_URL", PASSWORD),
        # A malformed token is not echoed, nor is its secret half.
        ({"TELEGRAM_BOT_TOKEN": f"12345{PASSWORD}"}, "TELEGRAM_BOT_TOKEN", PASSWORD),
        ({"TELEGRAM_BOT_TOKEN": "123456789:short!"}, "TELEGRAM_BOT_TOKEN", "short!"),
        # A bad webhook secret is not echoed.
        ({"WEBHOOK_SECRET": f"{HOOK_SECRET} with spaces"}, "WEBHOOK_SECRET", HOOK_SECRET),
        # A webhook URL is not echoed (its path often holds the token).
        ({"WEBHOOK_URL": f"http://example.com/{TOKEN}"}, "WEBHOOK_URL", TOKEN.split(":")[1]),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT", TOKEN.split(":")[1]),
    ],
)
def test_settings_errors_name_the_variable_and_never_print_a_secret(
    env: dict[str, str], name: str, secret: str
) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, **env}
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert name in str(error.value)
    assert secret not in str(error.value)
    assert TOKEN.split(":")[1] not in str(error.value)


def test_settings_never_show_the_database_password() -> None:
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": f"postgresql://coach:{PASSWORD}@db/coach"}
    )
    assert PASSWORD not in repr(settings) and TOKEN not in repr(settings)
    assert (settings.metrics_listen, settings.metrics_port) == ("127.0.0.1", 9090)


def test_a_bad_setting_stops_the_cli_with_one_line_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"postgresql//coach:{PASSWORD}@db/coach")
    monkeypatch.chdir("/tmp")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err and PASSWORD not in err and len(err.strip().splitlines()) == 1
