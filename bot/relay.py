"""Copying a person's message (any kind) to the other side of a conversation, with a header.

Text arrives as one message (header + escaped text). Media keep their content
through copyMessage, the header becoming the caption. Content without a caption
(location, sticker, contact...) comes after a separate header message. Limits
(4096 for text, 1024 for captions) push the header into its own message.
"""

from __future__ import annotations

from aiogram import Bot, html
from aiogram.types import InlineKeyboardMarkup, Message

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_CAPTIONED = ("photo", "document", "voice", "video", "audio", "animation")
_UNCAPTIONED = ("location", "venue", "contact", "sticker", "video_note")


def content_kind(message: Message) -> str | None:
    """The kind of content we relay, or None for what we do not (polls, dice, stories...)."""
    if message.text is not None:
        return "text"
    for kind in (*_CAPTIONED, *_UNCAPTIONED):
        if getattr(message, kind, None) is not None:
            return kind
    return None


def body(message: Message) -> str | None:
    """What is kept for the history: the text or caption (never the file)."""
    return message.text if message.text is not None else message.caption


async def relay(
    bot: Bot,
    message: Message,
    to_chat: int,
    header: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    kind = content_kind(message)
    if kind is None:
        raise ValueError("unsupported content")
    if kind == "text":
        combined = f"{header}\n\n{html.quote(message.text or '')}"
        if len(combined) <= TEXT_LIMIT:
            await bot.send_message(to_chat, combined, reply_markup=reply_markup)
            return
    elif kind in _CAPTIONED:
        caption = header if not message.caption else f"{header}\n\n{html.quote(message.caption)}"
        if len(caption) <= CAPTION_LIMIT:
            await bot.copy_message(
                to_chat,
                message.chat.id,
                message.message_id,
                caption=caption,
                reply_markup=reply_markup,
            )
            return
    # The header does not fit with the content, or the content has no caption.
    await bot.send_message(to_chat, header, reply_markup=reply_markup)
    await bot.copy_message(to_chat, message.chat.id, message.message_id)
