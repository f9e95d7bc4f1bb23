"""A local stand-in for the Telegram Bot API: an aiohttp server on loopback plus its state.

Point python-telegram-bot at ``sandbox.base_url`` / ``sandbox.base_file_url`` and drive simulated
users through ``sandbox.user(...)``. The server answers like Telegram (same envelope, status
codes and error texts) and is stricter where that catches bugs: unknown parameters are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import mimetypes
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from .chats import GroupKind, SandboxChannel, SandboxGroup
from .flood import FloodControl, max_in_window
from .html_entities import ParsedText
from .models import (
    ApiError,
    CallbackQueryRecord,
    ChatEvent,
    ChatState,
    EventKind,
    FaultRecord,
    FileKind,
    RequestRecord,
    Sender,
    SendRecord,
    StoredFile,
    StoredMessage,
    UploadedFile,
    WebhookDelivery,
)
from .spec import ApiSpec, load_spec
from .users import SandboxUser
from .validation import (
    coerce_params,
    image_size,
    parse_message_text,
    validate_reply_markup,
)

logger = logging.getLogger(__name__)

__all__ = ["BotApiSandbox", "WebhookConfig"]

T = TypeVar("T")
Handler = Callable[[dict[str, Any]], Awaitable[Any]]

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
FAULT_KINDS = frozenset({"429", "5xx", "drop", "drop_after"})
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Telegram's default when allowed_updates is empty: everything but these.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
BOT_COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)

UNAUTHORIZED = "Unauthorized"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_RE = re.compile(r"^([a-z]{2})?$")


@dataclass
class WebhookConfig:
    """The webhook as setWebhook left it."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    has_custom_certificate: bool
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Faults:
    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    methods: frozenset[str] = SEND_METHODS
    retry_after: int = 1
    rng: random.Random = field(default_factory=random.Random)
    delay: float = 0.0
    delay_methods: frozenset[str] = SEND_METHODS
    delay_count: int | None = None


class BotApiSandbox:
    """A fake Telegram Bot API server for one bot, with simulated users and inspectable state.

    Records: ``requests``, ``errors_served`` (Counter by status; a double tap's "not modified"
    is counted in ``stale_edits_served`` instead), ``sends`` (accepted sends with
    their clock time), ``faults``, ``webhook_deliveries``, ``callback_queries``, ``commands``.
    Tunable attributes: ``callback_query_ttl`` (s), ``auto_create_chats`` (send to unknown chat
    ids instead of "chat not found"), ``webhook_retries``, ``webhook_backoff``,
    ``webhook_timeout``, ``keep_request_log``, ``flood_control``.
    """

    IMPLEMENTED_METHODS: frozenset[str] = frozenset(
        {
            "getMe",
            "getUpdates",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "sendMessage",
            "sendPhoto",
            "sendDocument",
            "editMessageText",
            "editMessageCaption",
            "editMessageReplyMarkup",
            "deleteMessage",
            "answerCallbackQuery",
            "getFile",
            "sendChatAction",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "setMyDescription",
            "getMyDescription",
            "setMyShortDescription",
            "getMyShortDescription",
            "close",
            "logOut",
        }
    )
    SEND_METHODS: frozenset[str] = SEND_METHODS

    def __init__(
        self,
        token: str = "123456:SANDBOX-secret-token",
        *,
        flood_control: bool = True,
        api_spec_path: str | None = None,
        per_chat_limit: int = 1,
        global_limit: int = 30,
        group_limit: int = 20,
        paid_limit: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.clock = clock
        self.flood_control = flood_control
        self.flood = FloodControl(per_chat_limit, global_limit, group_limit, paid_limit, clock)
        self.spec: ApiSpec = load_spec(api_spec_path)
        bot_id = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Sandbox Bot",
            "username": "sandbox_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        # Public records for tests.
        self.errors_served: Counter[int] = Counter()
        # "Message is not modified" answers to edits made from a press that showed an older
        # version of the message: the real API's race between two taps, not a wrong call.
        self.stale_edits_served = 0
        self.requests: list[RequestRecord] = []
        self.sends: list[SendRecord] = []
        self.faults: list[FaultRecord] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        # Tunables (attributes rather than constructor arguments: rarely changed).
        self.callback_query_ttl = 15.0
        self.auto_create_chats = False
        self.webhook_retries = 3
        self.webhook_backoff = 0.05
        self.webhook_timeout = 5.0
        self.logged_out = False
        self.keep_request_log = True  # benchmarks with huge runs may turn ``requests`` off
        self.port: int | None = None
        self._webhook_description = "Webhook is already deleted"

        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_description,
            "getMyDescription": self._get_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyShortDescription": self._get_my_short_description,
            "close": self._close,
            "logOut": self._log_out,
        }
        assert set(self._handlers) == self.IMPLEMENTED_METHODS
        self._handlers_lower = {name.lower(): name for name in self._handlers}

        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, SandboxUser] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._query_counter = 0
        self._blocked: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._fetched_upto = 0
        self._allowed_updates: list[str] | None = None
        self._webhook: WebhookConfig | None = None
        self._faults = _Faults()
        self._poll_generation = 0
        self._inflight = 0
        self._last_activity = 0.0
        self._listeners: list[Callable[[ChatEvent], None]] = []
        self._changed = asyncio.Event()
        self._webhook_kick = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: PTB appends the token, so calls arrive at /bot<token>/<method>."""
        return f"http://127.0.0.1:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url`` for downloading files the users sent."""
        return f"http://127.0.0.1:{self._require_port()}/file/bot"

    @property
    def api_url(self) -> str:
        """The full method URL prefix including the token (for raw HTTP tests)."""
        return f"{self.base_url}{self.token}"

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("the sandbox is not started")
        return self.port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 picks a free port, stored in ``self.port``)."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already started")
        self._stopping = False
        self._stop_event = asyncio.Event()
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/file/{bot_token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/{bot_token}/{method}", self._handle_api)
        # No access log: request paths contain the token.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        self._session = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="sandbox-webhook")
        logger.info("Bot API sandbox listening on %s:%s", host, self.port)

    async def stop(self) -> None:
        """Answer pending long polls, stop webhook delivery and close the server."""
        if self._runner is None:
            return
        self._stopping = True
        self._stop_event.set()
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._runner.cleanup()
        self._runner = None
        logger.info("Bot API sandbox stopped")

    async def __aenter__(self) -> BotApiSandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test API

    def user(
        self,
        user_id: int,
        first_name: str = "Alice",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> SandboxUser:
        """The simulated user ``user_id`` (created on first call; the same object afterwards)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        user = SandboxUser(self, user_id, first_name, language_code, username, last_name)
        self._users[user_id] = user
        self._chat_state(user_id, create=True)
        return user

    def group(
        self, chat_id: int, title: str = "Team", kind: GroupKind = "supergroup"
    ) -> SandboxGroup:
        """A group (or supergroup) the bot can be added to; see chats.py."""
        return SandboxGroup(self, chat_id, title, kind)

    def channel(self, chat_id: int, title: str = "News") -> SandboxChannel:
        """A channel with the bot as admin; see chats.py."""
        return SandboxChannel(self, chat_id, title)

    @property
    def allowed_updates(self) -> list[str] | None:
        """The update types the bot asked for (webhook or getUpdates), None if it never said."""
        return self._webhook.allowed_updates if self._webhook else self._allowed_updates

    def block(self, chat_id: int, *, notify: bool = False) -> None:
        """Make sends to ``chat_id`` fail with 403; ``notify`` also queues my_chat_member."""
        self._blocked.add(chat_id)
        self._member_change(chat_id, blocked=True, notify=notify)

    def unblock(self, chat_id: int, *, notify: bool = False) -> None:
        """Let the bot write to ``chat_id`` again."""
        self._blocked.discard(chat_id)
        self._member_change(chat_id, blocked=False, notify=notify)

    def is_blocked(self, chat_id: int) -> bool:
        """Whether the user of ``chat_id`` has blocked the bot."""
        return chat_id in self._blocked

    def inject_faults(
        self,
        rate: float,
        kinds: Sequence[str] = ("429", "5xx", "drop"),
        seed: int | None = None,
        *,
        methods: Iterable[str] = SEND_METHODS,
        retry_after: int = 1,
    ) -> None:
        """Make ``rate`` of calls to ``methods`` fail with a random one of ``kinds``.

        Kinds: "429" (Too Many Requests with retry_after), "5xx" (502 Bad Gateway), "drop" (the
        connection closes before the call is processed) and "drop_after" (the message is stored,
        then the connection closes: the bot cannot know the send worked).
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        unknown = set(kinds) - FAULT_KINDS
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be among {sorted(FAULT_KINDS)}")
        self._faults.rate = rate
        self._faults.kinds = tuple(kinds)
        self._faults.methods = frozenset(methods)
        self._faults.retry_after = max(1, int(retry_after))
        self._faults.rng = random.Random(seed)

    def clear_faults(self) -> None:
        """Stop injecting faults and delays."""
        self._faults = _Faults()

    def delay_responses(
        self,
        seconds: float,
        *,
        methods: Iterable[str] = SEND_METHODS,
        count: int | None = None,
    ) -> None:
        """Process calls to ``methods`` normally but answer ``seconds`` late (``count`` times)."""
        self._faults.delay = max(0.0, seconds)
        self._faults.delay_methods = frozenset(methods)
        self._faults.delay_count = count

    def reset_flood(self) -> None:
        """Refill every flood-control bucket."""
        self.flood.reset()

    def max_sends_in_window(self, window: float = 1.0, chat_id: int | None = None) -> int:
        """Most accepted sends (to ``chat_id``, or overall) within any [t, t + window)."""
        return max_in_window(
            (s.time for s in self.sends if chat_id is None or s.chat_id == chat_id), window
        )

    def transcript(self, chat_id: int) -> list[StoredMessage]:
        """The chat's messages in order, user's and bot's, deleted ones flagged ``deleted``."""
        state = self._chats.get(chat_id)
        return list(state.messages.values()) if state else []

    def events(self, chat_id: int) -> list[ChatEvent]:
        """Everything that happened in the chat: messages, edits, presses, answers, actions."""
        state = self._chats.get(chat_id)
        return list(state.events) if state else []

    def render_transcript(self, chat_id: int, last: int | None = None) -> str:
        """The chat's events as text lines (the last ``last`` of them)."""
        events = self.events(chat_id)
        if last is not None:
            events = events[-last:]
        return "\n".join(str(event) for event in events) or "(nothing happened in this chat)"

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        """The stored message (raises KeyError when there is none)."""
        state = self._chats.get(chat_id)
        if state is None or message_id not in state.messages:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return state.messages[message_id]

    def file(self, file_id: str) -> StoredFile:
        """The stored file (raises KeyError when there is none)."""
        return self._files[file_id]

    def file_of(self, message: dict[str, Any] | StoredMessage) -> StoredFile:
        """The document or photo a message carries, with its bytes, name and MIME type."""
        stored = (
            message
            if isinstance(message, StoredMessage)
            else self.message(int(message["chat"]["id"]), int(message["message_id"]))
        )
        if stored.file is None:
            raise KeyError(f"message {stored.message_id} carries no file")
        return stored.file

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed (polling) or delivered (webhook)."""
        return copy.deepcopy(self._updates)

    @property
    def webhook(self) -> WebhookConfig | None:
        """The current webhook, if one is set."""
        return self._webhook

    def retry_webhook(self) -> None:
        """Try to deliver pending updates to the webhook again now."""
        self._webhook_kick.set()

    def add_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        """Call ``listener`` with every chat event as it happens (e.g. to print a live demo)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    async def wait_idle(self, timeout: float = 5.0, settle: float = 0.05) -> None:  # noqa: ASYNC109
        """Return once every update is fetched, every press answered and ``settle`` s are quiet.

        "Quiet" means no Bot API call other than getUpdates ran or finished in that time, so a
        handler that is still thinking without calling the API cannot be seen.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            outstanding = self._outstanding()
            quiet_for = loop.time() - self._last_activity
            if not outstanding and quiet_for >= settle:
                return
            if loop.time() >= deadline:
                raise TimeoutError("sandbox not idle: " + "; ".join(outstanding or ["busy"]))
            await asyncio.sleep(min(0.01, max(deadline - loop.time(), 0.0)))

    def _outstanding(self) -> list[str]:
        reasons: list[str] = []
        unfetched = [u["update_id"] for u in self._updates if u["update_id"] > self._fetched_upto]
        if unfetched:
            reasons.append(f"updates not fetched: {unfetched}")
        now = self.clock()
        unanswered = [
            q.id
            for q in self.callback_queries.values()
            if not q.answered and now - q.created <= self.callback_query_ttl
        ]
        if unanswered:
            reasons.append(f"callback queries not answered: {unanswered}")
        if self._inflight:
            reasons.append(f"{self._inflight} request(s) in flight")
        return reasons

    # ------------------------------------------------------------------ internals used by users

    def _notify(self) -> None:
        """Wake everything waiting for a state change."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(
        self,
        check: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        describe: Callable[[], str],
    ) -> T:
        """Re-run ``check`` after each state change until it returns a value or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            found = check()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _chat_state(self, chat_id: int, *, create: bool = False) -> ChatState:
        state = self._chats.get(chat_id)
        if state is not None:
            return state
        user = self._users.get(chat_id)
        if user is None and not (create or self.auto_create_chats):
            raise ApiError(400, "Bad Request: chat not found")
        chat: dict[str, Any] = {"id": chat_id, "type": "private"}
        if user is not None:
            chat["first_name"] = user.first_name
            if user.last_name:
                chat["last_name"] = user.last_name
            if user.username:
                chat["username"] = user.username
        else:
            chat["first_name"] = f"User {chat_id}"
        state = self._chats[chat_id] = ChatState(chat)
        return state

    def _add_event(
        self,
        state: ChatState,
        kind: EventKind,
        actor: Sender,
        text: str,
        message_id: int | None = None,
    ) -> None:
        event = ChatEvent(self.clock(), state.id, kind, actor, text, message_id)
        state.events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("sandbox listener failed on %s", event.kind)

    def _store_message(
        self,
        state: ChatState,
        sender: Sender,
        from_user: dict[str, Any],
        **fields: Any,
    ) -> StoredMessage:
        msg = StoredMessage(
            chat=dict(state.chat),
            message_id=state.next_message_id,
            sender=sender,
            from_user=dict(from_user),
            date=int(time.time()),
            **fields,
        )
        state.next_message_id += 1
        state.messages[msg.message_id] = msg
        if sender == "bot":
            state.bot_sent.append(msg)
        self._add_event(state, "message", sender, _describe_message(msg), msg.message_id)
        self._notify()
        return msg

    def _new_file(
        self,
        kind: FileKind,
        data: bytes | None,
        filename: str | None,
        mime_type: str | None,
        *,
        url: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        prefix = "BQAC" if kind == "document" else "AgAC"
        ext = ""
        if filename and "." in filename:
            ext = filename.rsplit(".", 1)[1]
        elif mime_type:
            ext = (mimetypes.guess_extension(mime_type) or "").lstrip(".")
        folder = "documents" if kind == "document" else "photos"
        stored = StoredFile(
            file_id=f"{prefix}SandboxFile{n:08d}{random.randbytes(6).hex()}",
            file_unique_id=f"AQAD{n:08d}",
            kind=kind,
            data=data,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{n}" + (f".{ext}" if ext else ""),
            width=width,
            height=height,
            url=url,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _enqueue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update for getUpdates / the webhook; None if allowed_updates filters it."""
        allowed = self._webhook.allowed_updates if self._webhook else self._allowed_updates
        if allowed:
            if kind not in allowed:
                logger.debug("sandbox dropped a %s update (not in allowed_updates)", kind)
                return None
        elif kind in NOT_DEFAULT_UPDATES:
            return None
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self._updates.append(update)
        self._webhook_kick.set()
        self._notify()
        return update

    def _new_callback_query(
        self, user: SandboxUser, message: StoredMessage, data: str
    ) -> CallbackQueryRecord:
        self._query_counter += 1
        query_id = f"{user.id % 10**9}{self._query_counter:09d}"
        record = CallbackQueryRecord(
            id=query_id,
            chat_id=message.chat_id,
            message_id=message.message_id,
            data=data,
            created=self.clock(),
            version=len(message.history),
        )
        self.callback_queries[query_id] = record
        return record

    def _member_change(self, chat_id: int, *, blocked: bool, notify: bool) -> None:
        state = self._chats.get(chat_id)
        if state is not None:
            self._add_event(state, "blocked" if blocked else "unblocked", "user", "")
        user = self._users.get(chat_id)
        if notify and user is not None and state is not None:
            member = {"status": "member", "user": dict(self.bot_user)}
            kicked = {"status": "kicked", "user": dict(self.bot_user), "until_date": 0}
            self._enqueue_update(
                "my_chat_member",
                {
                    "chat": dict(state.chat),
                    "from": user.user_dict,
                    "date": int(time.time()),
                    "old_chat_member": member if blocked else kicked,
                    "new_chat_member": kicked if blocked else member,
                },
            )
        self._notify()

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        prefix = request.match_info["bot_token"]
        method_name = request.match_info["method"]
        if not prefix.startswith("bot") or prefix[3:] != self.token or self.logged_out:
            error = (
                ApiError(401, UNAUTHORIZED)
                if prefix.startswith("bot")
                else ApiError(404, "Not Found")
            )
            return self._reply_error(request, method_name, {}, error)
        method = self._resolve_method(method_name)
        if isinstance(method, ApiError):
            return self._reply_error(request, method_name, {}, method)
        counted = method != "getUpdates"
        if counted:
            self._inflight += 1
        record_params: dict[str, Any] = {}
        try:
            raw = await self._read_params(request)
            record_params = {
                k: v.describe() if isinstance(v, UploadedFile) else v for k, v in raw.items()
            }
            params = coerce_params(method, raw, self.spec)
            fault = self._pick_fault(method)
            if fault == "429":
                retry = self._faults.retry_after
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                )
            if fault == "5xx":
                raise ApiError(502, "Bad Gateway")
            if fault == "drop":
                return self._drop(request, method, record_params)
            result = await self._handlers[method](params)
            if fault == "drop_after":
                return self._drop(request, method, record_params)
            await self._maybe_delay(method)
            body: dict[str, Any] = {"ok": True, "result": result}
            if method in ("setWebhook", "deleteWebhook") and isinstance(result, bool):
                body["description"] = self._webhook_description
            self._record(method, record_params, 200, None)
            return web.json_response(body)
        except ApiError as error:
            return self._reply_error(request, method, record_params, error)
        except Exception as exc:
            # A sandbox bug: answer in Telegram's envelope so the bot and the test both see it.
            logger.exception("sandbox failed on %s", method)
            failure = ApiError(500, f"Internal Server Error: {type(exc).__name__}: {exc}")
            return self._reply_error(request, method, record_params, failure)
        finally:
            if counted:
                self._inflight -= 1
                self._last_activity = asyncio.get_running_loop().time()

    def _resolve_method(self, name: str) -> str | ApiError:
        """The canonical method name, or the error Telegram gives for it."""
        if self.spec is not None:
            canonical = self.spec.canonical_method(name)
            if canonical is None:
                return ApiError(404, "Not Found: method not found")
            if canonical not in self._handlers:
                return ApiError(
                    400, f"Bad Request: method {canonical} is not implemented by the sandbox"
                )
            return canonical
        found = self._handlers_lower.get(name.lower())
        return found if found is not None else ApiError(404, "Not Found: method not found")

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Parameters from the query string and a JSON, urlencoded or multipart body."""
        raw: dict[str, Any] = dict(request.query)
        if not request.can_read_body:
            return raw
        content_type = request.content_type
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    raw[name] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[name] = value
        else:
            body = await request.read()
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON") from None
                if not isinstance(data, dict):
                    raise ApiError(400, "Bad Request: parameters must be a JSON object")
                raw.update(data)
        # Files referenced as attach://<part> replace the reference; the part is not a parameter.
        for name, value in list(raw.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = raw.get(value[len("attach://") :])
                if isinstance(part, UploadedFile):
                    raw[name] = part
                    del raw[value[len("attach://") :]]
        return raw

    def _pick_fault(self, method: str) -> str | None:
        faults = self._faults
        if faults.rate <= 0 or method not in faults.methods:
            return None
        if faults.rng.random() >= faults.rate:
            return None
        kind = faults.rng.choice(faults.kinds)
        self.faults.append(FaultRecord(kind, method, self.clock()))
        logger.debug("sandbox injects fault %s into %s", kind, method)
        return kind

    async def _maybe_delay(self, method: str) -> None:
        faults = self._faults
        if faults.delay <= 0 or method not in faults.delay_methods:
            return
        if faults.delay_count is not None:
            if faults.delay_count <= 0:
                return
            faults.delay_count -= 1
        self.faults.append(FaultRecord("delay", method, self.clock()))
        await self._sleep(faults.delay)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the sandbox stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)

    def _drop(
        self, request: web.Request, method: str, params: dict[str, Any]
    ) -> web.StreamResponse:
        """Close the connection without an answer, as a broken network would."""
        self._record(method, params, 0, "connection dropped")
        if request.transport is not None:
            request.transport.close()
        return web.Response()

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        status: int,
        description: str | None,
        *,
        served: bool = True,
    ) -> None:
        if self.keep_request_log:
            self.requests.append(RequestRecord(method, params, status, self.clock(), description))
        if status >= 400 and served:
            self.errors_served[status] += 1
        logger.debug("sandbox %s -> %s %s", method, status, description or "")

    def _reply_error(
        self, request: web.Request, method: str, params: dict[str, Any], error: ApiError
    ) -> web.StreamResponse:
        # A client that already hung up (e.g. a cancelled long poll) never sees the error.
        gone = request.transport is None or request.transport.is_closing()
        description = error.description + (" (client gone)" if gone else "")
        if error.stale and not gone:
            self.stale_edits_served += 1
        self._record(method, params, error.status, description, served=not (gone or error.stale))
        return web.json_response(error.envelope(), status=error.status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve a file's bytes at /file/bot<token>/<file_path>."""
        prefix = request.match_info["bot_token"]
        if prefix[3:] != self.token or not prefix.startswith("bot"):
            return web.json_response(ApiError(401, UNAUTHORIZED).envelope(), status=401)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None or stored.data is None:
            return web.json_response(ApiError(404, "Not Found").envelope(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ------------------------------------------------------------------ webhook push

    async def _webhook_loop(self) -> None:
        """Deliver pending updates to the webhook in order, one at a time."""
        while not self._stopping:
            self._webhook_kick.clear()
            hook = self._webhook
            if hook is None or not self._updates:
                await self._webhook_kick.wait()
                continue
            update = self._updates[0]
            try:
                delivered = await self._deliver(hook, update)
            except Exception:
                logger.exception("sandbox webhook delivery crashed; will retry")
                await self._sleep(self.webhook_backoff)
                continue
            if delivered:
                if self._updates and self._updates[0]["update_id"] == update["update_id"]:
                    self._updates.pop(0)
                self._fetched_upto = max(self._fetched_upto, int(update["update_id"]))
                self._notify()
            elif self._webhook is hook and not self._stopping:
                # Retries used up: the update stays pending until something new happens.
                await self._webhook_kick.wait()

    async def _deliver(self, hook: WebhookConfig, update: dict[str, Any]) -> bool:
        """POST one update, retrying with back-off; True once the webhook answers 2xx."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        body = json.dumps(update)
        for attempt in range(1 + self.webhook_retries):
            if self._webhook is not hook or self._stopping:
                return False
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                    hook.url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as response:
                    status = response.status
                    await response.read()
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            self.webhook_deliveries.append(
                WebhookDelivery(int(update["update_id"]), attempt + 1, status, error, self.clock())
            )
            if error is None:
                return True
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            logger.debug("sandbox webhook delivery failed: %s", error)
            self._notify()
            if attempt < self.webhook_retries:
                await self._sleep(self.webhook_backoff * 2**attempt)
        return False

    # ------------------------------------------------------------------ helpers for methods

    def _target_chat(self, params: dict[str, Any]) -> ChatState:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str):
            try:
                chat_id = int(chat_id)
            except ValueError:
                raise ApiError(400, "Bad Request: chat not found") from None
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise ApiError(400, "Bad Request: chat_id is empty")
        return self._chat_state(chat_id)

    def _check_blocked(self, state: ChatState) -> None:
        if state.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_flood(self, state: ChatState, params: dict[str, Any] | None = None) -> None:
        """Count a message or an edit against Telegram's limits (see bot/sandbox/flood.py)."""
        if not self.flood_control:
            return
        paid = bool(params and params.get("allow_paid_broadcast"))
        retry_after = self.flood.acquire(state.id, paid=paid)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def _reply_target(self, state: ChatState, params: dict[str, Any]) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        message_id: Any = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        target = state.messages.get(int(message_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return target

    def _record_send(self, method: str, msg: StoredMessage) -> None:
        self.sends.append(SendRecord(self.clock(), msg.chat_id, method, msg.message_id))

    def _upload(self, value: Any, kind: FileKind, *, limit: int) -> StoredFile:
        """The StoredFile for an uploaded file, a known file_id or a URL."""
        if isinstance(value, UploadedFile):
            if not value.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(value.data) > limit:
                raise ApiError(413, "Request Entity Too Large")
            mime = value.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename or "")[0] or mime
            width = height = 0
            if kind == "photo":
                size = image_size(value.data)
                if size is None:
                    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
                width, height = size
                if (
                    width + height > 10000
                    or min(width, height) == 0
                    or (max(width, height) / min(width, height) > 20)
                ):
                    raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
            return self._new_file(
                kind, value.data, value.filename, mime, width=width, height=height
            )
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                return known
            if value.startswith(("http://", "https://")):
                name = value.rstrip("/").rsplit("/", 1)[-1] or None
                return self._new_file(kind, None, name, mimetypes.guess_type(value)[0], url=value)
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _edit_target(self, params: dict[str, Any]) -> tuple[ChatState, StoredMessage]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        state = self._target_chat(params)
        self._check_blocked(state)
        msg = state.messages.get(int(params["message_id"]))
        if msg is None or msg.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.sender != "bot":
            raise ApiError(400, "Bad Request: message can't be edited")
        return state, msg

    def _not_modified(self, msg: StoredMessage) -> ApiError:
        error = ApiError(400, NOT_MODIFIED)
        # Two presses showed the bot the same version, and the first one's edit landed before
        # the second one's: a double tap, which the real API answers the same way.
        shown = Counter(
            q.version
            for q in self.callback_queries.values()
            if (q.chat_id, q.message_id) == (msg.chat_id, msg.message_id)
        )
        error.stale = any(n >= 2 and v < len(msg.history) for v, n in shown.items())
        return error

    def _apply_edit(self, state: ChatState, msg: StoredMessage, what: str) -> dict[str, Any]:
        msg.edit_date = int(time.time())
        self._add_event(state, "edit", "bot", what, msg.message_id)
        self._notify()
        return msg.to_dict()

    # ------------------------------------------------------------------ Bot API methods

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_user)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting must end with 409
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if isinstance(allowed, list) else None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
            if self._poll_generation != generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
        batch = self._updates[:limit]
        if batch:
            self._fetched_upto = max(self._fetched_upto, int(batch[-1]["update_id"]))
            self._notify()
        return copy.deepcopy(batch)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        drop = bool(params.get("drop_pending_updates"))
        if not url:
            return await self._delete_webhook({"drop_pending_updates": drop})
        if not url.startswith(("https://", "http://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be in 1..100")
        allowed = params.get("allowed_updates")
        if drop:
            self._updates.clear()
        previous = self._webhook
        self._webhook = WebhookConfig(
            url=url,
            secret_token=str(secret) if secret else None,
            max_connections=max_connections,
            allowed_updates=list(allowed)
            if isinstance(allowed, list)
            else (previous.allowed_updates if previous else None),
            has_custom_certificate=isinstance(params.get("certificate"), UploadedFile),
            ip_address=params.get("ip_address"),
        )
        self._webhook_description = "Webhook was set"
        self._webhook_kick.set()
        self._notify()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        was_set = self._webhook is not None
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook_description = (
            "Webhook was deleted" if was_set else "Webhook is already deleted"
        )
        self._webhook_kick.set()
        self._notify()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": bool(hook and hook.has_custom_certificate),
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if hook.allowed_updates is not None:
                info["allowed_updates"] = list(hook.allowed_updates)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_message_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        inline, other = validate_reply_markup(params.get("reply_markup"), inline_only=False)
        state = self._target_chat(params)
        reply_to = self._reply_target(state, params)
        self._check_blocked(state)
        self._check_flood(state, params)
        msg = self._store_message(
            state,
            "bot",
            self.bot_user,
            text=parsed.text,
            entities=parsed.entities,
            inline_markup=inline,
            other_markup=other,
            reply_to=reply_to,
            source_text=params.get("text"),
            parse_mode=params.get("parse_mode"),
        )
        self._after_send(state, "sendMessage", msg, other)
        return msg.to_dict()

    def _after_send(
        self, state: ChatState, method: str, msg: StoredMessage, other: dict[str, Any] | None
    ) -> None:
        self._record_send(method, msg)
        if other is not None:
            state.reply_keyboard = other if "keyboard" in other else None

    async def _send_media(
        self, params: dict[str, Any], kind: FileKind, method: str
    ) -> dict[str, Any]:
        caption = self._parse_caption(params)
        inline, other = validate_reply_markup(params.get("reply_markup"), inline_only=False)
        state = self._target_chat(params)
        reply_to = self._reply_target(state, params)
        self._check_blocked(state)
        limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES
        stored = self._upload(params.get(kind), kind, limit=limit)
        self._check_flood(state, params)
        msg = self._store_message(
            state,
            "bot",
            self.bot_user,
            caption=caption.text or None,
            caption_entities=caption.entities,
            media=kind,
            file=stored,
            inline_markup=inline,
            other_markup=other,
            reply_to=reply_to,
            source_text=params.get("caption"),
            parse_mode=params.get("parse_mode"),
        )
        self._after_send(state, method, msg, other)
        return msg.to_dict()

    def _parse_caption(self, params: dict[str, Any]) -> ParsedText:
        return parse_message_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "photo", "sendPhoto")

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "document", "sendDocument")

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        state, msg = self._edit_target(params)
        if msg.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parsed = parse_message_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        # Like Telegram: editing the text without reply_markup removes the inline keyboard.
        inline, _ = validate_reply_markup(params.get("reply_markup"), inline_only=True)
        if (parsed.text, parsed.entities, inline) == (msg.text, msg.entities, msg.inline_markup):
            raise self._not_modified(msg)
        self._check_flood(state, params)  # Telegram counts edits like sends
        msg.snapshot()
        msg.text, msg.entities, msg.inline_markup = parsed.text, parsed.entities, inline
        msg.source_text, msg.parse_mode = params.get("text"), params.get("parse_mode")
        return self._apply_edit(state, msg, _describe_message(msg))

    async def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        state, msg = self._edit_target(params)
        if msg.media is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = self._parse_caption(params)
        inline, _ = validate_reply_markup(params.get("reply_markup"), inline_only=True)
        new = (caption.text or None, caption.entities, inline)
        if new == (msg.caption, msg.caption_entities, msg.inline_markup):
            raise self._not_modified(msg)
        self._check_flood(state, params)  # Telegram counts edits like sends
        msg.snapshot()
        msg.caption, msg.caption_entities, msg.inline_markup = new
        msg.source_text, msg.parse_mode = params.get("caption"), params.get("parse_mode")
        return self._apply_edit(state, msg, _describe_message(msg))

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        state, msg = self._edit_target(params)
        inline, _ = validate_reply_markup(params.get("reply_markup"), inline_only=True)
        if inline == msg.inline_markup:
            raise self._not_modified(msg)
        self._check_flood(state, params)  # Telegram counts edits like sends
        msg.snapshot()
        msg.inline_markup = inline
        return self._apply_edit(state, msg, "keyboard " + _describe_buttons(msg))

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        state = self._target_chat(params)
        msg = state.messages.get(int(params.get("message_id") or 0))
        if msg is None or msg.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        msg.deleted = True
        self._add_event(state, "delete", "bot", "", msg.message_id)
        self._notify()
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query = self.callback_queries.get(str(params.get("callback_query_id") or ""))
        if (
            query is None
            or query.answered
            or self.clock() - query.created > self.callback_query_ttl
        ):
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {
            key: params[key] for key in ("text", "show_alert", "url", "cache_time") if key in params
        }
        state = self._chats.get(query.chat_id)
        if state is not None:
            shown = repr(text) if text else "(no text)"
            self._add_event(
                state,
                "answer",
                "bot",
                shown + (" as an alert" if params.get("show_alert") else ""),
                query.message_id,
            )
        self._notify()
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.file_dict()

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        action = str(params.get("action") or "")
        if action not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        state = self._target_chat(params)
        self._check_blocked(state)
        state.actions.append(action)
        self._add_event(state, "action", "bot", action.replace("_", " "))
        self._notify()
        return True

    def _scope_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in BOT_COMMAND_SCOPES:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        if scope["type"].startswith("chat") and "chat_id" not in scope:
            raise ApiError(400, "Bad Request: chat_id is empty")
        language = str(params.get("language_code") or "")
        if not _LANGUAGE_RE.match(language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        key = self._scope_key(params)
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        cleaned: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict) or set(command) - {"command", "description"}:
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.match(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return copy.deepcopy(self.commands.get(self._scope_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def _language(self, params: dict[str, Any]) -> str:
        language = str(params.get("language_code") or "")
        if not _LANGUAGE_RE.match(language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return language

    async def _set_my_description(self, params: dict[str, Any]) -> bool:
        text = str(params.get("description") or "")
        if len(text) > 512:
            raise ApiError(400, "Bad Request: description is too long")
        self.descriptions[("description", self._language(params))] = text
        return True

    async def _get_my_description(self, params: dict[str, Any]) -> dict[str, str]:
        key = ("description", self._language(params))
        return {"description": self.descriptions.get(key, "")}

    async def _set_my_short_description(self, params: dict[str, Any]) -> bool:
        text = str(params.get("short_description") or "")
        if len(text) > 120:
            raise ApiError(400, "Bad Request: short description is too long")
        self.descriptions[("short_description", self._language(params))] = text
        return True

    async def _get_my_short_description(self, params: dict[str, Any]) -> dict[str, str]:
        key = ("short_description", self._language(params))
        return {"short_description": self.descriptions.get(key, "")}

    async def _close(self, params: dict[str, Any]) -> bool:
        return True

    async def _log_out(self, params: dict[str, Any]) -> bool:
        # After logOut Telegram's cloud API answers 401 to this token.
        self.logged_out = True
        return True


def _describe_buttons(msg: StoredMessage) -> str:
    rows = msg.buttons
    if not rows:
        return "(no buttons)"
    return " ".join(
        "[" + " | ".join(f"{text}" + (f" → {data}" if data else "") for text, data in row) + "]"
        for row in rows
    )


def _describe_message(msg: StoredMessage) -> str:
    """One line for transcripts: text or caption, attached file, buttons."""
    parts: list[str] = []
    if msg.text is not None:
        parts.append(msg.text)
    if msg.file is not None:
        parts.append(
            f"<{msg.media} {msg.file.filename or msg.file.file_id}, "
            f"{msg.file.mime_type or '?'}, {msg.file.size} bytes>"
        )
    if msg.caption:
        parts.append(msg.caption)
    if msg.inline_markup:
        parts.append(_describe_buttons(msg))
    return " ".join(parts)
