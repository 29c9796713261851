"""The "writing a message" conversation state, and what ends it.

A caseworker who pressed ✍️ Write for client A and then opened client B's card must not
have the next note go to A (security review F2). So the writing state lasts only while
the person stays in it: any other command, menu button or button press ends it (the
middleware below), and a caseworker's writing state expires after `WRITING_EXPIRES`.
Handlers that belong to the conversation are registered with the flag `writing=True`.

A caseworker's writing state passes on one message. A client's stays open (their only
recipient is their officer): text, then a photo, then a voice message all reach the
officer, until the client presses «✔ Done», leaves for anything else, or sends nothing
for `WRITING_EXPIRES`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

# A caseworker's "writing to A" ends by itself after this long (seconds).
WRITING_EXPIRES = 15 * 60
KEEPS_WRITING = {"writing": True}  # flags of the handlers that belong to the conversation


class ClientMessage(StatesGroup):
    waiting = State()


class CaseworkerMessage(StatesGroup):
    waiting = State()


WRITING_STATES = frozenset({ClientMessage.waiting.state, CaseworkerMessage.waiting.state})


class WriteAgain(CallbackData, prefix="wa"):
    pass


class CancelWriting(CallbackData, prefix="cw1"):
    pass


class DoneWriting(CallbackData, prefix="wd1"):
    pass


def cancel_button() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=CancelWriting())
    return builder.as_markup()


def done_button() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✔ Done"), callback_data=DoneWriting())
    return builder.as_markup()


_RELAYED_KINDS = (
    "photo",
    "document",
    "voice",
    "video",
    "audio",
    "animation",
    "location",
    "venue",
    "contact",
    "sticker",
    "video_note",
)


def content_kind(message: Message) -> str | None:
    """The kind of content we relay, or None for what we do not (polls, dice, stories...)."""
    if message.text is not None:
        return "text"
    return next((kind for kind in _RELAYED_KINDS if getattr(message, kind, None)), None)


def body(message: Message) -> str | None:
    """What is kept for the history: the text or caption (never the file)."""
    return message.text if message.text is not None else message.caption


def unsupported() -> str:
    return _(
        "This kind of message cannot be passed on. Please send text, a photo, a document, a voice message or a location."
    )


async def start_writing_to(state: FSMContext, client_id: int) -> None:
    await state.set_state(CaseworkerMessage.waiting)
    await state.set_data({"client_id": client_id, "since": int(time.time())})


def writing_expired(data: dict[str, Any]) -> bool:
    since = data.get("since")
    return not isinstance(since, int) or time.time() - since > WRITING_EXPIRES


async def start_writing_to_officer(state: FSMContext) -> None:
    await state.set_state(ClientMessage.waiting)
    await state.set_data({"since": int(time.time())})


def client_writing_expired(data: dict[str, Any]) -> bool:
    """`WRITING_EXPIRES` since the client's last message (a state from before "since" counts as fresh)."""
    since = data.get("since")
    return isinstance(since, int) and time.time() - since > WRITING_EXPIRES


class LeaveWritingOnNavigation(BaseMiddleware):
    """Inner middleware (after filters chose a handler) on messages and button presses."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        keeps = get_flag(data, "writing")
        if state is not None and not keeps and await state.get_state() in WRITING_STATES:
            await state.clear()
        return await handler(event, data)
