"""/help: what the bot does for this person's role."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.menu import Label, MenuButton, main_menu
from db.database import Database
from db.users import Role, User
from handlers.checkins.client import schedule_summary


def help_text(user: User) -> str:
    common = _(
        "/language: change the language\n"
        "/privacy: what we store about you and how to delete it\n"
        "/start: main menu"
    )
    if user.role is Role.ADMIN:
        intro = _(
            "You are an administrator. You manage caseworkers and see the programme as a whole.\n\n"
            "/staff: caseworkers with their caseloads; reassign a client\n"
            "Caseworkers are added on the server: python -m bot admin add-caseworker ID --name NAME"
        )
    elif user.role is Role.CASEWORKER:
        intro = _(
            "You are a caseworker (probation officer). This bot helps you stay in touch with "
            "your clients.\n\n"
            "/invite: an invitation link and QR code for a new client\n"
            "/caseload: your clients, those needing attention first; write to them, see the history, "
            "set their check-in schedule («⏰ Check-ins» in the client card) or assign a visit "
            "(«📅 Assign a visit»)\n"
            "/today: today's visits; mark who came and who did not\n"
            "/hours: your working hours (clients writing outside them get an automatic answer) "
            "and reception hours («📅 Reception»: days, time, address, days off) when clients can "
            "book a visit"
        )
    elif user.is_linked_client:
        intro = _(
            "This bot helps you on your new path: it keeps you in touch with your probation "
            "officer and shows services that can help. Press the buttons below; you do not "
            "need to type.\n\n"
            "/checkin: check in now («I am fine»)\n"
            "🆘 I need help: your officer is alerted at once\n"
            "/appointments: your appointments with your officer: book, move or cancel\n"
            "/message: write to your officer (text, photo, voice, document or location)\n"
            "/delete_me: delete your data"
        )
    else:
        intro = _(
            "This bot helps you on your new path: it keeps you in touch with your probation "
            "officer and shows services that can help. Press the buttons below; you do not "
            "need to type.\n\n"
            "To connect with your officer, open the invitation link they give you."
        )
    services = _("/services: find services: work, documents, housing, health, legal aid")
    if user.role.is_staff:
        intro += "\n" + _(
            "/broadcast: one message to many clients at once, each in their language\n"
            "/broadcasts: past and running broadcasts, their figures; cancel one"
        )
        intro += "\n" + (
            _("/stats: the programme in figures and a 12-week chart")
            if user.role is Role.ADMIN
            else _("/stats: your clients in figures and a 12-week chart")
        )
    if user.role is Role.ADMIN:
        services += "\n" + _(
            "/directory: the directory in numbers and CSV export; send a CSV file to import\n"
            "/reports: problem reports from clients"
        )
    return f"{intro}\n\n{services}\n{common}"


async def show_help(
    message: Message, user: User, db: Database, settings: Settings, i18n: I18n
) -> None:
    text = help_text(user)
    if user.is_linked_client:  # a client sees their own check-in schedule here
        text += "\n\n" + await schedule_summary(db, user, settings, i18n)
    await message.answer(text, reply_markup=main_menu(user))


def create_router() -> Router:
    router = Router(name="help")
    router.message.register(show_help, Command("help", ignore_case=True))
    router.message.register(show_help, MenuButton(Label.HELP))
    return router
