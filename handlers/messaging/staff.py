"""The caseworker's side: ✍️ Write / ↩️ Reply on a client, then the message (any content);
📜 History; and what messaging puts on the client card (registered at import)."""

from __future__ import annotations

from aiogram import html
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import say_when
from bot.menu import main_menu
from db import clients, messages
from db.database import Database
from db.users import User
from handlers.client_card import CardButton, CardContext, card_buttons, card_lines, owned_client
from handlers.messaging.callbacks import ClientMessages, MessagesAction
from handlers.messaging.delivery import Result, store_and_deliver
from handlers.messaging.writing import (
    WRITING_EXPIRES,
    body,
    cancel_button,
    content_kind,
    start_writing_to,
    unsupported,
    writing_expired,
)
from handlers.texts import kind_name
from handlers.ui import chunks, clip
from scheduler.engine import Engine


async def card_buttons_of_messaging(card: CardContext) -> list[CardButton]:
    cid = card.client.telegram_id
    return [
        CardButton(_("✍️ Write"), ClientMessages(client_id=cid, action=MessagesAction.WRITE)),
        CardButton(_("📜 History"), ClientMessages(client_id=cid, action=MessagesAction.HISTORY)),
    ]


async def card_lines_of_messaging(card: CardContext) -> list[str]:
    if not card.client.unread:
        return []
    return [_("Unread messages: {count}").format(count=card.client.unread)]


card_buttons.register(10, card_buttons_of_messaging)
card_lines.register(20, card_lines_of_messaging)


async def start_caseworker_message(
    query: CallbackQuery,
    message: Message,
    callback_data: ClientMessages,
    user: User,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    await start_writing_to(state, client.telegram_id)
    await message.answer(
        _(
            "Write your message for {name}. Text, a photo, a document, a voice message or a location."
        ).format(name=html.quote(client.name)),
        reply_markup=cancel_button(),
    )


def outcome_text(result: Result, name: str) -> str:
    if result is Result.DELIVERED:
        return _("✅ Delivered to {name}.").format(name=name)
    if result is Result.TRYING:
        return _(
            "⏳ Saved, but Telegram is not answering right now. The bot keeps trying to deliver it to {name} and will tell you."
        ).format(name=name)
    if result is Result.REFUSED:
        return _(
            "⚠️ Not delivered: {name} has blocked the bot or deleted their Telegram account. The message is saved in the history."
        ).format(name=name)
    if result is Result.GONE:
        return _("⚠️ Not delivered: this client is no longer on your caseload.")
    return _("⚠️ Not delivered to {name}. The message is saved in the history.").format(name=name)


async def caseworker_sends(
    message: Message,
    user: User,
    db: Database,
    engine: Engine,
    state: FSMContext,
) -> None:
    kind = content_kind(message)
    if kind is None:
        await message.answer(unsupported())
        return
    data = await state.get_data()
    if writing_expired(data):
        await state.clear()
        await message.answer(
            _(
                "Nothing was sent: writing to a client ends after {minutes} minutes. Open the client's card and press «✍️ Write» again."
            ).format(minutes=WRITING_EXPIRES // 60),
            reply_markup=main_menu(user),
        )
        return
    client = await clients.get_for_caseworker(db, int(data.get("client_id") or 0), user.telegram_id)
    if client is None:
        await state.clear()
        await message.answer(
            _("This client is not on your caseload."), reply_markup=main_menu(user)
        )
        return
    result = await store_and_deliver(
        db,
        engine,
        client_id=client.telegram_id,
        caseworker_id=user.telegram_id,
        direction="out",
        kind=kind,
        body=body(message),
        source_chat_id=message.chat.id,
        source_message_id=message.message_id,
    )
    await state.clear()  # only now: a crash before this point replays the update in the same state
    await messages.mark_read(db, client.telegram_id, user.telegram_id)  # answering means reading
    await message.answer(
        outcome_text(result, html.quote(client.name)), reply_markup=main_menu(user)
    )


async def show_history(
    query: CallbackQuery,
    message: Message,
    callback_data: ClientMessages,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    history = await messages.history(db, client.telegram_id, user.telegram_id)
    await messages.mark_read(db, client.telegram_id, user.telegram_id)
    if not history:
        await message.answer(_("No messages with {name} yet.").format(name=html.quote(client.name)))
        return
    lines = [
        _("<b>Messages with {name}</b> (latest {count})").format(
            name=html.quote(client.name), count=len(history)
        )
    ]
    for item in history:
        when = say_when(item.created_at, settings.zone, weekday=False)
        arrow = "⬅️" if item.direction == "in" else "➡️"
        content = html.quote(clip(item.body, 300)) if item.body else f"[{kind_name(item.kind)}]"
        failed = " ⚠️ " + _("not delivered") if item.delivery == "failed" else ""
        lines.append(f"{arrow} <i>{when}</i>{failed}\n{content}")
    for part in chunks(lines):
        await message.answer(part)
