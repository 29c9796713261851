"""Queries on the users table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

import aiosqlite

from db.clock import now_db
from db.database import Database


class Role(StrEnum):
    ADMIN = "admin"
    CASEWORKER = "caseworker"
    CLIENT = "client"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CLIENT


@dataclass(frozen=True)
class User:
    telegram_id: int
    role: Role
    language: str | None
    timezone: str | None
    display_name: str | None
    menu_synced: str | None
    # Set when this person is an active client: their caseworker, and whether Telegram
    # last refused a delivery to them.
    caseworker_id: int | None = None
    # Telegram last refused a delivery to them (a client, or staff who blocked the bot).
    unreachable: bool = False

    @property
    def is_linked_client(self) -> bool:
        return self.role is Role.CLIENT and self.caseworker_id is not None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> User:
        return cls(
            telegram_id=row["telegram_id"],
            role=Role(row["role"]),
            language=row["language"],
            timezone=row["timezone"],
            display_name=row["display_name"],
            menu_synced=row["menu_synced"],
            caseworker_id=row["caseworker_id"],
            unreachable=row["unreachable_since"] is not None
            or row["staff_unreachable_since"] is not None,
        )


_SELECT = (
    "SELECT u.telegram_id, u.role, u.language, u.timezone, u.display_name, u.menu_synced, "
    "c.caseworker_id, c.unreachable_since, u.unreachable_since AS staff_unreachable_since "
    "FROM users u "
    "LEFT JOIN clients c ON c.telegram_id = u.telegram_id AND c.status = 'active' "
)


async def get(db: Database, telegram_id: int) -> User | None:
    row = await db.lookup(_SELECT + "WHERE u.telegram_id = ?", (telegram_id,))
    return None if row is None else User.from_row(row)


async def get_or_create(db: Database, telegram_id: int) -> User:
    """The common path is one read; only a first contact writes."""
    user = await get(db, telegram_id)
    if user is not None:
        return user
    now = now_db()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO users (telegram_id, created_at, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (telegram_id) DO NOTHING",
            (telegram_id, now, now),
        )
    user = await get(db, telegram_id)
    assert user is not None
    return user


async def set_language(db: Database, telegram_id: int, language: str) -> None:
    await db.execute(
        "UPDATE users SET language = ?, updated_at = ? WHERE telegram_id = ?",
        (language, now_db(), telegram_id),
    )


async def set_menu_synced(db: Database, telegram_id: int, marker: str) -> None:
    await db.execute(
        "UPDATE users SET menu_synced = ? WHERE telegram_id = ?", (marker, telegram_id)
    )


async def upsert_role(
    conn: aiosqlite.Connection, telegram_id: int, role: Role, display_name: str | None = None
) -> None:
    """Inside a caller's transaction: create the person if needed and set the role."""
    now = now_db()
    await conn.execute(
        "INSERT INTO users (telegram_id, role, display_name, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (telegram_id) DO UPDATE SET role = excluded.role, "
        "display_name = COALESCE(excluded.display_name, users.display_name), "
        "updated_at = excluded.updated_at",
        (telegram_id, role.value, display_name, now, now),
    )


async def admins(db: Database) -> list[User]:
    rows = await db.fetchall(_SELECT + "WHERE u.role = 'admin' ORDER BY u.telegram_id")
    return [User.from_row(r) for r in rows]


async def mark_staff_unreachable_in(conn: aiosqlite.Connection, telegram_id: int) -> bool:
    """Staff Telegram refused to deliver to; True when this is news."""
    cursor = await conn.execute(
        "UPDATE users SET unreachable_since = ? WHERE telegram_id = ? AND role <> 'client' "
        "AND unreachable_since IS NULL",
        (now_db(), telegram_id),
    )
    return cursor.rowcount > 0


async def mark_reachable(db: Database, telegram_id: int) -> None:
    """They wrote to the bot, so Telegram delivers to them again (client or staff)."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE users SET unreachable_since = NULL WHERE telegram_id = ?", (telegram_id,)
        )
        await conn.execute(
            "UPDATE clients SET unreachable_since = NULL WHERE telegram_id = ?", (telegram_id,)
        )


async def staff(db: Database) -> list[User]:
    rows = await db.fetchall(_SELECT + "WHERE u.role <> 'client' ORDER BY u.role, u.telegram_id")
    return [User.from_row(r) for r in rows]
