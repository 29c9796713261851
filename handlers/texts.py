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


def clip(text: str, limit: int) -> str:
    """Shortens text for a button or a list line (Telegram shows about 64 characters per button)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def chunks(blocks: list[str], limit: int = 4096, separator: str = "\n\n") -> list[str]:
    """Whole blocks per message, so no HTML tag is ever cut; a block over the limit is clipped."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        block = block if len(block) <= limit else clip(block, limit)
        candidate = f"{current}{separator}{block}" if current else block
        if len(candidate) > limit:
            messages.append(current)
            candidate = block
        current = candidate
    if current:
        messages.append(current)
    return messages
