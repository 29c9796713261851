"""The main menu: a persistent reply keyboard per person, labels translated per user.

Buttons send their label as text; handlers match it with `MenuButton(label)`,
which accepts the label in every language (a keyboard sent before a language
change still works).
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters import Filter
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_, translations_of
from db.users import Role, User


class Label:
    SERVICES = N_("📋 Services")
    CHECKIN = N_("✅ Check in")
    HELP_NOW = N_("🆘 I need help")
    MESSAGE_OFFICER = N_("✉️ Message my officer")
    APPOINTMENTS = N_("📅 Appointments")
    CASELOAD = N_("🗂 My clients")
    TODAY = N_("📅 Today's visits")
    INVITE = N_("➕ Invite a client")
    LANGUAGE = N_("🌐 Language")
    HELP = N_("❓ How to use")
    PRIVACY = N_("🔒 Privacy")
    STAFF = N_("👥 Staff")
    STATS = N_("📊 Statistics")


# Labels earlier versions drew: a keyboard already on someone's phone still sends them.
FORMER_LABELS: dict[str, frozenset[str]] = {
    Label.HELP: frozenset({"❓ Help", "❓ Анықтама", "❓ Помощь"}),
    Label.PRIVACY: frozenset({"🔒 Конфиденциальность"}),
}


def _everyone(_: User) -> bool:
    return True


def _linked_client(user: User) -> bool:
    return user.is_linked_client


def _caseworker(user: User) -> bool:
    return user.role is Role.CASEWORKER


def _admin(user: User) -> bool:
    return user.role is Role.ADMIN


# Rows of (label, who sees it).
_LAYOUT: tuple[tuple[tuple[str, Callable[[User], bool]], ...], ...] = (
    ((Label.SERVICES, _everyone),),
    ((Label.CHECKIN, _linked_client), (Label.HELP_NOW, _linked_client)),
    ((Label.MESSAGE_OFFICER, _linked_client), (Label.APPOINTMENTS, _linked_client)),
    ((Label.CASELOAD, _caseworker), (Label.TODAY, _caseworker)),
    ((Label.INVITE, _caseworker), (Label.STATS, _caseworker)),
    ((Label.STAFF, _admin), (Label.STATS, _admin)),
    ((Label.HELP, _everyone), (Label.LANGUAGE, _everyone), (Label.PRIVACY, _everyone)),
)


# Menus already built, by their texts: a few per language (one per kind of person). A markup
# is never modified once built, so one object serves every reply.
_MENUS: dict[tuple[object, ...], ReplyKeyboardMarkup] = {}


def main_menu(user: User) -> ReplyKeyboardMarkup:
    rows = tuple(
        row
        for row in (tuple(_(label) for label, shown in row if shown(user)) for row in _LAYOUT)
        if row
    )
    placeholder = _("Choose from the menu")
    key = (rows, placeholder)
    menu = _MENUS.get(key)
    if menu is None:
        menu = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=text) for text in row] for row in rows],
            resize_keyboard=True,
            is_persistent=True,
            input_field_placeholder=placeholder,
        )
        if len(_MENUS) >= 64:  # cannot happen with fixed labels; a bound all the same
            _MENUS.clear()
        _MENUS[key] = menu
    return menu


class MenuButton(Filter):
    """Matches a press of this main-menu button, whatever language it was drawn in."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._texts: frozenset[str] | None = None

    async def __call__(self, message: Message, i18n: I18n) -> bool:
        if self._texts is None:  # catalogs are loaded by the time the first update arrives
            self._texts = translations_of(i18n, self.label) | FORMER_LABELS.get(
                self.label, frozenset()
            )
        return message.text in self._texts
