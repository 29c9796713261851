"""A client's command menu follows their case at once when their caseworker archives or
restores them: an engine item stored with the status change rebuilds the client's chat
menu (bot/commands.py), instead of waiting for the client's next message."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.commands import CommandMenus
from db import scheduled, users
from db.scheduled import ScheduledItem
from handlers.client_status import StatusChange, on_status_change
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome

MENU_SYNC = "menu.sync"


@on_status_change
async def menu_follows_status(conn: aiosqlite.Connection, change: StatusChange) -> datetime:
    await scheduled.schedule_in(
        conn, kind=MENU_SYNC, recipient_id=change.client_id, due_at=change.now, now=change.now
    )
    return change.now


async def sync_menu(item: ScheduledItem, delivery: Delivery) -> Outcome:
    person = await users.get(delivery.db, item.recipient_id)
    if person is None:
        return Drop("gone")
    menus = CommandMenus(delivery.db, delivery.i18n, delivery.settings.default_language)
    await menus.sync_user(delivery.bot, person)  # a refusal is logged; the next message retries
    return SENT


def register(engine: Engine) -> None:
    engine.register(MENU_SYNC, sync_menu)
