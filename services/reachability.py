"""A person Telegram no longer delivers to (blocked the bot, deleted the account).

Two ways to learn it: the my_chat_member update when they block the bot
(handlers/membership.py), and a 403 on a message the engine sends (`unreachable_hook`).
Both end in `report_unreachable`, which sets the flag and stores the notice in one
transaction, so the caseworker (for a client) or the administrators (for staff: help
alerts for their clients now go to the administrators) are told once, even if Telegram
fails the first try. Writing to the bot again clears the flag (bot/middlewares/user.py).
"""

from __future__ import annotations

from db import clients, users
from db.clock import utcnow
from db.database import Database
from db.users import Role
from scheduler.engine import Engine, UnreachableHook
from services.notices import declare, notify_in

# Rendered by handlers/membership.py.
CLIENT_UNREACHABLE = declare("client_unreachable")  # to the client's caseworker
STAFF_UNREACHABLE = declare("staff_unreachable")  # to the other administrators


async def report_unreachable(db: Database, engine: Engine, person_id: int) -> None:
    person = await users.get(db, person_id)
    if person is None:
        return
    async with db.transaction() as conn:
        if person.role is Role.CLIENT:
            caseworker_id = await clients.mark_unreachable_in(conn, person_id)
            if caseworker_id is not None:
                await notify_in(
                    conn, recipient_id=caseworker_id, code=CLIENT_UNREACHABLE, client=person_id
                )
        elif await users.mark_staff_unreachable_in(conn, person_id):
            for admin in await users.admins(db):
                if admin.telegram_id != person_id:
                    await notify_in(
                        conn,
                        recipient_id=admin.telegram_id,
                        code=STAFF_UNREACHABLE,
                        staff=person_id,
                    )
    engine.poke(utcnow())


def unreachable_hook(engine: Engine) -> UnreachableHook:
    """For `engine.on_unreachable`: a 403 on any item reports its recipient."""

    async def hook(user_id: int, reason: str) -> None:
        await report_unreachable(engine.db, engine, user_id)

    return hook
