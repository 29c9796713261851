"""Texts shared by several handlers (greeting, emergency numbers, names)."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
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


EMERGENCY = N_("In an emergency call 112. Police: 102. Ambulance: 103.")
OFFICER_FALLBACK = N_("your probation officer")


def emergency_numbers() -> str:
    return _(EMERGENCY)


def officer_name(display_name: str | None) -> str:
    """A caseworker's name for clients, escaped for HTML."""
    return html.quote(display_name) if display_name else _(OFFICER_FALLBACK)


KIND_NAMES = {
    "photo": N_("photo"),
    "document": N_("document"),
    "voice": N_("voice message"),
    "video": N_("video"),
    "audio": N_("audio"),
    "animation": N_("animation"),
    "location": N_("location"),
    "venue": N_("place"),
    "contact": N_("contact"),
    "sticker": N_("sticker"),
    "video_note": N_("video message"),
}


def kind_name(kind: str) -> str:
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind
