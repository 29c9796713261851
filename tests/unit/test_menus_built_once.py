"""Menus and the directory's home keyboard are built once per content, never shared wrongly."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, KeyboardButton

from bot.i18n import create_i18n
from bot.menu import main_menu
from db.directory import Category, Texts
from db.users import Role, User
from handlers.directory_ui import home_keyboard


def person(role: Role, caseworker_id: int | None = None) -> User:
    return User(1, role, "en", None, None, None, caseworker_id=caseworker_id)


def texts(rows: Sequence[Sequence[KeyboardButton | InlineKeyboardButton]]) -> list[list[str]]:
    return [[button.text for button in row] for row in rows]


def test_the_main_menu_is_reused_per_language_and_kind_of_person() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        client = main_menu(person(Role.CLIENT, caseworker_id=5))
        assert main_menu(person(Role.CLIENT, caseworker_id=6)) is client
        unlinked = main_menu(person(Role.CLIENT))
        caseworker = main_menu(person(Role.CASEWORKER))
    with i18n.context(), i18n.use_locale("ru"):
        russian = main_menu(person(Role.CLIENT, caseworker_id=5))
    assert texts(client.keyboard)[1] == ["✅ Check in", "🆘 I need help"]
    assert all("✅ Check in" not in row for row in texts(unlinked.keyboard))
    assert ["🗂 My clients", "📅 Today's visits"] in texts(caseworker.keyboard)
    assert texts(russian.keyboard) != texts(client.keyboard)
    assert russian.input_field_placeholder != client.input_field_placeholder


def test_the_home_keyboard_follows_the_counts_and_the_language() -> None:
    i18n = create_i18n("en")
    work = Category(1, "employment", "💼", Texts(kk="Жұмыс", ru="Работа", en="Work"), 3)
    empty = Category(2, "housing", "🏠", Texts(kk="Баспана", ru="Жильё", en="Housing"), 0)
    with i18n.context(), i18n.use_locale("en"):
        first = home_keyboard([work, empty], "en")
        assert home_keyboard([work, empty], "en") is first
        fewer = home_keyboard([Category(1, "employment", "💼", work.name, 2), empty], "en")
    with i18n.context(), i18n.use_locale("kk"):
        kazakh = home_keyboard([work, empty], "kk")
    assert texts(first.inline_keyboard) == [["💼 Work (3)"], ["🔍 Search", "📍 Nearest to me"]]
    assert texts(fewer.inline_keyboard)[0] == ["💼 Work (2)"]
    assert texts(kazakh.inline_keyboard)[0] == ["💼 Жұмыс (3)"]
    assert texts(kazakh.inline_keyboard)[1] != texts(first.inline_keyboard)[1]
