"""Button payloads "<feature>:<action>:<arg>", built and parsed here only (64 bytes at most)."""

from __future__ import annotations

from typing import NamedTuple

MAX_BYTES = 64


class Callback(NamedTuple):
    feature: str
    action: str
    arg: str


def pack(feature: str, action: str, arg: str | int = "") -> str:
    data = f"{feature}:{action}:{arg}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> Callback | None:
    """The parts of a payload, or None for data this bot did not make."""
    if not data or data.count(":") < 2:
        return None
    feature, action, arg = data.split(":", 2)
    return Callback(feature, action, arg)


def pattern(feature: str) -> str:
    """The CallbackQueryHandler pattern for one feature's buttons."""
    return f"^{feature}:"
