"""A client Telegram no longer delivers to (blocked the bot, deleted the account): the caseworker should know.

Two ways to learn it: the my_chat_member update when they block the bot, and a 403 on a
timed message (the engine's unreachable hook). Both end in `report_unreachable`, which
tells the caseworker once until the client is reachable again.
"""

from __future__ import annotations

from aiogram import Bot, F, Router, html
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.notify import notify
from db import clients
from db.database import Database
from scheduler.engine import Engine, UnreachableHook


async def report_unreachable(db: Database, bot: Bot, i18n: I18n, client_id: int) -> None:
    client = await clients.get(db, client_id)
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
                    "🚫 Telegram no longer delivers to {name} (blocked the bot or deleted the account): messages and reminders cannot reach them now."
                ).format(name=name),
                None,
            ),
        )


def unreachable_hook(engine: Engine) -> UnreachableHook:
    async def hook(user_id: int, reason: str) -> None:
        await report_unreachable(engine.db, engine.bot, engine.i18n, user_id)

    return hook


async def blocked(event: ChatMemberUpdated, db: Database, bot: Bot, i18n: I18n) -> None:
    await report_unreachable(db, bot, i18n, event.from_user.id)


async def unblocked(event: ChatMemberUpdated, db: Database) -> None:
    await clients.mark_reachable(db, event.from_user.id)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router
