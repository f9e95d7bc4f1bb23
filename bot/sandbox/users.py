"""Simulated Telegram users: what a test or the terminal demo does on the user's side."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .chats import edit_text
from .html_entities import utf16_len
from .media import MediaKind, media_fields
from .models import CallbackQueryRecord, StoredMessage, inline_buttons

if TYPE_CHECKING:
    from .server import BotApiSandbox

__all__ = ["ButtonRef", "MessageRef", "SandboxUser"]

MessageRef = dict[str, Any] | int | StoredMessage
ButtonRef = str | tuple[int, int]


class SandboxUser:
    """One user in a private chat with the bot (the chat id equals the user id)."""

    def __init__(
        self,
        sandbox: BotApiSandbox,
        user_id: int,
        first_name: str = "Alice",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> None:
        self._sandbox = sandbox
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.language_code = language_code
        self.username = username
        self._cursor = 0  # how many bot messages next_message has handed out

    def __repr__(self) -> str:
        return f"SandboxUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """The id of the private chat with the bot."""
        return self.id

    @property
    def user_dict(self) -> dict[str, Any]:
        """This user as a Telegram User object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    # ------------------------------------------------------------------ acting

    async def send_text(
        self, text: str, *, entities: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Send a text message to the bot; returns the user's Message as the bot receives it."""
        return self._send(text=text, entities=list(entities or []))

    async def send_command(self, command: str, args: str = "") -> dict[str, Any]:
        """Send "/command args" with a bot_command entity at offset 0, like a Telegram client."""
        command = command if command.startswith("/") else "/" + command
        text = f"{command} {args}" if args else command
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
        return self._send(text=text, entities=[entity])

    async def send_document(
        self,
        filename: str,
        data: bytes,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """Send a file; the bot can fetch it with getFile and the file URL."""
        stored = self._sandbox._new_file("document", data, filename, mime_type)
        return self._send(media="document", file=stored, caption=caption or None)

    async def send_media(self, kind: MediaKind) -> dict[str, Any]:
        """Send a photo, sticker, voice note, video, location, contact... (no text)."""
        sandbox = self._sandbox
        state = sandbox._chat_state(self.chat_id, create=True)
        stored = sandbox._store_message(state, "user", self.user_dict)
        message = {**stored.to_dict(), **media_fields(kind, stored.message_id, self.user_dict)}
        sandbox._enqueue_update("message", message)
        return message

    async def edit_text(self, message: dict[str, Any], text: str) -> dict[str, Any] | None:
        """Edit one of this user's earlier messages: the bot receives `edited_message`."""
        return edit_text(self._sandbox, self.chat_id, message, text)

    async def press(
        self, message: MessageRef, button: ButtonRef, *, allow_stale: bool = True
    ) -> str:
        """Press an inline button by its text, callback_data or (row, col); returns the query id.

        The current keyboard is searched first; with ``allow_stale`` an earlier version of the
        message's keyboard is searched too, as a client that has not seen the edit yet could
        still press it. Raises LookupError (listing the buttons) when there is no such button.
        """
        stored = self._stored(message)
        rows = stored.buttons
        stale = False
        try:
            text, data = self._find_button(stored, rows, button)
        except LookupError:
            older = [inline_buttons(version) for version in reversed(stored.history)]
            found = None
            for old_rows in older if allow_stale else []:
                try:
                    found = self._find_button(stored, old_rows, button)
                    break
                except LookupError:
                    continue
            if found is None:
                raise
            (text, data), stale = found, True
        if data is None:
            raise LookupError(
                f"button {text!r} on message #{stored.message_id} has no callback_data; "
                "pressing it would not reach the bot"
            )
        sandbox = self._sandbox
        state = sandbox._chat_state(self.chat_id)
        label = f"[{text}] ({data})" + (" from an older keyboard" if stale else "")
        sandbox._add_event(state, "press", "user", label, stored.message_id)
        return self._enqueue_callback(stored, data)

    async def send_callback(self, message: MessageRef, data: str) -> str:
        """A forged press: callback data the message never offered (a modified client, or a
        replay of another user's button); returns the query id."""
        return self._enqueue_callback(self._stored(message), data)

    def _enqueue_callback(self, stored: StoredMessage, data: str) -> str:
        sandbox = self._sandbox
        record = sandbox._new_callback_query(self, stored, data)
        sandbox._enqueue_update(
            "callback_query",
            {
                "id": record.id,
                "from": self.user_dict,
                "message": stored.to_dict(),
                "chat_instance": str(-(self.chat_id * 7919 % 10**15) - 1),
                "data": data,
            },
        )
        return record.id

    def block(self) -> None:
        """Block the bot: its sends to this chat now fail with 403."""
        self._sandbox.block(self.chat_id)

    def unblock(self) -> None:
        """Unblock the bot."""
        self._sandbox.unblock(self.chat_id)

    # ------------------------------------------------------------------ observing

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The bot's messages in this chat, current state after edits, deleted ones left out."""
        return [m.to_dict() for m in self._bot_messages() if not m.deleted]

    @property
    def last_message(self) -> dict[str, Any] | None:
        """The bot's latest message still in the chat, if any."""
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Texts of the reply keyboard the bot last showed, or None if none is shown."""
        state = self._sandbox._chats.get(self.chat_id)
        if state is None or state.reply_keyboard is None:
            return None
        return [
            [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
            for row in state.reply_keyboard.get("keyboard", [])
        ]

    def buttons(self, message: MessageRef | None = None) -> list[list[tuple[str, str | None]]]:
        """Inline buttons of ``message`` (default: the last one) as rows of (text, data)."""
        if message is None:
            last = self.last_message
            return inline_buttons(last) if last else []
        return self._stored(message).buttons

    def transcript(self, last: int | None = None) -> str:
        """This chat's events as text lines."""
        return self._sandbox.render_transcript(self.chat_id, last)

    async def next_message(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The next message the bot sent here that this object has not returned yet.

        Edits do not count as new messages; the returned dict is the message's current state.
        Raises TimeoutError with the end of the transcript when none arrives in time.
        """

        def check() -> dict[str, Any] | None:
            sent = self._bot_messages()
            if self._cursor < len(sent):
                self._cursor += 1
                return sent[self._cursor - 1].to_dict()
            return None

        return await self._sandbox._wait_until(
            check, timeout, lambda: self._timeout_text("no new message from the bot", timeout)
        )

    async def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The first bot message here (current state) matching ``predicate``, waiting for one."""

        def check() -> dict[str, Any] | None:
            for message in self.messages:
                if predicate(message):
                    return message
            return None

        return await self._sandbox._wait_until(
            check, timeout, lambda: self._timeout_text("no bot message matched", timeout)
        )

    async def wait_for_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackQueryRecord:
        """The callback query once the bot has answered it."""
        query = self._sandbox.callback_queries[query_id]
        return await self._sandbox._wait_until(
            lambda: query if query.answered else None,
            timeout,
            lambda: self._timeout_text(f"callback query {query_id} not answered", timeout),
        )

    def skip_pending(self) -> None:
        """Treat every bot message so far as already returned by next_message."""
        self._cursor = len(self._bot_messages())

    # ------------------------------------------------------------------ internals

    def _send(self, **fields: Any) -> dict[str, Any]:
        sandbox = self._sandbox
        state = sandbox._chat_state(self.chat_id, create=True)
        stored = sandbox._store_message(state, "user", self.user_dict, **fields)
        message = stored.to_dict()
        sandbox._enqueue_update("message", message)
        return message

    def _bot_messages(self) -> list[StoredMessage]:
        state = self._sandbox._chats.get(self.chat_id)
        return list(state.bot_sent) if state else []

    def _stored(self, message: MessageRef) -> StoredMessage:
        if isinstance(message, StoredMessage):
            message_id = message.message_id
        elif isinstance(message, int):
            message_id = message
        else:
            message_id = int(message["message_id"])
        try:
            stored = self._sandbox.message(self.chat_id, message_id)
        except KeyError:
            raise LookupError(f"no message #{message_id} in chat {self.chat_id}") from None
        if stored.deleted:
            raise LookupError(f"message #{message_id} was deleted")
        return stored

    @staticmethod
    def _find_button(
        stored: StoredMessage, rows: list[list[tuple[str, str | None]]], button: ButtonRef
    ) -> tuple[str, str | None]:
        if isinstance(button, tuple):
            row, col = button
            if 0 <= row < len(rows) and 0 <= col < len(rows[row]):
                return rows[row][col]
        else:
            for candidates in (
                [b for r in rows for b in r if b[0] == button],
                [b for r in rows for b in r if b[1] == button],
            ):
                if candidates:
                    return candidates[0]
        raise LookupError(
            f"no button {button!r} on message #{stored.message_id}; buttons: {rows or 'none'}"
        )

    def _timeout_text(self, what: str, timeout: float) -> str:
        tail = self._sandbox.render_transcript(self.chat_id, last=10)
        return f"{what} in chat {self.chat_id} within {timeout}s; transcript tail:\n{tail}"
