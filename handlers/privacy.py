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
        "We store only what the service needs: your Telegram ID, your language "
        "and, if a probation officer invited you and you agreed, your first name in Telegram, "
        "your messages with that officer and your check-ins and appointments (with your "
        "location only if you agreed to share it). We do not store your phone number.\n\n"
        "<b>Who sees it</b>\n"
        "Your probation officer sees the messages you exchanged with them; the programme "
        "administrators can see your data too. Nobody else. If an administrator hands your "
        "case to another officer, your whole history goes to the new officer, and you are "
        "told. If you later join through another officer's invitation, that officer does not "
        "see your messages with the previous one.\n\n"
        "<b>How long</b>\n"
        "Your case is kept until you delete it. Unfinished steps (a form you started) are "
        "forgotten after 24 hours. Search words are not stored: the bot keeps them in memory "
        "for an hour, for the page buttons. An unused invitation loses the name written on it "
        "when it expires. Reminders and notices are deleted 30 days after they were sent.\n\n"
        "<b>Deleting it</b>\n"
        "Send /delete_me at any time: everything above is deleted for real, and your officer "
        "is told that you left. Copies of messages already delivered to your officer's "
        "Telegram chat stay there: the bot cannot delete them. The service directory works "
        "without any of your data."
    )


async def show_privacy(message: Message) -> None:
    await message.answer(privacy_text())


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(show_privacy, Command("privacy", ignore_case=True))
    router.message.register(show_privacy, MenuButton(Label.PRIVACY))
    return router
