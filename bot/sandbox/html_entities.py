"""Telegram's HTML parse mode: the text a message shows, its entities, or why Telegram refuses it.

Mirrors the rules of Telegram's own parser (TDLib ``parse_html``): the allowed tags, the four
named entities plus numeric ones, attribute handling and the error texts, which Telegram sends
back as ``Bad Request: can't parse entities: <reason>``. One deliberate difference: a bare ``&``
that starts no valid entity is an error here (Telegram keeps it literally, but its documentation
requires escaping it, and a bot that forgets usually also forgets ``<``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALLOWED_TAGS",
    "HtmlParseError",
    "ParsedText",
    "parse_html",
    "plain_text",
    "utf16_len",
]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)

_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7}));")
_UNQUOTED_VALUE_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
)
_USER_LINK_RE = re.compile(r"^tg://user\?id=(\d{1,20})$")


class HtmlParseError(ValueError):
    """Telegram would refuse the text; ``reason`` is what follows "can't parse entities: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedText:
    """The text a user sees and its entities (offsets and lengths in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def utf16_length(self) -> int:
        """Length of ``text`` as Telegram counts it."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """Number of UTF-16 code units in ``text`` (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def plain_text(text: str) -> str:
    """The visible text of an HTML message (raises ``HtmlParseError`` like ``parse_html``)."""
    return parse_html(text).text


@dataclass
class _OpenTag:
    name: str
    argument: str | None
    offset: int  # UTF-16 offset in the output where the entity starts
    begin: int  # index in the source just after "<"


def _decode_entity(source: str, pos: int) -> tuple[str, int] | None:
    """The character an entity at ``source[pos]`` stands for and the index after it, if valid."""
    match = _ENTITY_RE.match(source, pos)
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named is not None:
        return _NAMED_ENTITIES[named], match.end()
    code = int(decimal, 10) if decimal is not None else int(hexadecimal, 16)
    # TDLib refuses NUL, surrogates and anything beyond Unicode.
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(source: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse ``source`` like Telegram's HTML parse mode; raise ``HtmlParseError`` where it would."""

    def byte_offset(index: int) -> int:
        return len(source[:index].encode("utf-8", "surrogatepass"))

    size = len(source)
    out: list[str] = []
    out_len = 0  # UTF-16 length of "".join(out), kept incrementally
    entities: list[dict[str, Any]] = []
    stack: list[_OpenTag] = []
    i = 0
    while i < size:
        ch = source[i]
        if ch == "&":
            decoded = _decode_entity(source, i)
            if decoded is not None:
                out.append(decoded[0])
                out_len += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Character "&" at byte offset {byte_offset(i)} must be escaped as "&amp;"'
                )
        if ch != "<":
            out.append(ch)
            out_len += utf16_len(ch)
            i += 1
            continue

        tag_start = i
        i += 1
        if i < size and source[i] == "/":
            i = _close_tag(source, i, tag_start, stack, entities, out_len, byte_offset)
            continue

        name_start = i
        while i < size and not source[i].isspace() and source[i] != ">":
            i += 1
        if i >= size:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
        tag = source[name_start:i].lower()
        if tag not in ALLOWED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {byte_offset(tag_start)}'
            )
        argument, i = _read_attributes(source, i, tag, tag_start, byte_offset)
        i += 1  # past ">"
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(tag_start)}'
            )
        stack.append(_OpenTag(tag, argument, out_len, name_start))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return _strip(ParsedText("".join(out), _sorted(entities)))


def _read_attributes(
    source: str, i: int, tag: str, tag_start: int, byte_offset: Callable[[int], int]
) -> tuple[str | None, int]:
    """Read the attributes of a start tag; return the one Telegram uses and the index of ">"."""
    size = len(source)
    argument: str | None = None
    while source[i] != ">":
        while i < size and source[i].isspace():
            i += 1
        if i >= size:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
        if source[i] == ">":
            break
        name_start = i
        while i < size and not source[i].isspace() and source[i] not in "=>/\"'":
            i += 1
        attr = source[name_start:i].lower()
        if not attr:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(tag_start)}'
            )
        while i < size and source[i].isspace():
            i += 1
        if i >= size:
            raise HtmlParseError(
                f'Unclosed start tag "{tag}" at byte offset {byte_offset(tag_start)}'
            )
        if source[i] != "=":
            # A value-less attribute: only <blockquote expandable> means something.
            if tag == "blockquote" and attr == "expandable":
                argument = "expandable"
            continue
        i += 1
        while i < size and source[i].isspace():
            i += 1
        if i >= size:
            raise HtmlParseError(
                f'Unclosed start tag "{tag}" at byte offset {byte_offset(tag_start)}'
            )
        value_chars: list[str] = []
        if source[i] not in "\"'":
            value_start = i
            while i < size and source[i] in _UNQUOTED_VALUE_CHARS:
                i += 1
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
            if not source[i].isspace() and source[i] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {byte_offset(value_start)}"
                )
            value = source[value_start:i].lower()
        else:
            quote = source[i]
            i += 1
            while i < size and source[i] != quote:
                if source[i] == "&":
                    decoded = _decode_entity(source, i)
                    if decoded is not None:
                        value_chars.append(decoded[0])
                        i = decoded[1]
                        continue
                value_chars.append(source[i])
                i += 1
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
            i += 1  # past the closing quote
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
            value = "".join(value_chars)
        if tag == "a" and attr == "href":
            argument = value
        elif tag == "code" and attr == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and attr == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and attr == "emoji-id":
            argument = value
        elif tag == "blockquote" and attr == "expandable":
            argument = "expandable"
    return argument, i


def _close_tag(
    source: str,
    i: int,
    tag_start: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    out_len: int,
    byte_offset: Callable[[int], int],
) -> int:
    """Handle "</name>" at ``source[i] == "/"``: pop the open tag, add its entity, return index."""
    size = len(source)
    if not stack:
        raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(tag_start)}")
    i += 1
    name_start = i
    while i < size and not source[i].isspace() and source[i] != ">":
        i += 1
    end_name = source[name_start:i].lower()
    while i < size and source[i].isspace():
        i += 1
    if i >= size or source[i] != ">":
        raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(tag_start)}")
    i += 1
    open_tag = stack[-1]
    if end_name and end_name != open_tag.name:
        raise HtmlParseError(
            f"Unmatched end tag at byte offset {byte_offset(tag_start)}, "
            f'expected "</{open_tag.name}>", found "</{end_name}>"'
        )
    stack.pop()
    length = out_len - open_tag.offset
    if length > 0:
        entity = _entity_for(open_tag, length, source, tag_start, entities)
        if entity is not None:
            entities.append(entity)
    return i


def _entity_for(
    tag: _OpenTag, length: int, source: str, tag_end: int, entities: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The MessageEntity a closed tag produces, or None when it produces none."""
    base: dict[str, Any] = {"offset": tag.offset, "length": length}
    if tag.name in _SIMPLE_ENTITY_TYPES:
        return {"type": _SIMPLE_ENTITY_TYPES[tag.name], **base}
    if tag.name == "span":
        return {"type": "spoiler", **base}
    if tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        return {"type": kind, **base}
    if tag.name == "tg-emoji":
        if not (tag.argument or "").isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", **base, "custom_emoji_id": str(int(tag.argument or "0"))}
    if tag.name == "a":
        # Without href Telegram links the inner text itself when it looks like a URL.
        url = tag.argument if tag.argument is not None else source[tag.begin + 2 : tag_end]
        url = url.strip()
        user = _USER_LINK_RE.match(url)
        if user is not None:
            return None  # inline mentions by id: the sandbox does not resolve users here
        if not url or any(c.isspace() for c in url):
            return None
        if "://" not in url and not url.startswith("tg:"):
            url = "http://" + url + ("/" if "/" not in url else "")
        return {"type": "text_link", **base, "url": url}
    if tag.name == "code":
        return {"type": "code", **base, **({"language": tag.argument} if tag.argument else {})}
    if tag.name == "pre":
        # <pre><code class="language-x">…</code></pre> is one "pre" entity with a language.
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == tag.offset
            and last["length"] == length
        ):
            entities.pop()
            merged: dict[str, Any] = {"type": "pre", **base}
            if "language" in last:
                merged["language"] = last["language"]
            return merged
        return {"type": "pre", **base}
    return None


def _sorted(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entities in Telegram's order: by offset, longer first; "code" keeps no language key."""
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _strip(parsed: ParsedText) -> ParsedText:
    """Trim surrounding whitespace like Telegram does, shifting and clipping the entities."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    new_len = utf16_len(stripped)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, new_len)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)
