"""A message handled again after a crash (bot/polling.py replays unfinished updates).

Its row exists already (keyed by the Telegram message), so it is not stored twice; whatever
state the conversation was in, the sender gets the answer they were owed.
"""

from __future__ import annotations

from typing import Any

from aiogram import html
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.menu import main_menu
from db import clients
from db.database import Database
from db.messages import Relayed
from db.users import User
from handlers.messaging import client, staff
from handlers.messaging.delivery import Result, deliver_stored, stored_from
from scheduler.engine import Engine


class AlreadyStored(Filter):
    """Matches a message that was already stored for relaying; hands it over as `relayed`."""

    async def __call__(self, message: Message, db: Database, **_: Any) -> bool | dict[str, Any]:
        found = await stored_from(db, message.chat.id, message.message_id)
        return False if found is None else {"relayed": found}


async def answer_again(
    message: Message,
    user: User,
    db: Database,
    engine: Engine,
    state: FSMContext,
    relayed: Relayed,
) -> None:
    await state.clear()
    result = await deliver_stored(db, engine, relayed.id)
    if relayed.direction == "in":
        text = _("✅ Delivered to your officer.") if result is Result.DELIVERED else None
        await message.answer(text or client.outcome_text(result), reply_markup=main_menu(user))
        return
    found = await clients.get(db, relayed.client_id)
    name = html.quote(found.name if found else f"#{relayed.client_id}")
    await message.answer(staff.outcome_text(result, name), reply_markup=main_menu(user))
