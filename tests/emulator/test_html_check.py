"""Telegram HTML parsing: plain text, entity offsets (UTF-16) and error reasons."""

from __future__ import annotations

import html

import pytest

from emulator.html_check import HtmlParseError, parse_html


def test_plain_text_and_utf16_offsets() -> None:
    plain, entities = parse_html("👍 <b>Сәлем</b> &amp; <i>hi</i>")
    assert plain == "👍 Сәлем & hi"
    # The emoji is two UTF-16 units, so "Сәлем" starts at 3.
    assert entities == [
        {"type": "bold", "offset": 3, "length": 5},
        {"type": "italic", "offset": 11, "length": 2},
    ]


def test_all_supported_tags() -> None:
    text = (
        "<B>b</B><strong>s</strong><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>"
        '<del>d</del><tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code>'
        '<a href="https://x.org/?a=1&amp;b=2">l</a><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        "<blockquote>bq</blockquote><blockquote expandable>eq</blockquote>"
    )
    plain, entities = parse_html(text)
    assert plain == "bseunskdpqcl👍bqeq"
    assert [e["type"] for e in entities] == [
        "bold",
        "bold",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "code",
        "text_link",
        "custom_emoji",
        "blockquote",
        "expandable_blockquote",
    ]
    assert entities[11]["url"] == "https://x.org/?a=1&b=2"
    assert entities[12]["custom_emoji_id"] == "5368324170671202286"


def test_pre_with_language_is_one_entity() -> None:
    plain, entities = parse_html('<pre><code class="language-python">x = 1 &lt; 2</code></pre>')
    assert plain == "x = 1 < 2"
    assert entities == [{"type": "pre", "offset": 0, "length": 9, "language": "python"}]


def test_nesting_empty_tags_and_numeric_entities() -> None:
    plain, entities = parse_html("<b>a<i>b</i></b><u></u>&#39;&#x27;&quot;")
    assert plain == "ab''\""
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "italic", "offset": 1, "length": 1},
    ]


@pytest.mark.parametrize(
    "text",
    ["Tom & Jerry <3", "a<b>c", "1 > 0 & \"q\" 'x'", "<i>not a tag</i>", "Сәлем, қалайсыз?"],
)
def test_escaped_text_round_trips(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Сәлем <x>", 'Unsupported start tag "x" at byte offset 11'),  # offsets are UTF-8 bytes
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y</a>', 'Unclosed start tag "a" at byte offset 0'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<pre>x</code>", 'Unmatched end tag at byte offset 6, expected "</pre>", found "</code>"'),
        (
            "<code foo>x</code>",
            'Expected equal sign in declaration of an attribute of the tag "code" at byte offset 0',
        ),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
        ("&#0;", 'Unsupported HTML entity "&#0;" at byte offset 0'),
    ],
)
def test_errors(text: str, reason: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(text)
    assert caught.value.reason == reason


def test_lenient_entities_like_telegram() -> None:
    assert parse_html("fish &chips &amp", strict_entities=False) == ("fish &chips &", [])
