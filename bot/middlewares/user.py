"""Who is behind an update: private chats only, then our row for the person.

`PrivateChatsOnly` comes first: this is a one-to-one service, so an update from a group,
supergroup or channel (a message, a button under one, the bot being added) is dropped
before anything looks at it. No `users` row, no command menu, no reply for someone who
never opened the bot. Updates without a chat (none are used today) pass.
`UserMiddleware` loads (or on first contact creates) our row for the person.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatType
from aiogram.types import Chat, TelegramObject, Update
from aiogram.types import User as TelegramUser

from bot.commands import CommandMenus
from db import users
from db.database import Database

log = logging.getLogger(__name__)


class PrivateChatsOnly(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type != ChatType.PRIVATE:
            return UNHANDLED
        return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    def __init__(self, db: Database, menus: CommandMenus) -> None:
        self.db = db
        self.menus = menus

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        if from_user is None or from_user.is_bot:
            return await handler(event, data)
        user = await users.get_or_create(self.db, from_user.id)
        writing = isinstance(event, Update) and event.event_type in ("message", "callback_query")
        if user.unreachable and writing:  # they are writing to us, so Telegram delivers again
            await users.mark_reachable(self.db, user.telegram_id)
        data["user"] = user
        try:
            return await handler(event, data)
        finally:
            # A role given from the command line, or a language saved before the menu
            # was set, shows in this chat's command menu from the next message on.
            if user.menu_synced != self.menus.marker(user):
                bot: Bot = data["bot"]
                fresh = await users.get(self.db, user.telegram_id)
                if fresh is not None and fresh.menu_synced != self.menus.marker(fresh):
                    await self.menus.sync_user(bot, fresh, from_user.language_code)
