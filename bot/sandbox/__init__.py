"""A local Telegram Bot API sandbox for tests, the terminal demo and benchmarks."""

from .chats import ANONYMOUS_ADMIN, SandboxChannel, SandboxGroup
from .flood import FloodControl, SlidingWindow, max_in_window
from .html_entities import HtmlParseError, ParsedText, parse_html, plain_text, utf16_len
from .models import (
    ApiError,
    CallbackQueryRecord,
    ChatEvent,
    FaultRecord,
    RequestRecord,
    SendRecord,
    StoredFile,
    StoredMessage,
    UploadedFile,
    WebhookDelivery,
    inline_buttons,
)
from .server import BotApiSandbox, WebhookConfig
from .spec import ApiSpec, find_spec_path
from .users import SandboxUser

__all__ = [
    "ANONYMOUS_ADMIN",
    "SandboxChannel",
    "SandboxGroup",
    "ApiError",
    "ApiSpec",
    "BotApiSandbox",
    "CallbackQueryRecord",
    "ChatEvent",
    "FaultRecord",
    "FloodControl",
    "HtmlParseError",
    "ParsedText",
    "RequestRecord",
    "SandboxUser",
    "SendRecord",
    "StoredFile",
    "StoredMessage",
    "SlidingWindow",
    "UploadedFile",
    "WebhookConfig",
    "WebhookDelivery",
    "find_spec_path",
    "inline_buttons",
    "max_in_window",
    "parse_html",
    "plain_text",
    "utf16_len",
]
