"""The client's side: write to the officer (any content), told what became of it; an
automatic answer outside the officer's working hours."""

from __future__ import annotations

import time

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import say_when
from bot.menu import main_menu
from db import clients, users, working_hours
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.hours import describe_hours
from handlers.messaging.delivery import OFFICER_GONE, Result, store_and_deliver
from handlers.messaging.writing import (
    body,
    cancel_button,
    client_writing_expired,
    content_kind,
    done_button,
    start_writing_to_officer,
    unsupported,
)
from handlers.texts import emergency_numbers
from scheduler.engine import Engine

# Outside working hours a client gets one auto-reply per this many seconds, not one per message.
AUTO_REPLY_EVERY = 3600.0


class AutoReplies:
    """When each client last got the out-of-hours auto-reply (in memory: a restart may repeat one)."""

    def __init__(self) -> None:
        self._sent: dict[int, float] = {}

    def due(self, client_id: int) -> bool:
        now = time.monotonic()
        if now - self._sent.get(client_id, -AUTO_REPLY_EVERY) < AUTO_REPLY_EVERY:
            return False
        self._sent[client_id] = now
        return True


def not_connected() -> str:
    return _(
        "You are not connected with a probation officer yet. Ask your officer for an invitation link."
    )


async def start_client_message(message: Message, user: User, state: FSMContext) -> None:
    if not user.is_linked_client:
        await message.answer(not_connected(), reply_markup=main_menu(user))
        return
    await start_writing_to_officer(state)
    await message.answer(
        _(
            "Write your message to your officer. You can also send a photo, a document, a voice message or your location."
        ),
        reply_markup=cancel_button(),
    )


async def write_again(query: CallbackQuery, user: User, state: FSMContext) -> None:
    if isinstance(query.message, Message):
        await start_client_message(query.message, user, state)


async def cancel_writing(
    query: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    await state.clear()
    callback_answer.text = _("Cancelled.")
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def done_writing(query: CallbackQuery, state: FSMContext) -> None:
    """«✔ Done» under a delivered message: the conversation ends (what was sent stays sent)."""
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


def outcome_text(result: Result) -> str:
    if result is Result.TRYING:
        text = _(
            "⏳ Your message is saved, but Telegram is not answering right now. The bot keeps trying and will tell you when it is delivered."
        )
    elif result is Result.REFUSED:
        text = _(
            "Your officer cannot receive messages in Telegram right now. Your message is saved and they will see it in the bot."
        )
    elif result is Result.GONE:
        text = _(OFFICER_GONE)
    else:
        text = _(
            "⚠️ Your message could not be delivered in Telegram. It is saved, and your officer will see it in the bot."
        )
    return text + "\n" + emergency_numbers()


async def client_sends(
    message: Message,
    user: User,
    db: Database,
    engine: Engine,
    i18n: I18n,
    settings: Settings,
    state: FSMContext,
    auto_replies: AutoReplies,
) -> None:
    kind = content_kind(message)
    if kind is None:
        await message.answer(unsupported())
        return
    data = await state.get_data()
    if client_writing_expired(data):
        await state.clear()
        await message.answer(
            _(
                "Nothing was sent: writing to your officer ends after a while without messages. Press «✉️ Message my officer» and send it again."
            ),
            reply_markup=main_menu(user),
        )
        return
    client = await clients.get(db, user.telegram_id)
    if client is None or client.status != "active":  # unlinked meanwhile (archived)
        await state.clear()
        await message.answer(
            _("You are not connected with a probation officer."), reply_markup=main_menu(user)
        )
        return
    result = await store_and_deliver(
        db,
        engine,
        client_id=client.telegram_id,
        caseworker_id=client.caseworker_id,
        direction="in",
        kind=kind,
        body=body(message),
        source_chat_id=message.chat.id,
        source_message_id=message.message_id,
    )
    # Changed only now: a crash before this point replays the update in the same state.
    if result is not Result.DELIVERED:
        await state.clear()
        await message.answer(outcome_text(result), reply_markup=main_menu(user))
        return
    # The conversation stays open: a photo after the text goes to the officer too.
    await state.set_data({"since": int(time.time()), "told": True})
    text = _("✅ Delivered to your officer.")
    if not data.get("told"):
        text += "\n" + _(
            "You can send more: text, photos, documents, voice messages. Press «✔ Done» when you have finished."
        )
    await message.answer(text, reply_markup=done_button())
    caseworker = await users.get(db, client.caseworker_id)
    if caseworker is not None:
        await _auto_reply_if_closed(message, caseworker, db, settings, auto_replies, i18n)


async def _auto_reply_if_closed(
    message: Message,
    caseworker: User,
    db: Database,
    settings: Settings,
    auto_replies: AutoReplies,
    i18n: I18n,
) -> None:
    hours = await working_hours.get(db, caseworker.telegram_id)
    zone = settings.zone_for(caseworker.timezone)
    now = utcnow()
    if hours.is_open(now, zone) or not auto_replies.due(message.chat.id):
        return
    opening = hours.next_opening(now, zone)
    text = _("Your officer works {hours} and will answer in working time.").format(
        hours=describe_hours(hours, i18n.current_locale)
    )
    if opening is not None:
        text += " " + _("Next working time starts {when}.").format(
            when=say_when(opening, zone, now)
        )
    await message.answer(text + "\n" + emergency_numbers())
