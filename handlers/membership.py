"""A person Telegram no longer delivers to (blocked the bot, deleted the account).

Two ways to learn it: the my_chat_member update when they block the bot (here), and a 403
on a message the engine sends (its unreachable hook, services.reachability). Both end in
`services.reachability.report_unreachable`, which sets the flag and stores the notice in
one transaction; this module renders the notices. Writing to the bot again clears the
flag (bot/middlewares/user.py).
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router, html
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter, MagicData
from aiogram.types import ChatMemberUpdated

from bot.i18n import N_
from db import users
from db.database import Database
from handlers.client_card import OPEN_CARD, open_card_markup
from handlers.notices import Rendered, own_client, renderer
from scheduler.context import Delivery
from scheduler.engine import Engine
from services import reachability

CLIENT_UNREACHABLE = N_(
    "🚫 Telegram no longer delivers to {name} (blocked the bot or deleted the account): messages and reminders cannot reach them now."
)
STAFF_UNREACHABLE = N_(
    "🚫 Telegram no longer delivers to the caseworker {name} (blocked the bot or deleted the account). Help alerts from their clients come to the administrators until they write to the bot again."
)


@renderer(reachability.CLIENT_UNREACHABLE)
async def client_unreachable(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await own_client(delivery, values)
    if client is None or client.unreachable_since is None:
        return None  # no longer theirs, or reachable again
    card = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    return delivery.gettext(CLIENT_UNREACHABLE, name=html.quote(client.name)), card


@renderer(reachability.STAFF_UNREACHABLE)
async def staff_unreachable(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    member = await users.get(delivery.db, int(values.get("staff", 0)))
    if member is None or not member.unreachable:
        return None
    name = html.quote(member.display_name or f"#{member.telegram_id}")
    return delivery.gettext(STAFF_UNREACHABLE, name=name), None


async def blocked(event: ChatMemberUpdated, db: Database, engine: Engine) -> None:
    await reachability.report_unreachable(db, engine, event.from_user.id)


async def unblocked(event: ChatMemberUpdated, db: Database) -> None:
    await users.mark_reachable(db, event.from_user.id)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(MagicData(F.event.chat.type == "private"))
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router
