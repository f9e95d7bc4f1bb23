"""Settings read from the environment (and an optional .env), each checked with a clear message."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SQLITE_PATH = Path("data") / "prospect-coach.db"
TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{10,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says how to fix it."""


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    token: Secret
    database_url: str = field(repr=False)  # may hold a password
    api_base_url: str | None = None
    api_file_url: str | None = None
    dispatch_interval_seconds: float = 30.0
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8080
    log_level: str = "INFO"
    paid_broadcast: bool = False
    claim_timeout_seconds: float = 300.0
    migrate_on_start: bool = True
    retry_backoff_seconds: float = 15.0
    send_concurrency: int = 1
    sweep_interval_seconds: float = 60.0
    outbox_retention_days: float = 30.0
    inbox_retention_days: float = 7.0
    max_waiting_updates: int = 100
    metrics_listen: str = "127.0.0.1"
    metrics_port: int = 9090

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalize_database_url(raw: str | None, *, base_dir: Path | None = None) -> str:
    """Return an async SQLAlchemy URL for the forms people write (sqlite:///, postgres://...)."""
    if not raw:
        path = (base_dir or Path.cwd()) / DEFAULT_SQLITE_PATH
        return f"sqlite+aiosqlite:///{path}"
    try:
        url: URL = make_url(raw.strip())
    except ArgumentError:
        # Not echoed: the value may hold a password.
        raise ConfigError(
            "DATABASE_URL is not a database URL (its value is not shown, it may hold a "
            "password): write it like sqlite:///data/coach.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+asyncpg")
    else:
        raise ConfigError(
            f"DATABASE_URL uses {backend!r}, which this bot does not support: "
            "use sqlite:///path/to.db or postgresql://user@host/dbname"
        )
    return url.render_as_string(hide_password=False)


def _acceptable_webhook_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine (a local Bot API server or the sandbox)."""
    parsed = urlparse(url)
    if parsed.scheme == "https":
        return bool(parsed.hostname)
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def _flag(env: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a number, got {raw!r}: for example {name}={default:g}"
        ) from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _port(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    port = _number(env, name, default, minimum=minimum)
    if port != int(port) or port > 65535:
        raise ConfigError(f"{name} must be a whole number from {minimum} to 65535, got {port:g}")
    return int(port)


def load_settings(env: Mapping[str, str] | None = None, *, require_token: bool = True) -> Settings:
    """Read and check every setting; raise ConfigError naming the first bad one."""
    env = os.environ if env is None else env
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if require_token and not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: ask @BotFather for a token and set "
            "TELEGRAM_BOT_TOKEN=123456:ABC... (or try `prospect-coach demo`, which needs none)"
        )
    if token and not TOKEN_PATTERN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token: it should read like "
            "123456789:AAE...(digits, a colon, then letters); copy it again from @BotFather"
        )
    webhook_url = env.get("WEBHOOK_URL", "").strip() or None
    if webhook_url and not _acceptable_webhook_url(webhook_url):
        # Not echoed: a webhook path often holds the bot token.
        scheme = urlparse(webhook_url).scheme or "no scheme"
        raise ConfigError(
            f"WEBHOOK_URL must start with https:// (Telegram requires it), not {scheme!r}: "
            "write it like https://coach.example.com/telegram"
        )
    secret = env.get("WEBHOOK_SECRET", "").strip()
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError(
            "WEBHOOK_SECRET may only hold letters, digits, _ and - (1 to 256 characters)"
        )
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    port = _port(env, "WEBHOOK_PORT", 8080, minimum=1)
    metrics_port = _port(env, "METRICS_PORT", 9090, minimum=0)
    return Settings(
        token=Secret(token),
        database_url=normalize_database_url(env.get("DATABASE_URL")),
        api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip() or None,
        api_file_url=env.get("TELEGRAM_API_FILE_URL", "").strip() or None,
        dispatch_interval_seconds=_number(env, "DISPATCH_INTERVAL_SECONDS", 30, minimum=0.05),
        webhook_url=webhook_url,
        webhook_secret=Secret(secret) if secret else None,
        webhook_listen=env.get("WEBHOOK_LISTEN", "").strip() or "0.0.0.0",
        webhook_port=port,
        log_level=level,
        paid_broadcast=_flag(env, "PAID_BROADCAST"),
        claim_timeout_seconds=_number(env, "CLAIM_TIMEOUT_SECONDS", 300, minimum=1),
        migrate_on_start=_flag(env, "MIGRATE_ON_START", default=True),
        retry_backoff_seconds=_number(env, "RETRY_BACKOFF_SECONDS", 15, minimum=0.1),
        send_concurrency=int(_number(env, "SEND_CONCURRENCY", 1, minimum=1)),
        sweep_interval_seconds=_number(env, "SWEEP_INTERVAL_SECONDS", 60, minimum=1),
        # Sent rows also say what went out today (a day's check-in is not sent twice): two
        # days at least. Telegram redelivers an update for about a day: one day at least.
        outbox_retention_days=_number(env, "OUTBOX_RETENTION_DAYS", 30, minimum=2),
        inbox_retention_days=_number(env, "INBOX_RETENTION_DAYS", 7, minimum=1),
        max_waiting_updates=int(_number(env, "MAX_WAITING_UPDATES", 100, minimum=1)),
        metrics_listen=env.get("METRICS_LISTEN", "").strip() or "127.0.0.1",
        metrics_port=metrics_port,
    )
