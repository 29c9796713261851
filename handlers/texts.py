"""Texts shared by several handlers (greeting)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from db.users import Role


def programme_name() -> str:
    return _("«Society needs you!»")


def greeting(role: Role) -> str:
    if role is Role.CLIENT:
        return _(
            "Welcome to Jańa Jol, the bot of the programme {programme}.\n\n"
            "Here you can find services that help: work, documents, housing, health, "
            "legal aid. Choose from the menu below."
        ).format(programme=programme_name())
    return _(
        "Welcome to Jańa Jol, the bot of the programme {programme}.\n\n"
        "You are signed in as staff. Choose from the menu below; /help lists your commands."
    ).format(programme=programme_name())
