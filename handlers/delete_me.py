"""/delete_me: a person deletes everything the bot stores about them, for real."""

from __future__ import annotations

from typing import Any

import aiosqlite
from aiogram import F, Router, html
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from db import clients, privacy
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.notices import Rendered, notify_in, renderer
from handlers.ui import ON_MESSAGE
from scheduler.context import Delivery
from scheduler.engine import Engine

CLIENT_DELETED = N_("{name} deleted their data from the bot and is no longer on your caseload.")


class DeleteMe(CallbackData, prefix="dm1"):
    """The answer to "Delete?". The prefix's version is bumped when the fields change
    (docs/architecture.md, "Callback data"): an older button is refused, not misread."""

    confirm: bool


def confirm_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🗑 Yes, delete my data"), callback_data=DeleteMe(confirm=True))
    builder.button(text=_("✖ No, keep it"), callback_data=DeleteMe(confirm=False))
    builder.adjust(1)
    return builder.as_markup()


def what_is_deleted(client: Client | None) -> str:
    """What /delete_me deletes and who is told, for this person's situation."""
    if client is None:  # never joined an officer: nobody to tell
        return _(
            "This deletes everything the bot stores about you: your Telegram ID, your language "
            "and anything you started in the bot. This cannot be undone. Delete?"
        )
    if client.status != "active":  # archived: the officer who had the case is told
        return _(
            "This deletes everything the bot stores about you: your profile, your messages "
            "with your former officer and your check-ins. The officer who had your case is "
            "told that you deleted your data. Copies already delivered to that officer's "
            "Telegram chat stay there: the bot cannot delete them. This cannot be undone. Delete?"
        )
    return _(
        "This deletes everything the bot stores about you: your profile, your messages "
        "with your officer, your check-ins and appointments. Your officer is told that you "
        "left. Copies already delivered to your officer's Telegram chat stay there: the bot "
        "cannot delete them. This cannot be undone. Delete?"
    )


async def ask(message: Message, user: User, db: Database) -> None:
    if user.role.is_staff:
        await message.answer(_("Staff accounts are removed by an administrator."))
        return
    client = await clients.get(db, user.telegram_id)
    await message.answer(what_is_deleted(client), reply_markup=confirm_keyboard())


async def keep(query: CallbackQuery, message: Message) -> None:
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Nothing was deleted."))


async def erase(
    query: CallbackQuery,
    message: Message,
    user: User,
    db: Database,
    engine: Engine,
    state: FSMContext,
) -> None:
    if user.role.is_staff:  # became staff since the question was asked
        await keep(query, message)
        return
    await message.edit_reply_markup(reply_markup=None)
    client = await clients.get(db, user.telegram_id)
    await state.clear()

    async def tell_officer(conn: aiosqlite.Connection) -> None:
        # The notice carries the name: nothing else keeps it now (emptied once sent).
        if client is not None:
            await notify_in(
                conn, recipient_id=client.caseworker_id, code="client_deleted", name=client.name
            )

    await privacy.erase(
        db,
        user.telegram_id,
        caseworker_id=client.caseworker_id if client else None,
        then=tell_officer,
    )
    engine.poke(utcnow())
    await message.answer(
        _(
            "Your data has been deleted. If you write to the bot again, it starts from the beginning."
        ),
        reply_markup=ReplyKeyboardRemove(),
    )


@renderer("client_deleted")
async def client_deleted(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    return delivery.gettext(CLIENT_DELETED, name=html.quote(str(values.get("name", "")))), None


def create_router() -> Router:
    router = Router(name="delete_me")
    router.message.register(ask, Command("delete_me", ignore_case=True))
    router.callback_query.register(erase, DeleteMe.filter(F.confirm), ON_MESSAGE)
    router.callback_query.register(keep, DeleteMe.filter(~F.confirm), ON_MESSAGE)
    return router
