"""Incoming updates, stored before Telegram is told they arrived (bot/polling.py).

Life of a row: stored (with the batch, before the next getUpdates confirms it) → handled →
deleted (handled rows are deleted a few at a time, `done`). A row still here at start was
being handled, or was handled but not yet deleted, when the process died: it is handled again
(`replay`), at most `MAX_ATTEMPTS` times in all. `inbox_offset` remembers an update id at
least as high as every row ever deleted (`done` and `replay` advance it before they delete),
so polling resumes after it and an update already handled and deleted is never fetched again.
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
    """Stores a fetched batch (all of it or, on an error, possibly part: fetch it again).

    The usual batch of one is written at once on the loop's thread (`Database.write_now`),
    a larger one in one transaction. The offset is not written here: every row
    stored is at or above the offset polling resumes from (`replay` raises the offset to
    the rows a dead process left), and `done` advances it before deleting.
    """
    if not updates:
        return
    received = now_db()
    rows = [(update_id, payload, received) for update_id, payload in updates]
    sql = (
        "INSERT INTO inbox (update_id, payload, received_at, attempts) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (update_id) DO NOTHING"
    )
    if len(rows) == 1:
        await db.write_now(sql, rows[0])  # on the loop's thread: no hop for the usual batch
    else:
        async with db.transaction() as conn:
            await conn.executemany(sql, rows)


_ADVANCE_OFFSET = (
    "INSERT INTO inbox_offset (id, last_update_id) VALUES (1, ?) ON CONFLICT (id) "
    "DO UPDATE SET last_update_id = max(last_update_id, excluded.last_update_id)"
)
_DONE_CHUNK = 500  # ids in one DELETE (SQLite allows 32,766 parameters)


async def done(db: Database, update_ids: Sequence[int]) -> None:
    """Deletes handled updates' rows, after advancing the offset past them.

    Two statements, each atomic by itself, in this order: a crash between them leaves
    rows that are handled again at the next start, never a deleted row that the offset
    does not cover (which Telegram could hand over again). The offset's one-row upsert is
    written on the loop's thread; the deletes go through the writer, whose commits
    checkpoint the WAL that the stored updates filled (`Database.write_now`).
    """
    if not update_ids:
        return
    await db.write_now(_ADVANCE_OFFSET, (max(update_ids),))
    for start in range(0, len(update_ids), _DONE_CHUNK):
        chunk = update_ids[start : start + _DONE_CHUNK]
        marks = ", ".join("?" * len(chunk))
        await db.execute(f"DELETE FROM inbox WHERE update_id IN ({marks})", tuple(chunk))


async def next_offset(db: Database) -> int | None:
    """The getUpdates offset to resume from (None before the first update ever)."""
    last = await db.fetchval("SELECT last_update_id FROM inbox_offset WHERE id = 1")
    return None if last is None else int(last) + 1


async def replay(db: Database) -> tuple[list[StoredUpdate], list[int]]:
    """Updates a previous process did not finish: (to handle again, given up).

    Counts this start as one more attempt for each; those past MAX_ATTEMPTS are deleted.
    """
    async with db.transaction() as conn:
        # Polling resumes after every row left here, handled again or given up.
        [[highest]] = await conn.execute_fetchall("SELECT max(update_id) FROM inbox")
        if highest is not None:
            await conn.execute(_ADVANCE_OFFSET, (int(highest),))
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
