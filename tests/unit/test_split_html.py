"""split_html: every part within the limit, valid HTML, same text and formatting (F24)."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from aiogram import html
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from emulator.html_check import parse_html, utf16_len
from handlers.ui import split_html

# (name, opening tag): short enough that three nested ones leave room in a 300-unit part.
TAGS = [
    ("b", "<b>"),
    ("i", "<i>"),
    ("u", "<u>"),
    ("code", "<code>"),
    ("a", '<a href="https://e.kz/?a=1&amp;b">'),
    ("span", '<span class="tg-spoiler">'),
]
ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    ["&", "<", ">", '"', " ", "\n", "🙂", "қ"]
)


def escaped_text() -> st.SearchStrategy[str]:
    words = st.text(ALPHABET, max_size=60).map(html.quote)
    runs = st.tuples(st.sampled_from(["&", "<", "a", "🙂", "ё"]), st.integers(1, 1500)).map(
        lambda pair: html.quote(pair[0] * pair[1])
    )
    return words | runs


def html_message(depth: int = 0) -> st.SearchStrategy[str]:
    if depth >= 3:
        return escaped_text()
    tagged = st.tuples(st.sampled_from(TAGS), st.deferred(lambda: html_message(depth + 1))).map(
        lambda pair: f"{pair[0][1]}{pair[1]}</{pair[0][0]}>"
    )
    return st.lists(escaped_text() | tagged, max_size=8).map("".join)


Style = frozenset[tuple[str, str]]


def styles(text: str) -> list[tuple[int, Style]]:
    """The formatting of the plain text as runs (length in UTF-16 units, styles), merged.

    Equal to comparing the styles of every unit, without building a set per unit.
    """
    plain, entities = parse_html(text)
    cuts = {0, utf16_len(plain)}
    for entity in entities:
        cuts |= {entity["offset"], entity["offset"] + entity["length"]}
    bounds = sorted(cuts)
    runs: list[tuple[int, Style]] = []
    for start, end in pairwise(bounds):
        style = frozenset(
            (e["type"], e.get("url", ""))
            for e in entities
            if e["offset"] <= start and end <= e["offset"] + e["length"]
        )
        runs = merged(runs, [(end - start, style)])
    return runs


def merged(runs: list[tuple[int, Style]], more: list[tuple[int, Style]]) -> list[tuple[int, Style]]:
    out = list(runs)
    for length, style in more:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + length, style)
        elif length:
            out.append((length, style))
    return out


def check(text: str, limit: int) -> list[str]:
    parts = split_html(text, limit)
    for part in parts:
        assert utf16_len(part) <= limit  # the HTML source, so the plain text too
        parse_html(part)  # raises on a cut tag or entity, or an unbalanced tag
    return parts


@settings(max_examples=400, deadline=None)
@given(text=html_message(), limit=st.integers(300, 1200))
def test_any_html_splits_into_valid_parts_with_the_same_text_and_formatting(
    text: str, limit: int
) -> None:
    plain, _ = parse_html(text)
    assume(plain.strip())
    # A part of whitespace only is dropped; with short whitespace runs there is none.
    assume(not re.search(r"\s{40}", plain))
    parts = check(text, limit)
    assert "".join(parse_html(p)[0] for p in parts) == plain
    joined: list[tuple[int, Style]] = []
    for part in parts:
        joined = merged(joined, styles(part))
    assert joined == styles(text)


def test_a_line_of_escaped_ampersands_is_never_cut_inside_an_entity() -> None:
    text = "<b>Title</b>\n\n" + html.quote("&" * 1000) + "\n<b>Cost:</b> free"
    parts = check(text, 4096)
    assert len(parts) == 2
    assert "".join(parse_html(p)[0] for p in parts) == parse_html(text)[0]


def test_cuts_prefer_line_ends_then_spaces() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(40)]
    parts = check("\n".join(lines), 1000)
    assert all(p.endswith("\n") for p in parts[:-1])
    words = " ".join(["word"] * 500)
    parts = check(words, 1000)
    assert all(p.endswith(" ") for p in parts[:-1])


def test_open_tags_are_closed_and_reopened_across_a_cut() -> None:
    text = '<a href="https://e.kz">' + "<b>" + "word " * 400 + "</b></a>"
    parts = check(text, 1000)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith('<a href="https://e.kz"><b>')
        assert part.endswith("</b></a>")


def test_short_text_is_one_part_and_emoji_count_twice() -> None:
    assert split_html("<b>hi</b>", 4096) == ["<b>hi</b>"]
    assert split_html("  \n ", 4096) == []
    parts = check("🙂" * 3000, 4096)  # 6,000 UTF-16 units
    assert [utf16_len(p) for p in parts] == [4096, 6000 - 4096]


def test_whitespace_only_parts_are_dropped() -> None:
    parts = check("a" + " " * 5000 + "b", 1000)
    assert parts[0].startswith("a")
    assert parts[-1].endswith("b")
    assert all(p.strip() for p in parts)


def test_tags_that_leave_no_room_are_refused() -> None:
    deep = "".join(f'<a href="https://e.kz/{"x" * 100}">' for _ in range(10))
    with pytest.raises(ValueError, match="no room"):
        split_html(deep + "text " * 300 + "</a>" * 10, 1000)
