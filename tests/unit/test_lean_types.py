"""aiogram objects bound to the bot in one step keep exactly the state pydantic's chain leaves."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, Message, TelegramObject, Update
from pydantic import PrivateAttr

from bot.lean_types import _bind_bot, bind_bot_in_one_step

BOT = Bot("123456:TEST")
MESSAGE = {
    "message_id": 5,
    "date": 1700000000,
    "chat": {"id": 1, "type": "private", "first_name": "A"},
    "from": {"id": 1, "is_bot": False, "first_name": "A"},
    "text": "hi",
    "reply_markup": {"inline_keyboard": [[{"text": "Food", "callback_data": "dl:1"}]]},
}


class Extra(TelegramObject):
    """A type with a private attribute of its own: left to pydantic."""

    _seen: int = PrivateAttr(default=3)


class Own(TelegramObject):
    """A type with its own post-init, which calls aiogram's."""

    _calls: int = PrivateAttr(default=0)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._calls += 1


def test_the_common_types_are_changed_and_others_are_not() -> None:
    bind_bot_in_one_step()
    for cls in (Message, Update, InlineKeyboardButton, SendMessage, TelegramObject):
        assert cls.model_post_init is _bind_bot, cls
    assert Extra.model_post_init is not _bind_bot
    assert Own.model_post_init is not _bind_bot
    assert bind_bot_in_one_step() == 0  # once is enough


def test_an_object_read_with_the_bot_has_it_everywhere() -> None:
    bind_bot_in_one_step()
    update = Update.model_validate({"update_id": 1, "message": MESSAGE}, context={"bot": BOT})
    message = update.message
    assert message is not None
    assert message.reply_markup is not None
    for part in (update, message, message.chat, message.from_user, message.reply_markup):
        assert part is not None
        assert part.__pydantic_private__ == {"_bot": BOT}
        assert part.bot is BOT


def test_an_object_built_without_a_bot_has_none_and_can_be_bound() -> None:
    bind_bot_in_one_step()
    button = InlineKeyboardButton(text="Food", callback_data="dl:1")
    assert button.__pydantic_private__ == {"_bot": None}
    assert button.as_(BOT).bot is BOT
    built = InlineKeyboardButton.model_construct(text="Food")
    assert built.bot is None
    copied = Message.model_validate(MESSAGE, context={"bot": BOT}).model_copy()
    assert copied.bot is BOT


def test_types_left_to_pydantic_keep_their_own_attributes() -> None:
    bind_bot_in_one_step()
    extra = Extra.model_validate({}, context={"bot": BOT})
    assert extra._seen == 3
    assert extra.bot is BOT
    own = Own.model_validate({}, context={"bot": BOT})
    assert own._calls == 1
    assert own.bot is BOT
