"""Choosing the language: the picker on first start and /language at any time."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.commands import CommandMenus
from bot.i18n import LANGUAGE_NAMES, LANGUAGES
from bot.menu import Label, MenuButton, main_menu
from db import users
from db.database import Database
from db.users import User
from handlers.texts import greeting
from handlers.ui import LanguageCode

# Shown before we know the language, so it is written in all three on purpose.
PICK_LANGUAGE = (
    "«Сен қоғамға керексің!» · «Ты нужен обществу!» · «Society needs you!»\n\n"
    "Тілді таңдаңыз · Выберите язык · Choose your language"
)


class LanguageChoice(CallbackData, prefix="lg1"):
    """The language picked on first start or with /language.

    The prefix's version is bumped when the fields change (docs/architecture.md, "Callback
    data"), so an old picker's press is refused, not misread.
    """

    code: LanguageCode


def language_picker() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageChoice(code=code))
    builder.adjust(3)
    return builder.as_markup()


async def ask_language(message: Message) -> None:
    await message.answer(PICK_LANGUAGE, reply_markup=language_picker())


async def choose_language(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    user: User,
    db: Database,
    i18n: I18n,
    menus: CommandMenus,
    bot: Bot,
) -> None:
    first_time = user.language is None
    await users.set_language(db, user.telegram_id, callback_data.code)
    with i18n.use_locale(callback_data.code):
        if isinstance(query.message, Message):  # not a picker older than about 48 hours
            await query.message.edit_text(
                _("Language: {language} ✓").format(language=LANGUAGE_NAMES[callback_data.code])
            )
        text = (
            greeting(user.role)
            if first_time
            else _("Done. I will speak {language} now.").format(
                language=LANGUAGE_NAMES[callback_data.code]
            )
        )
        await bot.send_message(query.from_user.id, text, reply_markup=main_menu(user))
    fresh = await users.get(db, user.telegram_id)
    if fresh is not None:
        await menus.sync_user(bot, fresh)


def create_router() -> Router:
    router = Router(name="language")
    router.message.register(ask_language, Command("language", ignore_case=True))
    router.message.register(ask_language, MenuButton(Label.LANGUAGE))
    router.callback_query.register(choose_language, LanguageChoice.filter(F.code.in_(LANGUAGES)))
    return router
