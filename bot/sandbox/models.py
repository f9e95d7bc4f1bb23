"""The sandbox's state: stored messages and files, chats, and the records tests inspect."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ApiError",
    "CallbackQueryRecord",
    "ChatEvent",
    "ChatState",
    "FaultRecord",
    "RequestRecord",
    "SendRecord",
    "StoredFile",
    "StoredMessage",
    "UploadedFile",
    "WebhookDelivery",
    "inline_buttons",
]

Sender = Literal["user", "bot"]
FileKind = Literal["document", "photo"]
EventKind = Literal[
    "message", "edit", "delete", "press", "answer", "action", "blocked", "unblocked"
]


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional parameters."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        # Set when the bot could not have known better (it acted on a button press that showed
        # an older version of the message): counted apart from the bot's mistakes.
        self.stale = False

    def envelope(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    mime_type: str | None
    data: bytes

    def describe(self) -> dict[str, Any]:
        """What request logs keep instead of the bytes."""
        return {"filename": self.filename, "mime_type": self.mime_type, "size": len(self.data)}


@dataclass
class StoredFile:
    """A file the bot or a user sent; ``data`` is None when it was sent by URL only."""

    file_id: str
    file_unique_id: str
    kind: FileKind
    data: bytes | None = field(repr=False)
    filename: str | None
    mime_type: str | None
    file_path: str
    width: int = 0
    height: int = 0
    url: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes (0 when the sandbox never saw the bytes)."""
        return len(self.data) if self.data is not None else 0

    def document_dict(self) -> dict[str, Any]:
        """The file as a Telegram Document."""
        doc: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.filename:
            doc["file_name"] = self.filename
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        if self.data is not None:
            doc["file_size"] = self.size
        return doc

    def photo_sizes(self) -> list[dict[str, Any]]:
        """The file as Telegram's list of PhotoSize (one size: the original)."""
        size: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
        }
        if self.data is not None:
            size["file_size"] = self.size
        return [size]

    def file_dict(self) -> dict[str, Any]:
        """The file as a Telegram File (what getFile returns)."""
        result: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.data is not None:
            result["file_size"] = self.size
            result["file_path"] = self.file_path
        return result


@dataclass
class StoredMessage:
    """One message in a chat, in its current state; ``history`` keeps earlier versions."""

    chat: dict[str, Any]
    message_id: int
    sender: Sender
    from_user: dict[str, Any]
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    media: FileKind | None = None
    file: StoredFile | None = None
    inline_markup: dict[str, Any] | None = None
    other_markup: dict[str, Any] | None = None  # reply keyboard / remove / force_reply as sent
    reply_to: StoredMessage | None = None
    source_text: str | None = None  # text or caption before entity parsing (e.g. the HTML)
    parse_mode: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        """The chat the message is in."""
        return int(self.chat["id"])

    def to_dict(self, *, with_reply: bool = True) -> dict[str, Any]:
        """A fresh Telegram Message object for this message's current state."""
        msg: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.from_user,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            msg["reply_to_message"] = self.reply_to.to_dict(with_reply=False)
        if self.text is not None:
            msg["text"] = self.text
            if self.entities:
                msg["entities"] = self.entities
        if self.file is not None and self.media == "document":
            msg["document"] = self.file.document_dict()
        if self.file is not None and self.media == "photo":
            msg["photo"] = self.file.photo_sizes()
        if self.caption:
            msg["caption"] = self.caption
            if self.caption_entities:
                msg["caption_entities"] = self.caption_entities
        if self.inline_markup is not None:
            msg["reply_markup"] = self.inline_markup
        return copy.deepcopy(msg)

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (text, callback_data)."""
        return inline_buttons(self.to_dict(with_reply=False))

    def snapshot(self) -> None:
        """Remember the current version before an edit."""
        self.history.append(self.to_dict(with_reply=False))


def inline_buttons(message: dict[str, Any]) -> list[list[tuple[str, str | None]]]:
    """Rows of (text, callback_data) of a Message dict's inline keyboard ([] if none)."""
    markup = message.get("reply_markup") or {}
    return [
        [(str(button.get("text", "")), button.get("callback_data")) for button in row]
        for row in markup.get("inline_keyboard", [])
    ]


@dataclass
class ChatState:
    """A private chat between the bot and one simulated user."""

    chat: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    bot_sent: list[StoredMessage] = field(default_factory=list)
    events: list[ChatEvent] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    reply_keyboard: dict[str, Any] | None = None
    next_message_id: int = 1

    @property
    def id(self) -> int:
        """The chat id (equal to the user id for a private chat)."""
        return int(self.chat["id"])


@dataclass(frozen=True)
class ChatEvent:
    """One thing that happened in a chat, for transcripts and live demos."""

    time: float
    chat_id: int
    kind: EventKind
    actor: Sender
    text: str
    message_id: int | None = None

    def __str__(self) -> str:
        ref = f" #{self.message_id}" if self.message_id is not None else ""
        if self.kind == "message":
            return f"{self.actor}{ref}: {self.text}"
        if self.kind == "edit":
            return f"bot edited{ref}: {self.text}"
        if self.kind == "delete":
            return f"bot deleted{ref}"
        if self.kind == "press":
            return f"user pressed {self.text} on{ref}"
        if self.kind == "answer":
            return f"bot answered the button press: {self.text}"
        if self.kind == "action":
            return f"bot is {self.text}…"
        return f"user {self.kind} the bot"


@dataclass
class CallbackQueryRecord:
    """A button press and the bot's answer to it, if any."""

    id: str
    chat_id: int
    message_id: int
    data: str
    created: float
    version: int = 0  # how many edits the message had when the press showed it to the bot
    answered: bool = False
    answer: dict[str, Any] | None = None

    @property
    def answer_text(self) -> str | None:
        """The text the bot showed for this press, if it answered with one."""
        return None if self.answer is None else self.answer.get("text")


@dataclass(frozen=True)
class RequestRecord:
    """One Bot API request served (status 0: the connection was dropped on purpose)."""

    method: str
    params: dict[str, Any]
    status: int
    time: float
    description: str | None = None


@dataclass(frozen=True)
class SendRecord:
    """One accepted message send, for flood-window checks."""

    time: float
    chat_id: int
    method: str
    message_id: int


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault: "429", "5xx", "drop", "drop_after" or "delay"."""

    kind: str
    method: str
    time: float


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to push an update to the webhook."""

    update_id: int
    attempt: int
    status: int | None
    error: str | None
    time: float

    @property
    def ok(self) -> bool:
        """Whether the webhook accepted the update."""
        return self.status is not None and 200 <= self.status < 300
