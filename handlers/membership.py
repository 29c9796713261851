"""A client blocking or unblocking the bot: their caseworker should know at once."""

from __future__ import annotations

from aiogram import Bot, F, Router, html
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.notify import notify
from db import clients
from db.database import Database


async def blocked(event: ChatMemberUpdated, db: Database, bot: Bot, i18n: I18n) -> None:
    client = await clients.get(db, event.from_user.id)
    if client is None or client.status != "active":
        return
    if await clients.mark_unreachable(db, client.telegram_id):
        name = html.quote(client.name)
        await notify(
            bot,
            db,
            i18n,
            client.caseworker_id,
            lambda _r: (
                _(
                    "🚫 {name} blocked the bot: messages and reminders cannot reach them now."
                ).format(name=name),
                None,
            ),
        )


async def unblocked(event: ChatMemberUpdated, db: Database) -> None:
    await clients.mark_reachable(db, event.from_user.id)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router
