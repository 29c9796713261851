"""Last router: whatever no feature handled gets a short, localized hint.

The one silence: a command addressed to another bot (`/start@other_bot`) is not for us.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import commands
from bot.menu import main_menu
from db.users import Role, User
from handlers.messaging.writing import content_kind
from handlers.ui import refuse_inactive


def _command_parts(text: str) -> tuple[str, str | None]:
    """'/Start@Some_Bot args' -> ('start', 'some_bot'); no mention -> None."""
    name, _at, mention = text.split(maxsplit=1)[0][1:].partition("@")
    return name.lower(), mention.lower() if mention else None


async def unknown_command(message: Message, user: User, bot: Bot) -> None:
    name, mention = _command_parts(message.text or "/")
    if mention is not None and mention != ((await bot.me()).username or "").lower():
        return  # addressed to another bot: not for us
    spec = commands.find(name)
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
    relayable = content_kind(message) is not None  # what a conversation would have passed on
    if relayable and user.role is Role.CASEWORKER:
        # Often a note typed after leaving a client's screen: say that it went nowhere.
        text = _(
            "Nothing was sent. To write to a client, open their card in «🗂 My clients» and press «✍️ Write»."
        )
    elif relayable and user.is_linked_client:
        text = _("Nothing was sent. To write to your officer, press «✉️ Message my officer» first.")
    elif message.text:
        text = _("Please choose from the menu below.")
    else:
        text = _("I understand text and buttons. Please choose from the menu below.")
    await message.answer(text, reply_markup=main_menu(user))


async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    # Old, forged or foreign callback data, a button made by an older version of a callback
    # (its prefix's version was bumped), or a press on a message the bot can no longer edit
    # that a feature needs: nothing is changed, the person is told.
    refuse_inactive(callback_answer)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, MagicData(F.event.text.startswith("/")))
    router.message.register(unexpected_message)
    router.callback_query.register(stale_button)
    return router
