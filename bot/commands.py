"""The command menus: per language (setMyCommands language_code) and per role (a chat scope).

Telegram picks a menu by chat scope + language, then chat scope, then all private
chats + language, ... then default. Clients rarely report `kk` as their Telegram
language, so once a person has a role or picked a language, their own chat gets a
menu in that language; the defaults cover everyone else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.i18n import LANGUAGES, N_, pick_language
from db import users
from db.database import Database
from db.users import Role, User

log = logging.getLogger(__name__)

EVERYONE = frozenset(Role)
CLIENTS = frozenset({Role.CLIENT})
CASEWORKERS = frozenset({Role.CASEWORKER})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str  # an N_() msgid, translated per menu
    roles: frozenset[Role]


# Order is the order in the menu.
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", N_("Main menu"), EVERYONE),
    CommandSpec("services", N_("Find services: work, documents, housing, health"), EVERYONE),
    CommandSpec("checkin", N_("Check in now"), CLIENTS),
    CommandSpec("message", N_("Write to my probation officer"), CLIENTS),
    CommandSpec("caseload", N_("My clients"), CASEWORKERS),
    CommandSpec("invite", N_("Invite a client"), CASEWORKERS),
    CommandSpec("hours", N_("My working hours"), CASEWORKERS),
    CommandSpec("staff", N_("Staff and reassignment"), ADMINS),
    CommandSpec("reports", N_("Problem reports on the directory"), ADMINS),
    CommandSpec("directory", N_("The directory: numbers, CSV export and import"), ADMINS),
    CommandSpec("language", N_("Change language"), EVERYONE),
    CommandSpec("help", N_("What this bot can do"), EVERYONE),
    CommandSpec("privacy", N_("Your data and privacy"), EVERYONE),
    CommandSpec("delete_me", N_("Delete my data"), CLIENTS),
)


def find(name: str) -> CommandSpec | None:
    return next((c for c in COMMANDS if c.name == name), None)


class CommandMenus:
    def __init__(self, db: Database, i18n: I18n, default_language: str) -> None:
        self.db = db
        self.i18n = i18n
        self.default_language = default_language

    def commands(self, role: Role, language: str) -> list[BotCommand]:
        return [
            BotCommand(
                command=c.name, description=self.i18n.gettext(c.description, locale=language)
            )
            for c in COMMANDS
            if role in c.roles
        ]

    @staticmethod
    def marker(user: User) -> str:
        """What a chat's menu was built for; the user row keeps it to know when to rebuild."""
        return f"{user.role.value}:{user.language or '-'}"

    async def set_defaults(self, bot: Bot) -> None:
        """The client menu for everyone: one per language, and the default language as fallback."""
        await bot.set_my_commands(
            self.commands(Role.CLIENT, self.default_language), scope=BotCommandScopeDefault()
        )
        for language in LANGUAGES:
            await bot.set_my_commands(
                self.commands(Role.CLIENT, language),
                scope=BotCommandScopeDefault(),
                language_code=language,
            )

    async def sync_user(self, bot: Bot, user: User, telegram_language: str | None = None) -> None:
        language = pick_language(user.language, telegram_language, self.default_language)
        try:
            await bot.set_my_commands(
                self.commands(user.role, language),
                scope=BotCommandScopeChat(chat_id=user.telegram_id),
            )
        except TelegramAPIError as exc:
            # E.g. a caseworker added from the command line who has not opened the bot yet.
            log.warning("Could not set a chat's command menu: %s", type(exc).__name__)
            return
        await users.set_menu_synced(self.db, user.telegram_id, self.marker(user))

    async def sync_staff(self, bot: Bot) -> None:
        for member in await users.staff(self.db):
            # Someone who never wrote to the bot has no chat yet; their first message syncs it.
            if member.menu_synced is not None and member.menu_synced != self.marker(member):
                await self.sync_user(bot, member)
