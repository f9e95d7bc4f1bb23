"""No log line ever holds the bot token, whatever logs it (httpx URLs, tracebacks, PTB at DEBUG)."""

from __future__ import annotations

import io
import logging

from bot.logs import RedactingFilter, configure_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_token_is_redacted_in_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_logging("DEBUG", secrets=[TOKEN])
        logging.getLogger("httpx").info(
            'HTTP Request: POST https://api.telegram.org/bot%s/getMe "200"', TOKEN
        )
        logging.getLogger("telegram.ext").debug("base url %s", f"https://x/bot{TOKEN}")
        try:
            raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/sendMessage")
        except RuntimeError:
            logging.getLogger("bot").exception("send failed")
    finally:
        root.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in output
    assert output.count("<redacted>") >= 3
    assert "RuntimeError" in output


def test_unknown_tokens_shaped_like_bot_tokens_are_redacted_too() -> None:
    assert "<redacted>" in RedactingFilter().redact("https://x/bot42:abcdefghijklmnop/getMe")
