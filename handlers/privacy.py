"""/privacy: what is stored, who sees it, how to delete it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.menu import Label, MenuButton


def privacy_text() -> str:
    return _(
        "<b>Your data</b>\n\n"
        "We store only what the service needs: your Telegram number (id), your language "
        "and, if a probation officer invited you and you agreed, your first name in Telegram, "
        "your messages with that officer and your check-ins and appointments. We do not "
        "store your phone number.\n\n"
        "<b>Who sees it</b>\n"
        "Only your own probation officer and the programme administrators. Nobody else.\n\n"
        "<b>Deleting it</b>\n"
        "Send /delete_me at any time: everything above is deleted for real, and your officer "
        "is told that you left. The service directory works without any of your data."
    )


async def show_privacy(message: Message) -> None:
    await message.answer(privacy_text())


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(show_privacy, Command("privacy"))
    router.message.register(show_privacy, MenuButton(Label.PRIVACY))
    return router
