"""Storing notices: one-off messages the bot sends a person on its own (a client joined,
a client can no longer be reached, a relayed message was delivered late...).

Each is an engine item of kind `notice`, stored in the same transaction as the change it
reports (`notify_in`) and sent by the engine. Rendering belongs to the features:
handlers/notices.py sends the item with the renderer its feature registered for the
notice's code (`@renderer`), in the recipient's language at send time. A code must be
declared before it is stored: `declare()` in the service that stores it, or the
feature's `@renderer`, which declares its code; the engine refuses to start while a
declared code has no renderer. The payload holds ids, and names only where nothing
else keeps them (a person who deleted their data); it is emptied once the notice is
finished, and erasing a person deletes pending notices about them (`"client": <id>`).

    JOINED = declare("client_joined")

    async with db.transaction() as conn:
        ...                                           # the change itself
        await notify_in(conn, recipient_id=officer, code=JOINED, client=client_id)
    engine.poke(utcnow())
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from db import scheduled
from db.clock import utcnow
from scheduler.engine import Engine

NOTICE = "notice"

_DECLARED: set[str] = set()


def declare(code: str) -> str:
    """Makes `code` a notice that may be stored; returns it (for a module constant)."""
    _DECLARED.add(code)
    return code


def declared() -> frozenset[str]:
    return frozenset(_DECLARED)


async def notify_in(
    conn: aiosqlite.Connection,
    *,
    recipient_id: int,
    code: str,
    dedupe_key: str | None = None,
    **values: Any,
) -> int | None:
    """Stores a notice inside the caller's transaction (call `engine.poke` after COMMIT)."""
    if code not in _DECLARED:
        raise ValueError(f"unknown notice {code!r}: declare() it or register its renderer")
    now = utcnow()
    return await scheduled.schedule_in(
        conn,
        kind=NOTICE,
        recipient_id=recipient_id,
        due_at=now,
        now=now,
        payload={"notice": code, **values},
        dedupe_key=dedupe_key,
    )


async def notify(
    engine: Engine, recipient_id: int, code: str, *, dedupe_key: str | None = None, **values: Any
) -> None:
    """Stores a notice in a transaction of its own and wakes the engine."""
    async with engine.db.transaction() as conn:
        await notify_in(conn, recipient_id=recipient_id, code=code, dedupe_key=dedupe_key, **values)
    engine.poke(utcnow())
