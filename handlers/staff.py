"""Administrators: the staff list."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.menu import Label, MenuButton
from bot.roles import admins_only, restrict
from db import users
from db.database import Database
from db.users import Role


async def list_staff(message: Message, db: Database) -> None:
    members = await users.staff(db)
    role_names = {Role.ADMIN: _("administrator"), Role.CASEWORKER: _("caseworker")}
    lines = [
        "• {name} ({role}, id {id})".format(
            name=html.quote(m.display_name or "—"), role=role_names[m.role], id=m.telegram_id
        )
        for m in members
    ]
    await message.answer(
        _("<b>Staff</b>")
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + _("Add a caseworker on the server: python -m bot admin add-caseworker ID --name NAME")
    )


def create_router() -> Router:
    router = Router(name="staff")
    restrict(router, admins_only())
    router.message.register(list_staff, Command("staff"))
    router.message.register(list_staff, MenuButton(Label.STAFF))
    return router
