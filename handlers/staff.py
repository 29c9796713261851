"""Administrators: staff with their caseload sizes, and reassigning a client to another caseworker."""

from __future__ import annotations

from typing import Any

import aiosqlite
from aiogram import Router, html
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from bot.menu import Label, MenuButton
from bot.roles import admins_only, restrict
from db import clients, users
from db.clients import LinkError
from db.clock import utcnow
from db.database import Database
from db.directory_text import natural_key
from db.users import Role, User
from handlers.caseload import OPEN_CARD, open_card_markup
from handlers.notices import Rendered, notify_in, own_client, renderer
from handlers.texts import OFFICER_FALLBACK
from handlers.ui import chunks, clip
from scheduler.context import Delivery
from scheduler.engine import Engine

NEW_OFFICER = N_(
    "Your probation officer is now {officer}. Your messages with the bot so far were handed over to them."
)
ASSIGNED = N_("A client was assigned to you: {name}. See «🗂 My clients».")
MOVED = N_("{name} was reassigned to another caseworker by an administrator.")


class StaffCaseworker(CallbackData, prefix="sc"):
    caseworker_id: int


class StaffClient(CallbackData, prefix="sk"):
    client_id: int


class StaffReassign(CallbackData, prefix="sr"):
    client_id: int
    caseworker_id: int


async def list_staff(message: Message, db: Database) -> None:
    members = sorted(  # administrators first, then by name in natural order
        await users.staff(db),
        key=lambda m: (m.role is not Role.ADMIN, natural_key(m.display_name or ""), m.telegram_id),
    )
    loads = {c.telegram_id: c for c in await clients.caseworkers(db)}
    lines = [_("<b>Staff</b>")]
    builder = InlineKeyboardBuilder()
    for member in members:
        name = html.quote(member.display_name or "—")
        if member.role is Role.ADMIN:
            lines.append(
                _("• {name} (administrator, id {id})").format(name=name, id=member.telegram_id)
            )
            continue
        load = loads.get(member.telegram_id)
        active = load.active if load else 0
        line = _(
            "• {name} (caseworker, id {id}): {count} active client",
            "• {name} (caseworker, id {id}): {count} active clients",
            active,
        ).format(name=name, id=member.telegram_id, count=active)
        if member.unreachable:
            line += "\n  " + _(
                "🚫 Telegram does not deliver to them: help alerts go to administrators."
            )
        lines.append(line)
        builder.button(
            text=f"{clip(member.display_name or str(member.telegram_id), 30)} · {active}",
            callback_data=StaffCaseworker(caseworker_id=member.telegram_id),
        )
    builder.adjust(1)
    lines.append(
        _("Add a caseworker on the server: python -m bot admin add-caseworker ID --name NAME")
    )
    parts = chunks(lines, separator="\n")
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=builder.as_markup())


async def caseworker_clients(
    query: CallbackQuery,
    callback_data: StaffCaseworker,
    db: Database,
    callback_answer: CallbackAnswer,
) -> None:
    caseworker = await users.get(db, callback_data.caseworker_id)
    if (
        caseworker is None
        or caseworker.role is not Role.CASEWORKER
        or not isinstance(query.message, Message)
    ):
        callback_answer.text = _("This caseworker no longer exists.")
        return
    caseload = await clients.caseload(db, caseworker.telegram_id)
    builder = InlineKeyboardBuilder()
    for client in caseload[:90]:
        builder.button(
            text=clip(client.name, 40), callback_data=StaffClient(client_id=client.telegram_id)
        )
    builder.adjust(1)
    await query.message.answer(
        _("Clients of {name}: {count}. Choose a client to reassign.").format(
            name=html.quote(caseworker.display_name or str(caseworker.telegram_id)),
            count=len(caseload),
        ),
        reply_markup=builder.as_markup(),
    )


async def choose_new_caseworker(
    query: CallbackQuery, callback_data: StaffClient, db: Database, callback_answer: CallbackAnswer
) -> None:
    client = await clients.get(db, callback_data.client_id)
    if client is None or not isinstance(query.message, Message):
        callback_answer.text = _("This client no longer exists.")
        return
    builder = InlineKeyboardBuilder()
    for load in await clients.caseworkers(db):
        if load.telegram_id != client.caseworker_id:
            builder.button(
                text=f"{clip(load.name, 30)} · {load.active}",
                callback_data=StaffReassign(
                    client_id=client.telegram_id, caseworker_id=load.telegram_id
                ),
            )
    builder.adjust(1)
    await query.message.answer(
        _("Reassign {name} to:").format(name=html.quote(client.name)),
        reply_markup=builder.as_markup(),
    )


async def reassign(
    query: CallbackQuery,
    callback_data: StaffReassign,
    user: User,
    db: Database,
    engine: Engine,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await reassign_client(
            db,
            callback_data.client_id,
            callback_data.caseworker_id,
            actor_id=user.telegram_id,
        )
    except LinkError:
        callback_answer.text = _("This reassignment is no longer possible.")
        callback_answer.show_alert = True
        return
    engine.poke(utcnow())
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Done: the client has a new caseworker, and both were told.")
        )


async def reassign_client(
    db: Database, client_id: int, caseworker_id: int, *, actor_id: int | None
) -> None:
    """Moves the client; the client, the new and the previous officer are told (notices
    stored in the same transaction). Also `python -m bot admin reassign`: there the running
    bot sends the notices within a minute, or at its next start."""

    async def tell_everyone(conn: aiosqlite.Connection) -> None:
        await notify_in(conn, recipient_id=client_id, code="new_officer", officer=caseworker_id)
        await notify_in(conn, recipient_id=caseworker_id, code="client_assigned", client=client_id)
        if previous is not None:
            await notify_in(conn, recipient_id=previous, code="client_moved", client=client_id)

    previous_row = await clients.get(db, client_id)
    previous = previous_row.caseworker_id if previous_row else None
    await clients.reassign(db, client_id, caseworker_id, actor_id=actor_id, then=tell_everyone)


@renderer("new_officer")
async def new_officer(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await clients.get(delivery.db, delivery.item.recipient_id)
    officer_id = int(values.get("officer", 0))
    if client is None or client.caseworker_id != officer_id:
        return None  # moved again since
    officer = await users.get(delivery.db, officer_id)
    name = html.quote(officer.display_name) if officer and officer.display_name else None
    return delivery.gettext(NEW_OFFICER, officer=name or delivery.gettext(OFFICER_FALLBACK)), None


@renderer("client_assigned")
async def client_assigned(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await own_client(delivery, values)
    if client is None:
        return None
    card = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    return delivery.gettext(ASSIGNED, name=html.quote(client.name)), card


@renderer("client_moved")
async def client_moved(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await clients.get(delivery.db, int(values.get("client", 0)))
    if client is None or client.caseworker_id == delivery.item.recipient_id:
        return None
    return delivery.gettext(MOVED, name=html.quote(client.name)), None


def create_router() -> Router:
    router = Router(name="staff")
    restrict(router, admins_only())
    router.message.register(list_staff, Command("staff", ignore_case=True))
    router.message.register(list_staff, MenuButton(Label.STAFF))
    router.callback_query.register(caseworker_clients, StaffCaseworker.filter())
    router.callback_query.register(choose_new_caseworker, StaffClient.filter())
    router.callback_query.register(reassign, StaffReassign.filter())
    return router
