"""Which caseworker a client has: reassigning, in a /staff screen or with `python -m bot admin`."""

from __future__ import annotations

import aiosqlite

from db import clients
from db.clock import utcnow
from db.database import Database
from scheduler.engine import Engine
from services.appointments import cancel_all_for_client_in
from services.notices import declare, notify_in

# Rendered by handlers/staff.py.
NEW_OFFICER = declare("new_officer")  # to the client
CLIENT_ASSIGNED = declare("client_assigned")  # to the new caseworker
CLIENT_MOVED = declare("client_moved")  # to the previous caseworker


async def reassign_client(
    db: Database,
    client_id: int,
    caseworker_id: int,
    *,
    actor_id: int | None,
    engine: Engine | None = None,
) -> None:
    """Moves the client; the client, the new and the previous officer are told (notices
    stored in the same transaction). Appointments with the previous officer are cancelled
    in it too, and the client is told of each (they book again with the new one).
    Raises db.clients.LinkError when it cannot be done.

    `engine`: woken for the notices. Without one (the command line), the running bot
    sends them within a minute, or at its next start.
    """

    async def tell_everyone(conn: aiosqlite.Connection) -> None:
        await notify_in(conn, recipient_id=client_id, code=NEW_OFFICER, officer=caseworker_id)
        await notify_in(conn, recipient_id=caseworker_id, code=CLIENT_ASSIGNED, client=client_id)
        if previous is not None:
            await notify_in(conn, recipient_id=previous, code=CLIENT_MOVED, client=client_id)
        await cancel_all_for_client_in(conn, client_id, "system", utcnow(), tell=True)

    previous_row = await clients.get(db, client_id)
    previous = previous_row.caseworker_id if previous_row else None
    await clients.reassign(db, client_id, caseworker_id, actor_id=actor_id, then=tell_everyone)
    if engine is not None:
        engine.poke(utcnow())
