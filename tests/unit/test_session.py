"""The JSON body holds exactly what aiogram's own preparation of every parameter gives, and an
answer reads (or raises) exactly as aiogram's own check reads it."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    Response,
    SendDocument,
    SendMessage,
)
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


def test_a_changed_default_is_sent_as_it_is_now() -> None:
    session = JsonSession()
    bot = make_bot(session)
    method = SendMessage(chat_id=1, text="see https://a.b")
    assert body(session, bot, method)["link_preview_options"] == {"is_disabled": True}
    bot.default.link_preview = LinkPreviewOptions(is_disabled=False, prefer_small_media=True)
    assert body(session, bot, method) == reference(session, bot, method)
    assert body(session, bot, method)["link_preview_options"] == {
        "is_disabled": False,
        "prefer_small_media": True,
    }


def test_extra_parameters_are_sent_as_aiogram_sends_them() -> None:
    session = JsonSession()
    bot = make_bot(session)
    method = SendMessage(chat_id=1, text="hi", future_flag=True, future_list=[1, 2])
    assert body(session, bot, method) == reference(session, bot, method)
    assert body(session, bot, method)["future_flag"] is True


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


MESSAGE = {
    "message_id": 5,
    "date": 1700000000,
    "chat": {"id": 1, "type": "private", "first_name": "A"},
    "from": {"id": 9, "is_bot": True, "first_name": "Bot"},
    "text": "hi",
    "reply_markup": {"inline_keyboard": [[{"text": "Food (3)", "callback_data": "dl:1"}]]},
}
UPDATES = [
    {"update_id": 3, "message": MESSAGE | {"from": {"id": 1, "is_bot": False, "first_name": "A"}}}
]


@pytest.mark.parametrize(
    ("method", "result"),
    [
        (SendMessage(chat_id=1, text="hi", reply_markup=inline()), MESSAGE),
        (AnswerCallbackQuery(callback_query_id="7"), True),
        (GetUpdates(offset=3), UPDATES),
        (GetUpdates(), []),
    ],
)
def test_an_answer_reads_as_aiogram_reads_it(method: TelegramMethod[Any], result: Any) -> None:
    session = JsonSession()
    bot = make_bot(session)
    content = json.dumps({"ok": True, "result": result})
    ours = session.check_response(bot, method, 200, content)
    theirs = AiohttpSession.check_response(session, bot, method, 200, content)
    assert ours == theirs
    assert ours.model_dump() == theirs.model_dump()
    if isinstance(result, dict):
        assert ours.result.bot is bot  # type: ignore[union-attr]
        assert ours.result.chat.bot is bot  # type: ignore[union-attr]


def raised(session: JsonSession, bot: Bot, status: int, content: str) -> BaseException:
    method = SendMessage(chat_id=1, text="hi")
    with pytest.raises((TelegramAPIError, ClientDecodeError)) as caught:
        session.check_response(bot, method, status, content)
    return caught.value


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: no"},
            TelegramBadRequest,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: blocked"},
            TelegramForbiddenError,
        ),
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many",
                "parameters": {"retry_after": 7},
            },
            TelegramRetryAfter,
        ),
        (200, {"ok": False, "description": "odd"}, TelegramAPIError),  # ok false with 200
        (502, {"ok": False, "description": "Bad Gateway"}, TelegramServerError),
        (200, {"ok": True, "result": {"message_id": "x"}}, ClientDecodeError),  # does not validate
    ],
)
def test_a_failed_call_raises_what_aiogram_raises(
    status: int, answer: dict[str, Any], error: type[BaseException]
) -> None:
    session = JsonSession()
    bot = make_bot(session)
    ours = raised(session, bot, status, json.dumps(answer))
    assert type(ours) is error
    with pytest.raises(error) as theirs:
        AiohttpSession.check_response(
            session, bot, SendMessage(chat_id=1, text="hi"), status, json.dumps(answer)
        )
    assert str(ours) == str(theirs.value)
    if isinstance(ours, TelegramRetryAfter):
        assert ours.retry_after == 7


def test_an_answer_that_is_not_json_raises_a_decode_error() -> None:
    session = JsonSession()
    bot = make_bot(session)
    assert type(raised(session, bot, 200, "<html>")) is ClientDecodeError


def test_each_reply_type_is_built_once() -> None:
    session = JsonSession()
    bot = make_bot(session)
    for _ in range(2):
        session.check_response(
            bot, AnswerCallbackQuery(callback_query_id="7"), 200, '{"ok": true, "result": true}'
        )
    [kept] = session._response_types.values()
    assert kept is Response[bool]


def test_a_keyboard_that_comes_back_as_sent_is_the_object_sent() -> None:
    session = JsonSession()
    bot = make_bot(session)
    markup = inline()
    method = SendMessage(chat_id=1, text="hi", reply_markup=markup)
    body(session, bot, method)  # sent: its JSON is kept
    answer = MESSAGE | {"reply_markup": markup.model_dump(exclude_none=True)}
    content = json.dumps({"ok": True, "result": answer})
    ours = session.check_response(bot, method, 200, content)
    theirs = AiohttpSession.check_response(session, bot, method, 200, content)
    assert ours.result is not None
    assert ours.result.reply_markup is markup
    assert ours.model_dump() == theirs.model_dump()
    assert ours.result.bot is bot
    # Telegram changed it (or another keyboard was sent meanwhile): read as aiogram reads it.
    changed = answer | {
        "reply_markup": {"inline_keyboard": [[{"text": "X", "callback_data": "x"}]]}
    }
    content = json.dumps({"ok": True, "result": changed})
    ours = session.check_response(bot, method, 200, content)
    assert ours == AiohttpSession.check_response(session, bot, method, 200, content)
    assert ours.result is not None
    assert ours.result.reply_markup is not markup
