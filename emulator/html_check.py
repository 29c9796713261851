"""Telegram-style HTML parse mode: validation, plain text and entities.

Mirrors tdlib's ``parse_html`` (the code behind the real Bot API) closely enough
that a bot text rejected here is rejected by Telegram, with the same reasons.
One deliberate difference: with ``strict_entities`` (the default) an ``&`` that
does not start a known entity is an error, because it almost always means the
bot forgot ``html.escape`` (Telegram would silently show it verbatim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .models import JsonDict

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+));?")
_SPACES = " \t\r\n"
_PLAIN_RUN = re.compile(r"[^&<]+")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``reason`` is what follows "can't parse entities: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the plain text
    byte_offset: int
    attrs: dict[str, str] = field(default_factory=dict)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``pos``; returns (character, end) or None if invalid."""
    m = _ENTITY_RE.match(text, pos)
    if m is None:
        return None
    hex_digits, dec_digits, name = m.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        return None if char is None else (char, m.end())
    code = int(hex_digits, 16) if hex_digits is not None else int(dec_digits)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), m.end()


class _Parser:
    def __init__(self, text: str, strict_entities: bool) -> None:
        self.text = text
        self.strict = strict_entities
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # UTF-16 length of the plain text produced so far
        self.stack: list[_Open] = []
        self.entities: list[JsonDict] = []

    def byte_offset(self, pos: int) -> int:
        # Telegram reports positions as UTF-8 byte offsets into the original text.
        return len(self.text[:pos].encode("utf-8"))

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        if len(chunk) == 1:  # most calls: a decoded entity
            self.out_len += 2 if ord(chunk) > 0xFFFF else 1
        else:
            self.out_len += utf16_len(chunk)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> tuple[str, list[JsonDict]]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "&":
                decoded = _decode_entity(text, self.pos)
                if decoded is not None:
                    self.emit(decoded[0])
                    self.pos = decoded[1]
                    continue
                if self.strict:
                    snippet = _ENTITY_RE.match(text, self.pos)
                    shown = snippet.group(0) if snippet else "&"
                    raise HtmlParseError(
                        f'Unsupported HTML entity "{shown}" at byte offset {self.byte_offset(self.pos)}'
                    )
            if char != "<":
                # A run of plain text at once: parsing stays linear in calls, not in characters.
                run = _PLAIN_RUN.match(text, self.pos + 1)
                end = self.pos + 1 if run is None else run.end()
                self.emit(text[self.pos : end])
                self.pos = end
                continue
            if text.startswith("</", self.pos):
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self) -> None:
        text = self.text
        begin = self.pos
        self.pos += 1
        while self.pos < len(text) and text[self.pos] not in _SPACES and text[self.pos] != ">":
            self.pos += 1
        if self.pos >= len(text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = text[begin + 1 : self.pos].lower()
        if tag not in _ENTITY_TYPES:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        attrs = self.attributes(tag, begin)
        self.pos += 1  # the closing '>'
        where = self.byte_offset(begin)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
        self.stack.append(_Open(tag, self.out_len, where, attrs))

    def attributes(self, tag: str, begin: int) -> dict[str, str]:
        text = self.text
        attrs: dict[str, str] = {}
        unclosed = HtmlParseError(
            f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
        )
        while True:
            while self.peek() and self.peek() in _SPACES:
                self.pos += 1
            if not self.peek():
                raise unclosed
            if self.peek() == ">":
                return attrs
            name_start = self.pos
            while self.peek() and self.peek() not in _SPACES and self.peek() not in "=>":
                self.pos += 1
            name = text[name_start : self.pos].lower()
            if not name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self.byte_offset(begin)}'
                )
            while self.peek() and self.peek() in _SPACES:
                self.pos += 1
            if self.peek() != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                raise HtmlParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {self.byte_offset(begin)}"
                )
            self.pos += 1
            while self.peek() and self.peek() in _SPACES:
                self.pos += 1
            quote = self.peek()
            if not quote:
                raise unclosed
            if quote in "\"'":
                end = text.find(quote, self.pos + 1)
                if end < 0:
                    raise unclosed
                raw_value = text[self.pos + 1 : end]
                self.pos = end + 1
            else:
                value_start = self.pos
                while self.peek() and self.peek() not in _SPACES and self.peek() != ">":
                    self.pos += 1
                raw_value = text[value_start : self.pos]
            attrs[name] = _decode_attribute(raw_value)

    def end_tag(self) -> None:
        text = self.text
        begin = self.pos
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 2
        while self.peek() and self.peek() not in _SPACES and self.peek() != ">":
            self.pos += 1
        name = text[begin + 2 : self.pos].lower()
        while self.peek() and self.peek() in _SPACES:
            self.pos += 1
        if self.peek() != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 1
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{opened.tag}>", found "</{name}>"'
            )
        self.close(opened)

    def close(self, opened: _Open) -> None:
        length = self.out_len - opened.start
        if length == 0:
            return  # Telegram drops empty entities
        entity: JsonDict = {
            "type": _ENTITY_TYPES[opened.tag],
            "offset": opened.start,
            "length": length,
        }
        if opened.tag == "a":
            url = opened.attrs.get("href", "")
            if not url:
                return
            entity["url"] = url
        elif opened.tag == "tg-emoji":
            entity["custom_emoji_id"] = opened.attrs["emoji-id"]
        elif opened.tag == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif opened.tag == "code":
            language = opened.attrs.get("class", "")
            if language.startswith("language-") and self.stack and self.stack[-1].tag == "pre":
                entity["language"] = language.removeprefix("language-")
        elif opened.tag == "pre" and self.entities:
            # <pre><code class="language-x">...</code></pre> is one pre entity with a language.
            inner = self.entities[-1]
            same_span = inner["offset"] == opened.start and inner["length"] == length
            if inner["type"] == "code" and same_span:
                self.entities.pop()
                if "language" in inner:
                    entity["language"] = inner["language"]
        self.entities.append(entity)


def _decode_attribute(raw: str) -> str:
    # Attribute values may contain entities too (e.g. &amp; inside an href).
    out: list[str] = []
    pos = 0
    while pos < len(raw):
        decoded = _decode_entity(raw, pos) if raw[pos] == "&" else None
        if decoded is None:
            out.append(raw[pos])
            pos += 1
        else:
            out.append(decoded[0])
            pos = decoded[1]
    return "".join(out)


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[JsonDict]]:
    """Parse Telegram HTML into (plain text, Bot API entities) or raise :class:`HtmlParseError`."""
    return _Parser(text, strict_entities).parse()
