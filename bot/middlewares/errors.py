"""A handler that raises is logged with its context; the person gets a localized apology.

Registered just inside the in-flight tracker, so even a database failure while
loading the person is answered, and it swallows the error: one bad update never
stops the bot serving others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n

from bot.i18n import N_, pick_language
from core.telegram import unreachable_reason
from db.users import User

log = logging.getLogger(__name__)

APOLOGY = N_("Sorry, something went wrong on our side. Please try again in a minute.")


class ErrorReplyMiddleware(BaseMiddleware):
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except TelegramForbiddenError as exc:
            # The person blocked the bot (or deleted the account) while we answered: not a
            # bug. One line; the my_chat_member update that Telegram sends marks them
            # unreachable (handlers/membership.py). An apology would be refused too.
            update = event if isinstance(event, Update) else None
            log.warning(
                "Telegram refused a reply (403 %s): update=%s type=%s",
                unreachable_reason(exc.message),
                update.update_id if update else "?",
                update.event_type if update else type(event).__name__,
            )
            chat = data.get("event_chat")
            refused = getattr(exc.method, "chat_id", None)
            if chat is not None and refused is not None and refused != chat.id:
                # Another person's chat refused: this person is still owed an answer.
                await self._apologise(data["bot"], chat.id, self._language(data))
            return None
        except Exception as exc:
            update = event if isinstance(event, Update) else None
            # Context without personal data: update id and type, and the error.
            log.exception(
                "Handler failed: update=%s type=%s error=%s",
                update.update_id if update else "?",
                update.event_type if update else type(event).__name__,
                type(exc).__name__,
            )
            chat = data.get("event_chat")
            if chat is not None:
                await self._apologise(data["bot"], chat.id, self._language(data))
            return None

    def _language(self, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        from_user: TelegramUser | None = data.get("event_from_user")
        return pick_language(
            user.language if user else None,
            from_user.language_code if from_user else None,
            self.i18n.default_locale,
        )

    async def _apologise(self, bot: Bot, chat_id: int, language: str) -> None:
        text = self.i18n.gettext(APOLOGY, locale=language)
        try:
            await bot.send_message(chat_id, text)
        except TelegramAPIError as exc:
            log.warning("Could not tell the user about the failure: %s", type(exc).__name__)
