"""Telling another person something, in their own language, without failing the current update."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n

from db import users
from db.database import Database
from db.users import User

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


async def notify(
    bot: Bot,
    db: Database,
    i18n: I18n,
    recipient_id: int,
    render: Callable[[User], tuple[str, Markup | None]],
) -> bool:
    """Renders text (and buttons) in the recipient's language and sends it.

    Returns False when Telegram refuses (blocked, deactivated, never started): the
    caller decides what that means (e.g. mark a client unreachable).
    """
    recipient = await users.get(db, recipient_id)
    if recipient is None:
        return False
    # The context too: outside an update (the engine, the CLI) nothing has set it.
    with i18n.context(), i18n.use_locale(recipient.language or i18n.default_locale):
        text, markup = render(recipient)
    try:
        await bot.send_message(recipient_id, text, reply_markup=markup)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.warning("Notification not delivered: %s", type(exc).__name__)
        return False
    return True
