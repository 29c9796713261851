"""Administrators: staff with their caseload sizes, and reassigning a client to another caseworker."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router, html
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.menu import Label, MenuButton
from db import clients, users
from db.clients import LinkError
from db.database import Database
from db.directory_text import natural_key
from db.users import Role, User
from handlers.client_card import OPEN_CARD, open_card_markup
from handlers.notices import Rendered, own_client, renderer
from handlers.staff_ui import (
    CLIENTS_PAGE_SIZE,
    StaffCaseworker,
    StaffClient,
    StaffReassign,
    clients_keyboard,
    new_caseworker_keyboard,
    staff_keyboard,
)
from handlers.texts import OFFICER_FALLBACK
from handlers.ui import ON_MESSAGE, edit_or_send, paginate, refuse, send_parts
from scheduler.context import Delivery
from scheduler.engine import Engine
from services import assignment

NEW_OFFICER = N_(
    "Your probation officer is now {officer}. Your messages with the bot so far were handed over to them."
)
ASSIGNED = N_("A client was assigned to you: {name}. See «🗂 My clients».")
MOVED = N_("{name} was reassigned to another caseworker by an administrator.")


async def list_staff(message: Message, db: Database, bot: Bot) -> None:
    members = sorted(  # administrators first, then by name in natural order
        await users.staff(db),
        key=lambda m: (m.role is not Role.ADMIN, natural_key(m.display_name or ""), m.telegram_id),
    )
    loads = {c.telegram_id: c for c in await clients.caseworkers(db)}
    lines = [_("<b>Staff</b>")]
    caseworkers: list[tuple[User, int]] = []
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
        caseworkers.append((member, active))
    lines.append(
        _("Add a caseworker on the server: python -m bot admin add-caseworker ID --name NAME")
    )
    await send_parts(bot, message.chat.id, "\n".join(lines), staff_keyboard(caseworkers))


async def caseworker_clients(
    query: CallbackQuery,
    callback_data: StaffCaseworker,
    message: Message,
    db: Database,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    caseworker = await users.get(db, callback_data.caseworker_id)
    if caseworker is None or caseworker.role is not Role.CASEWORKER:
        refuse(callback_answer, _("This caseworker no longer exists."))
        return
    caseload = await clients.caseload(db, caseworker.telegram_id)
    shown, page, pages = paginate(caseload, callback_data.page, CLIENTS_PAGE_SIZE)
    text = _("Clients of {name}: {count}. Choose a client to reassign.").format(
        name=html.quote(caseworker.display_name or str(caseworker.telegram_id)),
        count=len(caseload),
    )
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    markup = clients_keyboard(caseworker.telegram_id, shown, page, pages)
    if callback_data.edit:
        await edit_or_send(query, bot, text, markup)
    else:
        await message.answer(text, reply_markup=markup)


async def choose_new_caseworker(
    query: CallbackQuery,
    callback_data: StaffClient,
    message: Message,
    db: Database,
    callback_answer: CallbackAnswer,
) -> None:
    client = await clients.get(db, callback_data.client_id)
    if client is None:
        refuse(callback_answer, _("This client no longer exists."))
        return
    await message.answer(
        _("Reassign {name} to:").format(name=html.quote(client.name)),
        reply_markup=new_caseworker_keyboard(client, await clients.caseworkers(db)),
    )


async def reassign(
    query: CallbackQuery,
    callback_data: StaffReassign,
    user: User,
    db: Database,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await assignment.reassign_client(
            db,
            callback_data.client_id,
            callback_data.caseworker_id,
            actor_id=user.telegram_id,
            engine=engine,
        )
    except LinkError:
        refuse(callback_answer, _("This reassignment is no longer possible."))
        return
    await edit_or_send(
        query, bot, _("Done: the client has a new caseworker, and both were told."), None
    )


@renderer(assignment.NEW_OFFICER)
async def new_officer(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await clients.get(delivery.db, delivery.item.recipient_id)
    officer_id = int(values.get("officer", 0))
    if client is None or client.caseworker_id != officer_id:
        return None  # moved again since
    officer = await users.get(delivery.db, officer_id)
    name = html.quote(officer.display_name) if officer and officer.display_name else None
    return delivery.gettext(NEW_OFFICER, officer=name or delivery.gettext(OFFICER_FALLBACK)), None


@renderer(assignment.CLIENT_ASSIGNED)
async def client_assigned(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await own_client(delivery, values)
    if client is None:
        return None
    card = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    return delivery.gettext(ASSIGNED, name=html.quote(client.name)), card


@renderer(assignment.CLIENT_MOVED)
async def client_moved(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await clients.get(delivery.db, int(values.get("client", 0)))
    if client is None or client.caseworker_id == delivery.item.recipient_id:
        return None
    return delivery.gettext(MOVED, name=html.quote(client.name)), None


def create_router() -> Router:
    router = Router(name="staff")
    router.message.register(list_staff, Command("staff", ignore_case=True))
    router.message.register(list_staff, MenuButton(Label.STAFF))
    router.callback_query.register(caseworker_clients, StaffCaseworker.filter(), ON_MESSAGE)
    router.callback_query.register(choose_new_caseworker, StaffClient.filter(), ON_MESSAGE)
    router.callback_query.register(reassign, StaffReassign.filter())
    return router
