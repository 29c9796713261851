"""Archiving and restoring a client, with what each feature must do about it.

Features register a hook (at import) that runs inside the status change's transaction:
check-ins stop on archive and resume on restore, so no reminder reaches an archived
client and nothing counts as missed meanwhile (security review F5). Caseload code calls
`set_client_status` without knowing which features care.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from bot.config import Settings
from db import clients, users
from db.database import Database
from scheduler.engine import Engine


@dataclass(frozen=True)
class StatusChange:
    client_id: int
    status: str  # archived | active
    now: datetime
    zone: ZoneInfo  # the client's
    settings: Settings


# Returns when the engine should next wake for what the hook stored (or None).
Hook = Callable[[aiosqlite.Connection, StatusChange], Awaitable[datetime | None]]
_HOOKS: list[Hook] = []


def on_status_change(hook: Hook) -> Hook:
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


async def set_client_status(
    db: Database,
    engine: Engine,
    settings: Settings,
    client_id: int,
    caseworker_id: int,
    status: str,
) -> bool:
    """One transaction: the status and every feature's consequences. False if unchanged."""
    person = await users.get(db, client_id)
    change = StatusChange(
        client_id,
        status,
        engine.now(),
        settings.zone_for(person.timezone if person else None),
        settings,
    )
    wake: list[datetime] = []
    async with db.transaction() as conn:
        if not await clients.set_status_in(conn, client_id, caseworker_id, status):
            return False
        for hook in _HOOKS:
            due = await hook(conn, change)
            if due is not None:
                wake.append(due)
    if wake:
        engine.poke(min(wake))
    return True
