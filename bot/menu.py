"""The main menu: a persistent reply keyboard per role, labels translated per user.

Buttons send their label as text; handlers match it with `MenuButton(label)`,
which accepts the label in every language (a keyboard sent before a language
change still works).
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_, translations_of
from db.users import Role


class Label:
    SERVICES = N_("📋 Services")
    LANGUAGE = N_("🌐 Language")
    HELP = N_("❓ Help")
    PRIVACY = N_("🔒 Privacy")
    STAFF = N_("👥 Staff")


# Rows of (label, roles that see it).
_LAYOUT: tuple[tuple[tuple[str, frozenset[Role]], ...], ...] = (
    ((Label.SERVICES, frozenset(Role)),),
    ((Label.STAFF, frozenset({Role.ADMIN})),),
    (
        (Label.HELP, frozenset(Role)),
        (Label.LANGUAGE, frozenset(Role)),
        (Label.PRIVACY, frozenset(Role)),
    ),
)


def main_menu(role: Role) -> ReplyKeyboardMarkup:
    rows = [
        [KeyboardButton(text=_(label)) for label, roles in row if role in roles] for row in _LAYOUT
    ]
    return ReplyKeyboardMarkup(
        keyboard=[row for row in rows if row],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Choose from the menu"),
    )


class MenuButton(Filter):
    """Matches a press of this main-menu button, whatever language it was drawn in."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._texts: frozenset[str] | None = None

    async def __call__(self, message: Message, i18n: I18n) -> bool:
        if self._texts is None:  # catalogs are loaded by the time the first update arrives
            self._texts = translations_of(i18n, self.label)
        return message.text in self._texts
