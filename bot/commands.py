"""The command menus: per language (setMyCommands language_code) and per audience (a chat scope).

Telegram picks a menu by chat scope + language, then chat scope, then all private
chats + language, ... then default. Clients rarely report `kk` as their Telegram
language, so once a person has a role or picked a language, their own chat gets a
menu in that language; the defaults cover everyone else.

A menu offers what the person can do, by the rule the reply keyboard (bot/menu.py) and
/help follow: the client commands (/checkin, /message, /delete_me) only to a client with
an officer (`User.is_linked_client`). The chat's menu is rebuilt when its `marker`
changes: on the person's next update (bot/middlewares/user.py), at once when they join
or pick a language, and through the engine when their caseworker archives or restores
them (handlers/command_menu.py).
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
STAFF = frozenset({Role.CASEWORKER, Role.ADMIN})


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str  # an N_() msgid, translated per menu
    roles: frozenset[Role]
    needs_officer: bool = False  # a client's command: only with an officer (the menu's rule)

    def offered_to(self, user: User) -> bool:
        return user.role in self.roles and (not self.needs_officer or user.is_linked_client)


# Order is the order in the menu.
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", N_("Main menu"), EVERYONE),
    CommandSpec("services", N_("Find services: work, documents, housing, health"), EVERYONE),
    CommandSpec("checkin", N_("Check in now"), CLIENTS, needs_officer=True),
    CommandSpec("message", N_("Write to my probation officer"), CLIENTS, needs_officer=True),
    CommandSpec(
        "appointments", N_("My appointments: book, move, cancel"), CLIENTS, needs_officer=True
    ),
    CommandSpec("caseload", N_("My clients"), CASEWORKERS),
    CommandSpec("today", N_("Today's visits and attendance"), CASEWORKERS),
    CommandSpec("invite", N_("Invite a client"), CASEWORKERS),
    CommandSpec("hours", N_("My working hours and reception"), CASEWORKERS),
    CommandSpec("broadcast", N_("Send a message to many clients"), STAFF),
    CommandSpec("broadcasts", N_("My broadcasts: progress, cancel"), STAFF),
    CommandSpec("stats", N_("Statistics: figures and a 12-week chart"), STAFF),
    CommandSpec("staff", N_("Staff and reassignment"), ADMINS),
    CommandSpec("reports", N_("Problem reports on the directory"), ADMINS),
    CommandSpec("directory", N_("The directory: numbers, CSV export and import"), ADMINS),
    CommandSpec("language", N_("Change language"), EVERYONE),
    CommandSpec("help", N_("What this bot can do"), EVERYONE),
    CommandSpec("privacy", N_("Your data and privacy"), EVERYONE),
    CommandSpec("delete_me", N_("Delete my data"), CLIENTS, needs_officer=True),
)


def find(name: str) -> CommandSpec | None:
    return next((c for c in COMMANDS if c.name == name), None)


# Who sees the menu for someone without a chat menu of their own: a newcomer (no officer).
NEWCOMER = User(
    telegram_id=0,
    role=Role.CLIENT,
    language=None,
    timezone=None,
    display_name=None,
    menu_synced=None,
)


def audience(user: User) -> str:
    """Which menu the person gets: their role, and for a client whether they have an officer."""
    if user.role is Role.CLIENT and not user.is_linked_client:
        return "newcomer"
    return user.role.value


class CommandMenus:
    def __init__(self, db: Database, i18n: I18n, default_language: str) -> None:
        self.db = db
        self.i18n = i18n
        self.default_language = default_language

    def commands(self, user: User, language: str) -> list[BotCommand]:
        return [
            BotCommand(
                command=c.name, description=self.i18n.gettext(c.description, locale=language)
            )
            for c in COMMANDS
            if c.offered_to(user)
        ]

    @staticmethod
    def marker(user: User) -> str:
        """What a chat's menu was built for; the user row keeps it to know when to rebuild."""
        return f"{audience(user)}:{user.language or '-'}"

    async def set_defaults(self, bot: Bot) -> None:
        """A newcomer's menu for everyone: one per language, and the default language as fallback."""
        await bot.set_my_commands(
            self.commands(NEWCOMER, self.default_language), scope=BotCommandScopeDefault()
        )
        for language in LANGUAGES:
            await bot.set_my_commands(
                self.commands(NEWCOMER, language),
                scope=BotCommandScopeDefault(),
                language_code=language,
            )

    async def sync_user(self, bot: Bot, user: User, telegram_language: str | None = None) -> None:
        language = pick_language(user.language, telegram_language, self.default_language)
        try:
            await bot.set_my_commands(
                self.commands(user, language),
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
