"""Request checks Telegram makes: parameter names and types, texts, keyboards and images."""

from __future__ import annotations

import json
import re
import struct
from typing import Any

from .html_entities import HtmlParseError, ParsedText, parse_html, utf16_len
from .models import ApiError, UploadedFile
from .spec import ApiSpec, FieldSpec

__all__ = [
    "PTB_DEFAULT_PARAMETERS",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "coerce_params",
    "image_size",
    "parse_message_text",
    "validate_reply_markup",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INLINE_BUTTON_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style", *BUTTON_ACTIONS})
_KEYBOARD_BUTTON_FIELDS = frozenset(
    {
        "text",
        "icon_custom_emoji_id",
        "style",
        "request_users",
        "request_chat",
        "request_managed_bot",
        "request_contact",
        "request_location",
        "request_poll",
        "web_app",
    }
)

# Without api.json: the few parameter names whose type matters to the methods implemented.
_INT_NAMES = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "message_thread_id",
    }
)
_BOOL_NAMES = frozenset(
    {
        "drop_pending_updates",
        "show_alert",
        "disable_notification",
        "protect_content",
        "has_spoiler",
        "disable_content_type_detection",
        "allow_paid_broadcast",
        "show_caption_above_media",
    }
)
_TEXT_NAMES = frozenset({"text", "caption", "description", "short_description", "name"})

# python-telegram-bot's Defaults put these into every call that goes through its message helper,
# even methods without such a parameter (e.g. parse_mode on editMessageReplyMarkup). Telegram
# ignores them, and the bot cannot avoid them, so the sandbox drops them instead of refusing.
PTB_DEFAULT_PARAMETERS = frozenset(
    {
        "parse_mode",
        "disable_notification",
        "protect_content",
        "link_preview_options",
        "allow_sending_without_reply",
    }
)

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_URL_RE = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def coerce_params(method: str, raw: dict[str, Any], spec: ApiSpec | None) -> dict[str, Any]:
    """Typed parameters for ``method``; with a spec, reject unknown names and missing ones."""
    if spec is None:
        return {name: _guess(name, value) for name, value in raw.items()}
    fields = spec.method_fields(method)
    params: dict[str, Any] = {}
    for name, value in raw.items():
        field_spec = fields.get(name)
        if field_spec is None:
            if name in PTB_DEFAULT_PARAMETERS:
                continue
            # Telegram ignores unknown parameters; the sandbox refuses them to catch typos.
            raise _bad(f"unknown parameter {name}")
        params[name] = _coerce(field_spec, value)
    for field_spec in fields.values():
        if field_spec.required and field_spec.name not in params:
            if field_spec.name == "text":
                raise _bad("message text is empty")
            raise _bad(f'parameter "{field_spec.name}" is required')
    return params


def _coerce(field_spec: FieldSpec, value: Any) -> Any:
    """``value`` converted to the field's type the way Telegram reads form values."""
    name, types = field_spec.name, field_spec.types
    if isinstance(value, UploadedFile):
        if "InputFile" in types:
            return value
        raise _bad(f'parameter "{name}" can\'t be a file')
    if not isinstance(value, str):
        return value
    if "InputFile" in types or types == ("String",):
        return value
    if "Integer" in types:
        try:
            return int(value.strip())
        except ValueError:
            if "String" in types:
                return value
            raise _bad(f'parameter "{name}" must be an Integer') from None
    if "Float" in types:
        try:
            return float(value.strip())
        except ValueError:
            raise _bad(f'parameter "{name}" must be a Float') from None
    if "Boolean" in types:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _bad(f'parameter "{name}" must be a Boolean')
    if "String" in types:
        return value
    try:
        return json.loads(value)
    except ValueError:
        if name == "reply_markup":
            raise _bad("can't parse reply keyboard markup JSON object") from None
        raise _bad(f"can't parse {name} JSON object") from None


def _guess(name: str, value: Any) -> Any:
    """Best-effort typing of a form value when api.json is unavailable."""
    if not isinstance(value, str):
        return value
    if name in _INT_NAMES:
        try:
            return int(value)
        except ValueError:
            return value
    if name in _BOOL_NAMES and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if name not in _TEXT_NAMES and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def parse_message_text(
    text: Any,
    parse_mode: Any,
    entities: Any,
    *,
    caption: bool,
) -> ParsedText:
    """The visible text and entities of a text or caption, or the ApiError Telegram answers."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise _bad("message text is empty" if not caption else "can't parse caption")
    if entities is not None:
        # Explicit entities index the text as sent, so it is kept unstripped.
        parsed = ParsedText(text, _check_entities(entities))
    elif parse_mode:
        mode = str(parse_mode).lower()
        if mode == "html":
            try:
                parsed = parse_html(text)
            except HtmlParseError as exc:
                raise _bad(f"can't parse entities: {exc.reason}") from None
        elif mode in ("markdown", "markdownv2"):
            raise _bad(f"unsupported parse_mode {parse_mode}: the sandbox implements only HTML")
        else:
            raise _bad(f"unsupported parse_mode {parse_mode}")
    else:
        parsed = ParsedText(text.strip())
    if caption:
        if utf16_len(parsed.text) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
    else:
        if not parsed.text.strip():
            raise _bad("message text is empty")
        if utf16_len(parsed.text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
    return parsed


def _check_entities(entities: Any) -> list[dict[str, Any]]:
    """Explicit ``entities``: a list of objects with a type, an offset and a length."""
    if not isinstance(entities, list):
        raise _bad("can't parse entities JSON object")
    for entity in entities:
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("type"), str)
            or not isinstance(entity.get("offset"), int)
            or not isinstance(entity.get("length"), int)
        ):
            raise _bad("can't parse entities JSON object")
    return [dict(entity) for entity in entities]


def validate_reply_markup(
    markup: Any, *, inline_only: bool
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Check a reply_markup like Telegram; return (inline keyboard, other markup), each or None."""
    if markup is None:
        return None, None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise _bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _inline_keyboard(markup), None
    if inline_only:
        raise _bad("inline keyboard expected")
    if "keyboard" in markup:
        _reply_keyboard(markup)
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise _bad('field "remove_keyboard" of the ReplyKeyboardRemove must be true')
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise _bad('field "force_reply" of the ForceReply must be true')
    else:
        raise _bad("can't parse reply keyboard markup JSON object")
    return None, markup


def _inline_keyboard(markup: dict[str, Any]) -> dict[str, Any] | None:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    count = 0
    for row in rows:
        for button in row:
            _inline_button(button)
            count += 1
    if count > MAX_INLINE_BUTTONS:
        raise _bad("reply markup is too long")
    if count == 0:
        return None  # an empty keyboard is no keyboard
    return {"inline_keyboard": [[dict(button) for button in row] for row in rows if row]}


def _inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button:"
    if not isinstance(button, dict):
        raise _bad(f"{prefix} InlineKeyboardButton must be an Object")
    unknown = sorted(set(button) - _INLINE_BUTTON_FIELDS)
    if unknown:
        raise _bad(f'{prefix} unknown field "{unknown[0]}"')
    text = button.get("text")
    if not isinstance(text, str):
        raise _bad(f'{prefix} Field "text" must be of type String')
    if not text.strip():
        raise _bad(f"{prefix} Text must be non-empty")
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if not actions:
        raise _bad(f"{prefix} Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _bad(f"{prefix} exactly one of {', '.join(actions)} may be specified")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not _URL_RE.match(url):
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _reply_keyboard(markup: dict[str, Any]) -> None:
    rows = markup["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            text: Any
            if isinstance(button, str):
                text = button
            elif isinstance(button, dict):
                unknown = sorted(set(button) - _KEYBOARD_BUTTON_FIELDS)
                if unknown:
                    raise _bad(f'can\'t parse keyboard button: unknown field "{unknown[0]}"')
                text = button.get("text")
            else:
                raise _bad("can't parse keyboard button: KeyboardButton must be an Object")
            if not isinstance(text, str) or not text.strip():
                raise _bad("can't parse keyboard button: Text must be non-empty")


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP image, or None if it is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk JPEG segments to the first start-of-frame marker."""
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    return None
