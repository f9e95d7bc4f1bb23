"""The sandbox's HTML parse mode accepts and refuses what Telegram does, and counts UTF-16."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.html_entities import HtmlParseError, parse_html, utf16_len


def test_nested_tags_give_entities_in_utf16_offsets() -> None:
    parsed = parse_html("<b>bold <i>both</i></b> 😀 <u>under</u>")
    assert parsed.text == "bold both 😀 under"
    assert parsed.entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        # The emoji before "under" counts two UTF-16 units.
        {"type": "underline", "offset": 13, "length": 5},
    ]


def test_named_and_numeric_entities_are_decoded() -> None:
    parsed = parse_html("a &amp; b &lt;tag&gt; &quot;q&quot; &#65;&#x42; &#128512;")
    assert parsed.text == 'a & b <tag> "q" AB 😀'
    assert parsed.entities == []


@pytest.mark.parametrize(
    "source",
    ["AT&T", "a & b", "&apos;", "&nbsp;", "&#;", "&amp"],
)
def test_bare_ampersand_is_refused(source: str) -> None:
    with pytest.raises(HtmlParseError, match='"&"'):
        parse_html(source)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<a href="https://x.org>x</a>', "Unclosed start tag"),
        ("é<br>", "at byte offset 2"),  # offsets are UTF-8 bytes, as Telegram reports them
    ],
)
def test_invalid_markup_is_refused_with_telegrams_reason(source: str, reason: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(source)
    assert reason in caught.value.reason


def test_links_spoilers_code_and_quotes() -> None:
    parsed = parse_html(
        '<a href="https://example.org/?a=1&amp;b=2">link</a> '
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler> '
        '<pre><code class="language-python">x = 1</code></pre>'
        "<code>c</code><blockquote expandable>q</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        "<strong>B</strong><em>I</em><ins>U</ins><s>S</s><strike>S</strike><del>S</del>"
    )
    types = [(e["type"], e.get("url") or e.get("language")) for e in parsed.entities]
    assert types == [
        ("text_link", "https://example.org/?a=1&b=2"),
        ("spoiler", None),
        ("spoiler", None),
        ("pre", "python"),
        ("code", None),
        ("expandable_blockquote", None),
        ("custom_emoji", None),
        ("bold", None),
        ("italic", None),
        ("underline", None),
        ("strikethrough", None),
        ("strikethrough", None),
        ("strikethrough", None),
    ]
    assert parsed.text == "link st x = 1cq👍BIUSSS"


def test_tags_and_attributes_are_case_insensitive_and_end_tag_may_be_empty() -> None:
    parsed = parse_html("<B>x</b> <I>y</> <a HREF='http://a.b'>z</a>")
    assert parsed.text == "x y z"
    assert [e["type"] for e in parsed.entities] == ["bold", "italic", "text_link"]


def test_surrounding_whitespace_is_trimmed_like_telegram() -> None:
    parsed = parse_html("  <b> hi </b>\n")
    assert parsed.text == "hi"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_empty_tags_produce_no_entity() -> None:
    assert parse_html("<b></b>x").entities == []


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("😀", 2), ("👍🏽", 4), ("a😀b", 4), ("中文", 2)],
)
def test_utf16_length(text: str, units: int) -> None:
    assert utf16_len(text) == units


def test_length_is_measured_after_parsing() -> None:
    body = "😀" * 2048  # 4096 UTF-16 units: exactly Telegram's limit
    parsed = parse_html(f"<b>{body}</b>")
    assert parsed.utf16_length == 4096
    assert len(f"<b>{body}</b>") > 2048


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_escaped_text_always_parses_back_to_itself(text: str) -> None:
    parsed = parse_html("<i>" + html.escape(text, quote=True) + "</i>")
    assert parsed.text == text.strip()
