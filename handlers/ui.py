"""Screen helpers every feature shares: paging, clipping, splitting long HTML, edit-else-send,
and refusing a press that no longer applies.

A screen is text plus its keyboard (`Screen`); features build screens with pure functions
(see handlers/directory_ui.py) and show them with `edit_or_send` or `send_parts`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from bot.i18n import N_
from core.languages import LANGUAGES

T = TypeVar("T")
Screen = tuple[str, InlineKeyboardMarkup | None]

PAGE_SIZE = 8
MESSAGE_LIMIT = 4096
NO_LONGER_ACTIVE = N_("This button is no longer active. Please use the menu.")


def paginate(items: Sequence[T], page: int, size: int = PAGE_SIZE) -> tuple[Sequence[T], int, int]:
    """(items on the page, the page actually shown, number of pages); out-of-range pages clamp."""
    pages = max(1, (len(items) + size - 1) // size)
    page = min(max(page, 0), pages - 1)
    return items[page * size : (page + 1) * size], page, pages


def clip(text: str, limit: int) -> str:
    """Shortens plain text for a button or a list line, on one line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refuse(callback_answer: CallbackAnswer, text: str) -> None:
    """Answers a press with a pop-up the person must dismiss (the text is already translated)."""
    callback_answer.text = text
    callback_answer.show_alert = True


def refuse_inactive(callback_answer: CallbackAnswer) -> None:
    """The press belongs to a screen that no longer applies (old, forged or already used)."""
    refuse(callback_answer, _(NO_LONGER_ACTIVE))


class OnMessage(Filter):
    """Passes a press whose message the bot can still read and edit, handing that message to
    the handler as `message` (a `Message`: no isinstance check in the handler).

    Rather than `F.message.as_("message")`: a press on a message older than about 48 hours
    comes with an `InaccessibleMessage` (no text, no edit methods), which `as_` passes on
    as if it were a message; and aiogram runs a magic filter, being synchronous, in a worker
    thread on every press. A press refused here goes on to the next handlers, in the end to
    the fallback's "This button is no longer active".
    """

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        if isinstance(query.message, Message):
            return {"message": query.message}
        return False


ON_MESSAGE = OnMessage()

# A language code in callback data: one of LANGUAGES (the handler's filter checks which).
LanguageCode = Annotated[str, Field(max_length=max(map(len, LANGUAGES)))]


async def edit_or_send(
    query: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replaces the pressed message's screen; sends a new message if it cannot be edited
    (a photo, document or voice has no text to edit, or the message is too old)."""
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        if message.html_text == text and message.reply_markup == markup:
            return
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def send_parts(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A long HTML text as several messages (split by `split_html`); the keyboard on the last."""
    parts = split_html(text) or [text]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await bot.send_message(chat_id, part, reply_markup=markup if last else None)


def chunks(blocks: list[str], limit: int = MESSAGE_LIMIT, separator: str = "\n\n") -> list[str]:
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


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
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
