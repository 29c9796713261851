"""The JSON body holds exactly what aiogram's own preparation of every parameter gives."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendDocument, SendMessage
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import FormData
from aiohttp.payload import BytesPayload

from bot.session import JsonSession


def make_bot(session: JsonSession) -> Bot:
    return Bot(
        "123456:TEST",
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def reference(session: JsonSession, bot: Bot, method: TelegramMethod[Any]) -> Any:
    """Every parameter dumped whole and prepared by aiogram (the body before the savings)."""
    fields: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files={}, _dumps_json=False)
        if prepared is not None and prepared != "":
            fields[key] = prepared
    return json.loads(session.json_dumps(fields))


def body(session: JsonSession, bot: Bot, method: TelegramMethod[Any]) -> Any:
    payload = session.build_form_data(bot, method)
    assert isinstance(payload, BytesPayload)
    return json.loads(payload._value)


def inline() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Food (3)", callback_data="dl:1")],
            [
                InlineKeyboardButton(text="🔍 Search", callback_data="ds"),
                InlineKeyboardButton(text="Site", url="https://example.org"),
            ],
        ]
    )


MENU = ReplyKeyboardMarkup(
    keyboard=[[KeyboardButton(text="📋 Services")], [KeyboardButton(text="❓ How to use")]],
    resize_keyboard=True,
    is_persistent=True,
    input_field_placeholder="Choose from the menu",
)


@pytest.mark.parametrize(
    "method",
    [
        SendMessage(chat_id=1, text="<b>hi</b>"),
        SendMessage(chat_id=1, text="hi", reply_markup=None),
        SendMessage(chat_id=1, text="hi", reply_markup=inline()),
        SendMessage(chat_id=1, text="hi", reply_markup=MENU, disable_notification=True),
        SendMessage(chat_id=1, text="hi", reply_markup=ReplyKeyboardRemove()),
        SendMessage(
            chat_id=1,
            text="hi there",
            parse_mode=None,
            entities=[MessageEntity(type="bold", offset=0, length=2)],
            link_preview_options=LinkPreviewOptions(is_disabled=False, url="https://a.b"),
        ),
        EditMessageText(chat_id=1, message_id=5, text="", reply_markup=inline()),
        AnswerCallbackQuery(callback_query_id="7", text="Done"),
    ],
)
def test_the_body_is_what_aiogram_would_prepare(method: TelegramMethod[Any]) -> None:
    session = JsonSession()
    bot = make_bot(session)
    expected = reference(session, bot, method)
    assert body(session, bot, method) == expected
    assert body(session, bot, method) == expected  # the second time from the kept JSON


def test_a_kept_keyboard_changed_in_place_is_sent_as_it_is_now() -> None:
    session = JsonSession()
    bot = make_bot(session)
    markup = inline()
    first = body(session, bot, SendMessage(chat_id=1, text="hi", reply_markup=markup))
    markup.inline_keyboard.append([InlineKeyboardButton(text="More", callback_data="m")])
    method = SendMessage(chat_id=1, text="hi", reply_markup=markup)
    changed = body(session, bot, method)
    assert changed != first
    assert changed == reference(session, bot, method)


def test_only_live_keyboards_are_kept() -> None:
    session = JsonSession()
    bot = make_bot(session)
    body(session, bot, SendMessage(chat_id=1, text="hi", reply_markup=MENU))
    for _ in range(3):  # built per reply and dropped
        body(session, bot, SendMessage(chat_id=1, text="hi", reply_markup=inline()))
    gc.collect()
    assert list(session._kept) == [id(MENU)]


def test_an_upload_goes_as_a_form() -> None:
    session = JsonSession()
    bot = make_bot(session)
    upload = SendDocument(
        chat_id=1, document=BufferedInputFile(b"x", filename="a.txt"), reply_markup=inline()
    )
    assert isinstance(session.build_form_data(bot, upload), FormData)
