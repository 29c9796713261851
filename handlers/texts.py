"""Texts shared by several handlers (greeting, emergency numbers, names)."""

from __future__ import annotations

import re

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from db.users import Role


def programme_name() -> str:
    return _("«Society needs you!»")


def greeting(role: Role) -> str:
    if role is Role.CLIENT:
        return _(
            "Welcome to Jańa Jol, the bot of the programme {programme}.\n\n"
            "Here you can find services that help: work, documents, housing, health, "
            "legal aid. Choose from the menu below."
        ).format(programme=programme_name())
    return _(
        "Welcome to Jańa Jol, the bot of the programme {programme}.\n\n"
        "You are signed in as staff. Choose from the menu below; /help lists your commands."
    ).format(programme=programme_name())


EMERGENCY = N_("In an emergency call 112. Police: 102. Ambulance: 103.")
OFFICER_FALLBACK = N_("your probation officer")


def emergency_numbers() -> str:
    return _(EMERGENCY)


def officer_name(display_name: str | None) -> str:
    """A caseworker's name for clients, escaped for HTML."""
    return html.quote(display_name) if display_name else _(OFFICER_FALLBACK)


def clip(text: str, limit: int) -> str:
    """Shortens text for a button or a list line (Telegram shows about 64 characters per button)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


KIND_NAMES = {
    "photo": N_("photo"),
    "document": N_("document"),
    "voice": N_("voice message"),
    "video": N_("video"),
    "audio": N_("audio"),
    "animation": N_("animation"),
    "location": N_("location"),
    "venue": N_("place"),
    "contact": N_("contact"),
    "sticker": N_("sticker"),
    "video_note": N_("video message"),
}


def kind_name(kind: str) -> str:
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def chunks(blocks: list[str], limit: int = 4096, separator: str = "\n\n") -> list[str]:
    """Whole blocks per message, so no HTML tag is ever cut; a block over the limit is clipped."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        block = block if len(block) <= limit else clip(block, limit)
        candidate = f"{current}{separator}{block}" if current else block
        if len(candidate) > limit:
            messages.append(current)
            candidate = block
        current = candidate
    if current:
        messages.append(current)
    return messages


# -- splitting HTML messages ---------------------------------------------------------------------

# A tag, an HTML entity, or one character: the pieces a cut may fall between.
_HTML_TOKEN_RE = re.compile(
    r"<[^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{1,31});|.", re.S
)
_TAG_NAME_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def _units(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts 2): never less than Telegram's count."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_html(text: str, limit: int = 4096) -> list[str]:
    """Split an HTML message (Telegram's parse mode) into parts of at most `limit` units.

    A cut never falls inside a tag or an `&...;` entity. Tags open at a cut are closed at
    the end of the part and opened again at the start of the next, so every part is valid
    HTML with the same formatting. Cuts go after a line end if one is in the latter half of
    the room, else after a space, else wherever the room ends. The length counted is the
    HTML source's, in UTF-16 units: never less than the text Telegram counts. A part that
    would hold only whitespace is dropped (Telegram refuses an empty message). Raises
    ValueError only if the tags open at a cut leave no room (never with the bot's texts).
    """
    if _units(text) <= limit:
        return [text] if _visible(text) else []
    tokens = _HTML_TOKEN_RE.findall(text)
    parts: list[str] = []
    stack: tuple[tuple[str, str], ...] = ()  # open tags: (name, the opening tag as written)
    start = 0
    while start < len(tokens):
        end, stack_at_end = _cut(tokens, start, stack, limit)
        part = (
            "".join(tag for _, tag in stack)
            + "".join(tokens[start:end])
            + "".join(f"</{name}>" for name, _ in reversed(stack_at_end))
        )
        if _visible(part):
            parts.append(part)
        start, stack = end, stack_at_end
    return parts


def _visible(html_text: str) -> bool:
    return bool(re.sub(r"<[^<>]*>", "", html_text).strip())


def _push_or_pop(token: str, stack: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    if not token.startswith("<") or len(token) < 3:
        return stack
    found = _TAG_NAME_RE.match(token)
    if found is None:
        return stack
    if token.startswith("</"):
        return stack[:-1]
    return (*stack, (found.group(1).lower(), token))


def _cut(
    tokens: list[str], start: int, stack: tuple[tuple[str, str], ...], limit: int
) -> tuple[int, tuple[tuple[str, str], ...]]:
    """Where the part starting at tokens[start] ends, and the tags open there."""
    used = sum(_units(tag) for _, tag in stack)
    closing = sum(len(name) + 3 for name, _ in stack)
    line = space = last = None
    index = start
    while index < len(tokens):
        token = tokens[index]
        after = _push_or_pop(token, stack)
        after_closing = closing if after is stack else sum(len(n) + 3 for n, _ in after)
        size = _units(token)
        if used + size + after_closing > limit:
            break
        used += size
        stack, closing = after, after_closing
        index += 1
        last = (index, stack)
        if token == "\n":
            line = (index, stack, used)
        elif token.isspace():
            space = (index, stack, used)
    else:
        return index, stack  # the rest fits
    if last is None:
        raise ValueError("the open tags leave no room for text within the limit")
    half = limit // 2
    for candidate in (line, space):
        if candidate is not None and candidate[2] >= half:
            return candidate[0], candidate[1]
    return last
