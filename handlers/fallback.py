"""Last router: whatever no feature handled gets a short, localized hint. Never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.commands import staff_command_names
from bot.menu import main_menu
from db.users import Role, User


def _command_name(text: str) -> str:
    return text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()


async def unknown_command(message: Message, user: User) -> None:
    name = _command_name(message.text or "/")
    if name in staff_command_names() and user.role is Role.CLIENT:
        text = _("This command is only for caseworkers and administrators.")
    elif name in staff_command_names():
        text = _("This command is only for administrators.")
    else:
        text = _("I do not know this command. /help shows what I can do.")
    await message.answer(text, reply_markup=main_menu(user.role))


async def unexpected_message(message: Message, user: User, state: FSMContext) -> None:
    if await state.get_state() is not None:
        # A step is waiting for something else (usually text); say so without losing the step.
        await message.answer(
            _("I did not understand that. Please answer with text or use the buttons.")
        )
        return
    if message.text:
        text = _("Please choose from the menu below.")
    else:
        text = _("I understand text and buttons. Please choose from the menu below.")
    await message.answer(text, reply_markup=main_menu(user.role))


async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    # Old, forged or foreign callback data: nothing is changed, the person is told.
    callback_answer.text = _("This button is no longer active. Please use the menu.")
    callback_answer.show_alert = True


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(unexpected_message)
    router.callback_query.register(stale_button)
    return router
