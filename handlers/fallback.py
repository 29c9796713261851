"""Last router: whatever no feature handled gets a short, localized hint. Never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import commands
from bot.menu import main_menu
from db.users import Role, User


def _command_name(text: str) -> str:
    return text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()


async def unknown_command(message: Message, user: User) -> None:
    spec = commands.find(_command_name(message.text or "/"))
    if spec is None:
        text = _("I do not know this command. /help shows what I can do.")
    elif spec.roles == {Role.ADMIN}:
        text = _("This command is only for administrators.")
    elif spec.roles == {Role.CASEWORKER}:
        text = _("This command is only for caseworkers.")
    elif Role.CLIENT not in spec.roles:
        text = _("This command is only for caseworkers and administrators.")
    else:
        text = _("This command is for clients of the probation service.")
    await message.answer(text, reply_markup=main_menu(user))


async def unexpected_message(message: Message, user: User, state: FSMContext) -> None:
    if await state.get_state() is not None:
        # A step is waiting for something else (usually text); say so without losing the step.
        await message.answer(
            _("I did not understand that. Please answer with text or use the buttons.")
        )
        return
    if message.text and user.role is Role.CASEWORKER:
        # Often a note typed after leaving a client's screen: say that it went nowhere.
        text = _(
            "Nothing was sent. To write to a client, open their card in «🗂 My clients» and press «✍️ Write»."
        )
    elif message.text:
        text = _("Please choose from the menu below.")
    else:
        text = _("I understand text and buttons. Please choose from the menu below.")
    await message.answer(text, reply_markup=main_menu(user))


async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    # Old, forged or foreign callback data: nothing is changed, the person is told.
    callback_answer.text = _("This button is no longer active. Please use the menu.")
    callback_answer.show_alert = True


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, MagicData(F.event.text.startswith("/")))
    router.message.register(unexpected_message)
    router.callback_query.register(stale_button)
    return router
