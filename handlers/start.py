"""/start: the language picker on first contact, then the greeting and the main menu."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.menu import main_menu
from db.users import User
from handlers.language import PICK_LANGUAGE, language_picker
from handlers.texts import greeting


async def start(message: Message, user: User, state: FSMContext) -> None:
    await state.clear()  # /start is the way out of any half-finished conversation
    if user.language is None:
        await message.answer(PICK_LANGUAGE, reply_markup=language_picker())
        return
    await message.answer(greeting(user.role), reply_markup=main_menu(user))


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart(ignore_case=True))
    return router
