"""What a scheduled message becomes when it is due, and the hooks each kind of message provides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, User

ButtonRows = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)


@dataclass(frozen=True)
class Outgoing:
    """A rendered message: HTML text (a caption when there is a photo or document), and buttons."""

    text: str
    rows: ButtonRows | None = None
    photo: bytes | None = None
    # A photo to draw (CPU) once the compose transaction has ended, in a worker thread.
    render_photo: Callable[[], bytes] | None = None
    document: tuple[str, bytes] | None = None  # (file name, content)


Compose = Callable[[AsyncSession, OutboxMessage, User, datetime], Awaitable[Outgoing | None]]
AfterSent = Callable[[AsyncSession, OutboxMessage, User, int, datetime], Awaitable[None]]


@dataclass(frozen=True)
class ScheduledKind:
    """How one kind of scheduled message is rendered when due (None: no longer makes sense)."""

    compose: Compose
    after_sent: AfterSent | None = None
