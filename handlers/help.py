"""/help: what the bot does for this person's role."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.menu import Label, MenuButton, main_menu
from db.users import Role, User


def help_text(role: Role) -> str:
    common = _(
        "/language: change the language\n"
        "/privacy: what we store about you and how to delete it\n"
        "/start: main menu"
    )
    if role is Role.ADMIN:
        intro = _(
            "You are an administrator. You manage caseworkers and see the programme as a whole.\n\n"
            "/staff: caseworkers and administrators\n"
            "Caseworkers are added on the server: python -m bot admin add-caseworker ID --name NAME"
        )
    elif role is Role.CASEWORKER:
        intro = _(
            "You are a caseworker (probation officer). This bot helps you stay in touch with "
            "your clients."
        )
    else:
        intro = _(
            "This bot helps you on your new path: it keeps you in touch with your probation "
            "officer and shows services that can help. Press the buttons below; you do not "
            "need to type."
        )
    services = _("/services: find services: work, documents, housing, health, legal aid")
    if role is Role.ADMIN:
        services += "\n" + _(
            "/directory: the directory in numbers and CSV export; send a CSV file to import\n"
            "/reports: problem reports from clients"
        )
    return f"{intro}\n\n{services}\n{common}"


async def show_help(message: Message, user: User) -> None:
    await message.answer(help_text(user.role), reply_markup=main_menu(user.role))


def create_router() -> Router:
    router = Router(name="help")
    router.message.register(show_help, Command("help"))
    router.message.register(show_help, MenuButton(Label.HELP))
    return router
