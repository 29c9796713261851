"""Incoming updates, stored before Telegram is told they arrived (bot/polling.py).

Life of a row: stored (with the batch, before the next getUpdates confirms it) → handled →
deleted. A row still here at start was being handled when the process died: it is
handled again (`replay`), at most `MAX_ATTEMPTS` times in all. `inbox_offset` remembers the
highest update id stored, so polling resumes after it and an update already handled and
deleted is never fetched again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.clock import now_db
from db.database import Database

# Handling an update that keeps killing the process is given up after this many starts.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    payload: str  # the update as JSON
    attempts: int  # handling started this many times, this one included


async def store(db: Database, updates: Sequence[tuple[int, str]]) -> None:
    """Stores a fetched batch and advances the offset, in one transaction."""
    if not updates:
        return
    received = now_db()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO inbox (update_id, payload, received_at, attempts) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (update_id) DO NOTHING",
            [(update_id, payload, received) for update_id, payload in updates],
        )
        await conn.execute(
            "INSERT INTO inbox_offset (id, last_update_id) VALUES (1, ?) ON CONFLICT (id) "
            "DO UPDATE SET last_update_id = max(last_update_id, excluded.last_update_id)",
            (max(update_id for update_id, _ in updates),),
        )


async def done(db: Database, update_id: int) -> None:
    await db.execute("DELETE FROM inbox WHERE update_id = ?", (update_id,))


async def next_offset(db: Database) -> int | None:
    """The getUpdates offset to resume from (None before the first update ever)."""
    last = await db.fetchval("SELECT last_update_id FROM inbox_offset WHERE id = 1")
    return None if last is None else int(last) + 1


async def replay(db: Database) -> tuple[list[StoredUpdate], list[int]]:
    """Updates a previous process did not finish: (to handle again, given up).

    Counts this start as one more attempt for each; those past MAX_ATTEMPTS are deleted.
    """
    async with db.transaction() as conn:
        await conn.execute("UPDATE inbox SET attempts = attempts + 1")
        given_up = [
            int(row[0])
            for row in await conn.execute_fetchall(
                "DELETE FROM inbox WHERE attempts > ? RETURNING update_id", (MAX_ATTEMPTS,)
            )
        ]
        rows = await conn.execute_fetchall(
            "SELECT update_id, payload, attempts FROM inbox ORDER BY update_id"
        )
    return [StoredUpdate(int(r[0]), str(r[1]), int(r[2])) for r in rows], sorted(given_up)


async def pending_count(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM inbox") or 0)
