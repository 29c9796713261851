"""A person Telegram no longer delivers to (blocked the bot, deleted the account).

Two ways to learn it: the my_chat_member update when they block the bot, and a 403 on a
message the engine sends (its unreachable hook). Both end in `report_unreachable`, which
sets the flag and stores the notice in one transaction, so the caseworker (for a client)
or the administrators (for staff: help alerts for their clients now go to the
administrators) are told once, even if Telegram fails the first try. Writing to the bot
again clears the flag (bot/middlewares/user.py).
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router, html
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.i18n import N_
from db import clients, users
from db.clock import utcnow
from db.database import Database
from db.users import Role
from handlers.client_card import OPEN_CARD, open_card_markup
from handlers.notices import Rendered, notify_in, own_client, renderer
from scheduler.context import Delivery
from scheduler.engine import Engine, UnreachableHook

CLIENT_UNREACHABLE = N_(
    "🚫 Telegram no longer delivers to {name} (blocked the bot or deleted the account): messages and reminders cannot reach them now."
)
STAFF_UNREACHABLE = N_(
    "🚫 Telegram no longer delivers to the caseworker {name} (blocked the bot or deleted the account). Help alerts from their clients come to the administrators until they write to the bot again."
)


async def report_unreachable(db: Database, engine: Engine, person_id: int) -> None:
    person = await users.get(db, person_id)
    if person is None:
        return
    async with db.transaction() as conn:
        if person.role is Role.CLIENT:
            caseworker_id = await clients.mark_unreachable_in(conn, person_id)
            if caseworker_id is not None:
                await notify_in(
                    conn, recipient_id=caseworker_id, code="client_unreachable", client=person_id
                )
        elif await users.mark_staff_unreachable_in(conn, person_id):
            for admin in await users.admins(db):
                if admin.telegram_id != person_id:
                    await notify_in(
                        conn,
                        recipient_id=admin.telegram_id,
                        code="staff_unreachable",
                        staff=person_id,
                    )
    engine.poke(utcnow())


@renderer("client_unreachable")
async def client_unreachable(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await own_client(delivery, values)
    if client is None or client.unreachable_since is None:
        return None  # no longer theirs, or reachable again
    card = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    return delivery.gettext(CLIENT_UNREACHABLE, name=html.quote(client.name)), card


@renderer("staff_unreachable")
async def staff_unreachable(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    member = await users.get(delivery.db, int(values.get("staff", 0)))
    if member is None or not member.unreachable:
        return None
    name = html.quote(member.display_name or f"#{member.telegram_id}")
    return delivery.gettext(STAFF_UNREACHABLE, name=name), None


def unreachable_hook(engine: Engine) -> UnreachableHook:
    async def hook(user_id: int, reason: str) -> None:
        await report_unreachable(engine.db, engine, user_id)

    return hook


async def blocked(event: ChatMemberUpdated, db: Database, engine: Engine) -> None:
    await report_unreachable(db, engine, event.from_user.id)


async def unblocked(event: ChatMemberUpdated, db: Database) -> None:
    await users.mark_reachable(db, event.from_user.id)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router
