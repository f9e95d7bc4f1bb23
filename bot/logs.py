"""Logging set-up: one line per event, the update and user in each line, secrets never written."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

# Set by the handler wrapper so every line logged while handling an update names it.
current_update_id: ContextVar[int | None] = ContextVar("current_update_id", default=None)
current_user_id: ContextVar[int | None] = ContextVar("current_user_id", default=None)

# httpx logs request URLs and PTB logs its base URL: both hold "bot<token>".
TOKEN_IN_URL = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{10,}")
FORMAT = "%(asctime)s %(levelname)s %(name)s [update=%(update_id)s user=%(user_id)s] %(message)s"


class RedactingFilter(logging.Filter):
    """Replaces bot tokens and known secrets in a record's message and traceback."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets = [s for s in (secrets or []) if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return TOKEN_IN_URL.sub("<redacted>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        if not hasattr(record, "update_id"):
            record.update_id = current_update_id.get() or "-"
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id.get() or "-"
        return True


def configure_logging(level: str = "INFO", *, secrets: list[str] | None = None) -> None:
    """Send logs to stderr through the redacting filter, on every root handler."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    redactor = RedactingFilter(secrets)
    for handler in root.handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        handler.addFilter(redactor)
        handler.setFormatter(logging.Formatter(FORMAT))
    root.setLevel(level)
    # httpx logs each request at INFO: useful at DEBUG only, and redacted either way.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("apscheduler").setLevel(
        logging.WARNING if level != "DEBUG" else logging.DEBUG
    )
