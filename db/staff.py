"""Staff roles: the ADMIN_IDS bootstrap and caseworker management (shared by the CLI and the bot)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import aiosqlite

from db import audit
from db.clock import now_db
from db.database import Database
from db.users import Role, upsert_role


async def sync_admins(db: Database, admin_ids: Iterable[int]) -> None:
    """ADMIN_IDS is the source of truth for admins: grant it to the listed ids, take it from others."""
    wanted = set(admin_ids)
    async with db.transaction() as conn:
        current = {
            row[0]
            for row in await conn.execute_fetchall(
                "SELECT telegram_id FROM users WHERE role = 'admin'"
            )
        }
        for telegram_id in sorted(wanted - current):
            await upsert_role(conn, telegram_id, Role.ADMIN)
            await audit.record(conn, "admin.granted", actor_id=None, subject_id=telegram_id)
        for telegram_id in sorted(current - wanted):
            await conn.execute(
                "UPDATE users SET role = 'client' WHERE telegram_id = ?", (telegram_id,)
            )
            await audit.record(conn, "admin.revoked", actor_id=None, subject_id=telegram_id)


class StaffError(Exception):
    """A staff change that cannot be made; the message says why."""


async def add_caseworker(
    db: Database, telegram_id: int, name: str, *, actor_id: int | None
) -> None:
    name = " ".join(name.split())
    if not name:
        raise StaffError("a caseworker needs a name")
    if len(name) > 100:
        raise StaffError("the name is longer than 100 characters")
    async with db.transaction() as conn:
        row = await (
            await conn.execute("SELECT role FROM users WHERE telegram_id = ?", (telegram_id,))
        ).fetchone()
        if row is not None and row["role"] == Role.ADMIN:
            raise StaffError(f"{telegram_id} is an administrator (ADMIN_IDS); not changed")
        await upsert_role(conn, telegram_id, Role.CASEWORKER, name)
        await audit.record(conn, "caseworker.added", actor_id=actor_id, subject_id=telegram_id)


async def remove_caseworker(
    db: Database,
    telegram_id: int,
    *,
    actor_id: int | None,
    then: Callable[[aiosqlite.Connection], Awaitable[object]] | None = None,
) -> None:
    """Takes the role away from a caseworker without clients. `then(conn)` runs inside the
    same transaction (bot/cli.py: appointments still ahead with them are cancelled)."""
    async with db.transaction() as conn:
        row = await (
            await conn.execute("SELECT role FROM users WHERE telegram_id = ?", (telegram_id,))
        ).fetchone()
        if row is None or row["role"] != Role.CASEWORKER:
            raise StaffError(f"{telegram_id} is not a caseworker")
        counted = await (
            await conn.execute(
                "SELECT count(*) FROM clients WHERE caseworker_id = ?", (telegram_id,)
            )
        ).fetchone()
        clients = counted[0] if counted else 0
        if clients:
            raise StaffError(
                f"{telegram_id} still has {clients} clients; reassign them first "
                "(python -m bot admin reassign CLIENT_ID CASEWORKER_ID)"
            )
        await conn.execute(
            "UPDATE users SET role = 'client', display_name = NULL WHERE telegram_id = ?",
            (telegram_id,),
        )
        # Their links stop working with their role: nobody can join a former caseworker.
        revoked = await conn.execute(
            "UPDATE invitations SET status = 'revoked', label = NULL, used_at = ? "
            "WHERE caseworker_id = ? AND status = 'pending'",
            (now_db(), telegram_id),
        )
        await audit.record(
            conn,
            "caseworker.removed",
            actor_id=actor_id,
            subject_id=telegram_id,
            invitations_revoked=revoked.rowcount,
        )
        if then is not None:
            await then(conn)
