"""Messages between a client and their caseworker: stored before delivery, for the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
