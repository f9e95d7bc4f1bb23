"""Groups, supergroups and channels, anonymous admins and edited messages, as Telegram sends them.

Kept apart from server.py: these only build updates and chat states the server already knows
how to serve. A group message carries `from` (the member) and `chat` (the group); an anonymous
admin's carries `from` = GroupAnonymousBot and `sender_chat` = the group; a channel post has no
`from`, only `sender_chat` = the channel. An edit resends the whole message with `edit_date`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

from .html_entities import utf16_len
from .models import ChatState, StoredMessage

if TYPE_CHECKING:
    from .server import BotApiSandbox
    from .users import SandboxUser

__all__ = ["ANONYMOUS_ADMIN", "SandboxChannel", "SandboxGroup", "edit_text"]

# The one Telegram user every anonymous group admin writes as.
ANONYMOUS_ADMIN: dict[str, Any] = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}

GroupKind = Literal["group", "supergroup"]


def _command_fields(text: str) -> dict[str, Any]:
    """Text with a bot_command entity at offset 0 when it starts with /, like a client sends."""
    fields: dict[str, Any] = {"text": text, "entities": []}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
    return fields


def _chat(sandbox: BotApiSandbox, chat: dict[str, Any]) -> ChatState:
    state = sandbox._chats.get(int(chat["id"]))
    if state is None:
        state = sandbox._chats[int(chat["id"])] = ChatState(dict(chat))
    return state


def _post(
    sandbox: BotApiSandbox,
    state: ChatState,
    from_user: dict[str, Any],
    kind: str,
    *,
    sender_chat: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    stored = sandbox._store_message(state, "user", from_user, **fields)
    message = stored.to_dict()
    if not from_user:
        message.pop("from", None)  # channel posts have no sender user
    if sender_chat is not None:
        message["sender_chat"] = dict(sender_chat)
    sandbox._enqueue_update(kind, message)
    return message


def edit_text(
    sandbox: BotApiSandbox, chat_id: int, message: dict[str, Any], text: str
) -> dict[str, Any] | None:
    """The user edits their earlier message to `text`: Telegram sends `edited_message` (or
    `edited_channel_post`) with the whole message as it now reads."""
    stored: StoredMessage = sandbox._chats[chat_id].messages[int(message["message_id"])]
    stored.snapshot()
    fields = _command_fields(text)
    stored.text, stored.entities = fields["text"], fields["entities"]
    stored.edit_date = int(time.time())
    edited = stored.to_dict()
    if "sender_chat" in message:
        edited["sender_chat"] = message["sender_chat"]
    if "from" not in message:
        edited.pop("from", None)
    kind = "edited_channel_post" if stored.chat.get("type") == "channel" else "edited_message"
    sandbox._enqueue_update(kind, edited)
    return edited


class SandboxGroup:
    """A group or supergroup with the bot in it; members write there."""

    def __init__(
        self, sandbox: BotApiSandbox, chat_id: int, title: str, kind: GroupKind = "supergroup"
    ) -> None:
        assert chat_id < 0, "group ids are negative"
        self._sandbox = sandbox
        self.chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": title}
        self.state = _chat(sandbox, self.chat)

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    def add_bot(self, by: SandboxUser) -> None:
        """`by` adds the bot: a my_chat_member update and the "joined" service message."""
        sandbox = self._sandbox
        now = int(time.time())
        sandbox._enqueue_update(
            "my_chat_member",
            {
                "chat": dict(self.chat),
                "from": by.user_dict,
                "date": now,
                "old_chat_member": {"status": "left", "user": dict(sandbox.bot_user)},
                "new_chat_member": {"status": "member", "user": dict(sandbox.bot_user)},
            },
        )
        stored = sandbox._store_message(self.state, "user", by.user_dict)
        message = stored.to_dict()
        message["new_chat_members"] = [dict(sandbox.bot_user)]
        sandbox._enqueue_update("message", message)

    async def send_text(self, user: SandboxUser, text: str) -> dict[str, Any]:
        """A member writes in the group (a command if it starts with /)."""
        return _post(self._sandbox, self.state, user.user_dict, "message", **_command_fields(text))

    async def send_as_anonymous_admin(self, text: str) -> dict[str, Any]:
        """An admin writing "as the group": every group's anonymous admins share one user."""
        return _post(
            self._sandbox,
            self.state,
            ANONYMOUS_ADMIN,
            "message",
            sender_chat=self.chat,
            **_command_fields(text),
        )

    async def send_photo(self, user: SandboxUser) -> dict[str, Any]:
        stored = self._sandbox._new_file("photo", b"\x89PNG", "photo.png", "image/png")
        return _post(
            self._sandbox, self.state, user.user_dict, "message", media="photo", file=stored
        )

    async def edit(self, message: dict[str, Any], text: str) -> dict[str, Any] | None:
        return edit_text(self._sandbox, self.id, message, text)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What the bot posted in this group."""
        return [m.to_dict() for m in self.state.bot_sent if not m.deleted]

    async def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """What the bot posted here, once it has posted at least ``count`` messages."""
        return await self._sandbox._wait_until(
            lambda: self.messages if len(self.messages) >= count else None,
            timeout,
            lambda: f"{len(self.messages)} of {count} bot messages in group {self.id} "
            f"after {timeout} s",
        )


class SandboxChannel:
    """A channel with the bot as an admin: posts come as channel_post, signed by the channel."""

    def __init__(self, sandbox: BotApiSandbox, chat_id: int, title: str) -> None:
        assert chat_id < 0, "channel ids are negative"
        self._sandbox = sandbox
        self.chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
        self.state = _chat(sandbox, self.chat)

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    async def post(self, text: str) -> dict[str, Any]:
        return _post(
            self._sandbox,
            self.state,
            {},
            "channel_post",
            sender_chat=self.chat,
            **_command_fields(text),
        )

    async def edit(self, message: dict[str, Any], text: str) -> dict[str, Any] | None:
        return edit_text(self._sandbox, self.id, message, text)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.state.bot_sent if not m.deleted]
