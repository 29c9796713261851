"""Messages between a client and their caseworker: stored before delivery, for the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from db.clock import from_db, to_db, utcnow
from db.database import Database

MAX_BODY = 4096  # Telegram's own limit; anything longer cannot have come from a message


@dataclass(frozen=True)
class StoredMessage:
    id: int
    direction: str
    kind: str
    body: str | None
    created_at: datetime
    delivery: str


async def record(
    db: Database,
    *,
    client_id: int,
    caseworker_id: int,
    direction: str,
    kind: str,
    body: str | None,
) -> int:
    """Stored first, so a failed delivery is never a lost message."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO messages (client_id, caseworker_id, direction, kind, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                client_id,
                caseworker_id,
                direction,
                kind,
                (body or None) and body[:MAX_BODY],
                to_db(utcnow()),
            ),
        )
        await conn.execute(
            "UPDATE clients SET last_contact_at = ? WHERE telegram_id = ?",
            (to_db(utcnow()), client_id),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


@dataclass(frozen=True)
class Relayed:
    """A stored message as its delivery sees it: who it is between and where the original is."""

    id: int
    client_id: int
    caseworker_id: int
    direction: str  # in: from the client
    kind: str
    body: str | None
    created_at: datetime
    delivery: str  # pending | delivered | failed
    source_chat_id: int | None
    source_message_id: int | None
    sender_told: str | None

    @property
    def sender_id(self) -> int:
        return self.client_id if self.direction == "in" else self.caseworker_id


async def record_in(
    conn: aiosqlite.Connection,
    *,
    client_id: int,
    caseworker_id: int,
    direction: str,
    kind: str,
    body: str | None,
    source_chat_id: int,
    source_message_id: int,
) -> tuple[int, bool]:
    """Stores a message to relay inside the caller's transaction; returns (id, newly stored).

    The same Telegram message stored twice (a replayed update) gives back its first row.
    """
    now = to_db(utcnow())
    cursor = await conn.execute(
        "INSERT INTO messages (client_id, caseworker_id, direction, kind, body, created_at, "
        "source_chat_id, source_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (source_chat_id, source_message_id) DO NOTHING RETURNING id",
        (
            client_id,
            caseworker_id,
            direction,
            kind,
            (body or None) and body[:MAX_BODY],
            now,
            source_chat_id,
            source_message_id,
        ),
    )
    row = await cursor.fetchone()
    await cursor.close()
    if row is not None:
        await conn.execute(
            "UPDATE clients SET last_contact_at = ? WHERE telegram_id = ?", (now, client_id)
        )
        return int(row[0]), True
    existing = await (
        await conn.execute(
            "SELECT id FROM messages WHERE source_chat_id = ? AND source_message_id = ?",
            (source_chat_id, source_message_id),
        )
    ).fetchone()
    assert existing is not None
    return int(existing[0]), False


async def get_relayed(db: Database, message_id: int) -> Relayed | None:
    row = await db.fetchone(
        "SELECT id, client_id, caseworker_id, direction, kind, body, created_at, delivery, "
        "source_chat_id, source_message_id, sender_told FROM messages WHERE id = ?",
        (message_id,),
    )
    if row is None:
        return None
    return Relayed(
        id=row["id"],
        client_id=row["client_id"],
        caseworker_id=row["caseworker_id"],
        direction=row["direction"],
        kind=row["kind"],
        body=row["body"],
        created_at=from_db(row["created_at"]),
        delivery=row["delivery"],
        source_chat_id=row["source_chat_id"],
        source_message_id=row["source_message_id"],
        sender_told=row["sender_told"],
    )


async def find_by_source(db: Database, chat_id: int, message_id: int) -> int | None:
    value = await db.fetchval(
        "SELECT id FROM messages WHERE source_chat_id = ? AND source_message_id = ?",
        (chat_id, message_id),
    )
    return None if value is None else int(value)


async def tell_sender_trying(db: Database, message_id: int) -> bool:
    """Records that the sender was told "still trying"; False when the delivery finished first."""
    return (
        await db.execute(
            "UPDATE messages SET sender_told = 'trying' WHERE id = ? AND delivery = 'pending'",
            (message_id,),
        )
        == 1
    )


async def mark_delivery(db: Database, message_id: int, delivered: bool) -> None:
    await db.execute(
        "UPDATE messages SET delivery = ?, delivered_at = ? WHERE id = ?",
        (
            "delivered" if delivered else "failed",
            to_db(utcnow()) if delivered else None,
            message_id,
        ),
    )


async def mark_read(db: Database, client_id: int, caseworker_id: int) -> int:
    return await db.execute(
        "UPDATE messages SET read_at = ? WHERE client_id = ? AND caseworker_id = ? "
        "AND direction = 'in' AND read_at IS NULL",
        (to_db(utcnow()), client_id, caseworker_id),
    )


async def history(
    db: Database, client_id: int, caseworker_id: int, limit: int = 15
) -> list[StoredMessage]:
    """The messages this client exchanged with this caseworker (an admin's reassignment moves
    them all to the new caseworker; a later re-invitation by someone else does not)."""
    rows = await db.fetchall(
        "SELECT id, direction, kind, body, created_at, delivery FROM messages "
        "WHERE client_id = ? AND caseworker_id = ? ORDER BY id DESC LIMIT ?",
        (client_id, caseworker_id, limit),
    )
    return [
        StoredMessage(
            r["id"], r["direction"], r["kind"], r["body"], from_db(r["created_at"]), r["delivery"]
        )
        for r in reversed(rows)
    ]
