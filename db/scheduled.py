"""Queries on scheduled_items: the durable queue behind the scheduling engine (scheduler/).

Life of a row: pending --claim--> sending --> sent | dropped | failed, or back to pending
(retry later, postpone, released at shutdown, recovered after a crash).

Writes that a feature makes together with its own changes take a connection inside the
feature's transaction (`schedule_in`, `cancel_in`); the engine's own bookkeeping takes
the Database and keeps each transaction to one short statement.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import aiosqlite

from db.clock import from_db, to_db
from db.database import Database

# Payloads carry ids and small values; anything bigger is a sign that text is being stored.
MAX_PAYLOAD_CHARS = 1000
# Above every character a dedupe key can contain after the prefix (for an indexed range scan).
_PREFIX_END = "\U0010ffff"


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DROPPED = "dropped"
    FAILED = "failed"


FINISHED = (Status.SENT, Status.DROPPED, Status.FAILED)


@dataclass(frozen=True)
class ScheduledItem:
    """One claimed row, as the engine hands it to a handler."""

    id: int
    kind: str
    recipient_id: int
    payload: dict[str, Any]
    intended_at: datetime
    due_at: datetime
    attempts: int
    dedupe_key: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ScheduledItem:
        return cls(
            id=row["id"],
            kind=row["kind"],
            recipient_id=row["recipient_id"],
            payload=json.loads(row["payload"]),
            intended_at=from_db(row["intended_at"]),
            due_at=from_db(row["due_at"]),
            attempts=row["attempts"],
            dedupe_key=row["dedupe_key"],
            created_at=from_db(row["created_at"]),
        )


@dataclass(frozen=True)
class ItemState:
    """Everything about a row, for tests, the CLI and diagnostics."""

    item: ScheduledItem
    status: Status
    claimed_at: datetime | None
    sent_at: datetime | None
    finished_at: datetime | None
    last_error: str | None


_ITEM_COLUMNS = (
    "id, kind, recipient_id, payload, intended_at, due_at, attempts, dedupe_key, created_at"
)

# The dispatcher's question. The literal 'pending' (not a parameter) lets SQLite use the
# partial index scheduled_items_due; EXPLAIN QUERY PLAN shows it (tests/unit/test_scheduled.py).
DUE_IDS_SQL = (
    "SELECT id FROM scheduled_items WHERE status = 'pending' AND due_at <= :now "
    "ORDER BY due_at, id LIMIT :limit"
)
NEXT_DUE_SQL = "SELECT min(due_at) FROM scheduled_items WHERE status = 'pending'"


def encode_payload(payload: dict[str, Any] | None) -> str:
    text = json.dumps(payload or {}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise ValueError(
            f"payload is {len(text)} characters; store ids and render texts at send time"
        )
    return text


# -- scheduling and cancelling (inside a feature's transaction) -------------------------


async def schedule_in(
    conn: aiosqlite.Connection,
    *,
    kind: str,
    recipient_id: int,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    replace: bool = False,
) -> int | None:
    """Store one item; returns its id, or None when `dedupe_key` already exists.

    With `replace=True` an existing row with the key becomes this item again (pending,
    new time and payload, attempts reset) unless it is being sent right now.
    """
    values = {
        "kind": kind,
        "recipient_id": recipient_id,
        "payload": encode_payload(payload),
        "due_at": to_db(due_at),
        "dedupe_key": dedupe_key,
        "now": to_db(now),
    }
    on_conflict = (
        "DO UPDATE SET kind = excluded.kind, recipient_id = excluded.recipient_id, "
        "payload = excluded.payload, intended_at = excluded.intended_at, "
        "due_at = excluded.due_at, status = 'pending', attempts = 0, claimed_at = NULL, "
        "sent_at = NULL, finished_at = NULL, last_error = NULL "
        "WHERE scheduled_items.status <> 'sending'"
        if replace
        else "DO NOTHING"
    )
    cursor = await conn.execute(
        "INSERT INTO scheduled_items "
        "(kind, recipient_id, payload, intended_at, due_at, dedupe_key, created_at) "
        "VALUES (:kind, :recipient_id, :payload, :due_at, :due_at, :dedupe_key, :now) "
        f"ON CONFLICT (dedupe_key) {on_conflict} RETURNING id",
        values,
    )
    row = await cursor.fetchone()
    await cursor.close()
    return None if row is None else int(row[0])


async def cancel_in(
    conn: aiosqlite.Connection,
    *,
    now: datetime,
    dedupe_key: str | None = None,
    key_prefix: str | None = None,
    recipient_id: int | None = None,
    kind: str | None = None,
    reason: str = "cancelled",
) -> int:
    """Drop pending items matching every given filter; returns how many.

    Items already being sent are not touched (they are in Telegram's hands).
    Cancelled rows keep their dedupe key until purged, so re-scheduling the same key
    needs `replace=True`.
    """
    where = ["status = 'pending'"]
    params: dict[str, Any] = {"now": to_db(now), "reason": reason}
    if dedupe_key is not None:
        where.append("dedupe_key = :key")
        params["key"] = dedupe_key
    if key_prefix is not None:
        if not key_prefix:
            raise ValueError("an empty prefix would match every keyed item")
        where.append("dedupe_key >= :lo AND dedupe_key < :hi")
        params["lo"], params["hi"] = key_prefix, key_prefix + _PREFIX_END
    if recipient_id is not None:
        where.append("recipient_id = :recipient")
        params["recipient"] = recipient_id
    if kind is not None:
        where.append("kind = :kind")
        params["kind"] = kind
    if len(where) == 1:
        raise ValueError("say what to cancel: a key, a key prefix, a recipient or a kind")
    cursor = await conn.execute(
        "UPDATE scheduled_items SET status = 'dropped', last_error = :reason, "
        f"finished_at = :now WHERE {' AND '.join(where)}",
        params,
    )
    return cursor.rowcount


async def append_in(conn: aiosqlite.Connection, dedupe_key: str, field: str, value: int) -> bool:
    """Adds `value` to the list `field` of a pending item's payload (items that gather, such as
    a digest); False when no item with the key is pending (it is being sent, or is finished)."""
    cursor = await conn.execute(
        "UPDATE scheduled_items SET payload = json_insert(payload, ?, ?) "
        "WHERE dedupe_key = ? AND status = 'pending'",
        (f"$.{field}[#]", value, dedupe_key),
    )
    return cursor.rowcount > 0


# The payload key listing the parts of a multi-part item already sent (scheduler/context.py).
SENT_PARTS = "_sent_parts"


async def note_sent_part(db: Database, item: ScheduledItem, part: str) -> None:
    """Records in the item's payload that one of its parts went out, so that a retry (after a
    5xx, a network error or a restart) does not send that part again. Only an item in flight."""
    sent = [str(p) for p in item.payload.get(SENT_PARTS, [])]
    if part not in sent:
        item.payload[SENT_PARTS] = [*sent, part]
    await db.execute(
        "UPDATE scheduled_items SET payload = ? WHERE id = ? AND status = 'sending'",
        (encode_payload(item.payload), item.id),
    )


async def schedule(db: Database, **kwargs: Any) -> int | None:
    """`schedule_in` in a transaction of its own."""
    async with db.transaction() as conn:
        return await schedule_in(conn, **kwargs)


async def cancel(db: Database, **kwargs: Any) -> int:
    """`cancel_in` in a transaction of its own."""
    async with db.transaction() as conn:
        return await cancel_in(conn, **kwargs)


# -- the engine's bookkeeping ------------------------------------------------------------


async def claim_due(db: Database, now: datetime, limit: int) -> list[ScheduledItem]:
    """Mark up to `limit` due pending rows 'sending' (one short transaction) and return them."""
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "UPDATE scheduled_items SET status = 'sending', claimed_at = :now, "
            f"attempts = attempts + 1 WHERE id IN ({DUE_IDS_SQL}) RETURNING {_ITEM_COLUMNS}",
            {"now": to_db(now), "limit": limit},
        )
    items = [ScheduledItem.from_row(row) for row in rows]
    items.sort(key=lambda item: (item.due_at, item.id))  # RETURNING has no defined order
    return items


async def claim_key(db: Database, dedupe_key: str, now: datetime) -> ScheduledItem | None:
    """Claim the pending row with this key at once, due or not (a feature delivering now)."""
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "UPDATE scheduled_items SET status = 'sending', claimed_at = :now, "
            "attempts = attempts + 1 WHERE dedupe_key = :key AND status = 'pending' "
            f"RETURNING {_ITEM_COLUMNS}",
            {"now": to_db(now), "key": dedupe_key},
        )
    return ScheduledItem.from_row(next(iter(rows))) if rows else None


async def _finish(
    db: Database,
    item_id: int,
    status: Status,
    now: datetime,
    reason: str | None,
    *,
    scrub: bool = False,
) -> bool:
    sent_at = to_db(now) if status is Status.SENT else None
    # A kind whose payload names people keeps it only while the row may still be sent.
    payload = "CASE WHEN ? THEN '{}' ELSE payload END"
    changed = await db.execute(
        f"UPDATE scheduled_items SET status = ?, finished_at = ?, sent_at = ?, payload = {payload}, "
        "last_error = coalesce(?, last_error) WHERE id = ? AND status = 'sending'",
        (status.value, to_db(now), sent_at, int(scrub), reason, item_id),
    )
    return changed == 1


async def mark_sent(db: Database, item_id: int, now: datetime, *, scrub: bool = False) -> bool:
    """Telegram accepted it. False if the row was not in flight (nothing changed)."""
    return await _finish(db, item_id, Status.SENT, now, None, scrub=scrub)


async def mark_dropped(
    db: Database, item_id: int, reason: str, now: datetime, *, scrub: bool = False
) -> bool:
    """The handler decided it no longer makes sense (too late, schedule changed...)."""
    return await _finish(db, item_id, Status.DROPPED, now, reason, scrub=scrub)


async def mark_failed(
    db: Database, item_id: int, reason: str, now: datetime, *, scrub: bool = False
) -> bool:
    """It can never be delivered (blocked, bad request, no handler)."""
    return await _finish(db, item_id, Status.FAILED, now, reason, scrub=scrub)


async def retry_at(db: Database, item_id: int, due_at: datetime, reason: str) -> bool:
    """Back to pending for another try at `due_at`; lateness still counts from intended_at."""
    changed = await db.execute(
        "UPDATE scheduled_items SET status = 'pending', due_at = ?, last_error = ?, "
        "claimed_at = NULL WHERE id = ? AND status = 'sending'",
        (to_db(due_at), reason, item_id),
    )
    return changed == 1


async def postpone(db: Database, item_id: int, until: datetime, reason: str) -> bool:
    """Back to pending, deliberately moved (quiet hours): `until` is the new intended time."""
    changed = await db.execute(
        "UPDATE scheduled_items SET status = 'pending', due_at = ?, intended_at = ?, "
        "last_error = ?, claimed_at = NULL, attempts = attempts - 1 "
        "WHERE id = ? AND status = 'sending'",
        (to_db(until), to_db(until), reason, item_id),
    )
    return changed == 1


async def release(db: Database, item_id: int) -> bool:
    """Back to pending untouched: claimed but never sent (the engine is stopping)."""
    changed = await db.execute(
        "UPDATE scheduled_items SET status = 'pending', claimed_at = NULL, "
        "attempts = attempts - 1 WHERE id = ? AND status = 'sending'",
        (item_id,),
    )
    return changed == 1


async def recover_in_flight(db: Database, claimed_before: datetime | None = None) -> int:
    """Rows left 'sending' by a process that died go back to pending; returns how many.

    Their attempt counts stay: a row that keeps coming back shows it in `attempts`.
    """
    sql = (
        "UPDATE scheduled_items SET status = 'pending', claimed_at = NULL, "
        "last_error = 'recovered' WHERE status = 'sending'"
    )
    params: tuple[str, ...] = ()
    if claimed_before is not None:
        sql += " AND claimed_at < ?"
        params = (to_db(claimed_before),)
    return await db.execute(sql, params)


async def recover_stale(db: Database, claimed_before: datetime, keep: set[int]) -> int:
    """While running: rows left 'sending' by a failed bookkeeping write (database locked,
    disk full) that this process no longer works on go back to pending."""
    rows = await db.fetchall(
        "SELECT id FROM scheduled_items WHERE status = 'sending' AND claimed_at < ?",
        (to_db(claimed_before),),
    )
    stale = [int(row[0]) for row in rows if int(row[0]) not in keep]
    if not stale:
        return 0
    marks = ", ".join("?" * len(stale))
    return await db.execute(
        "UPDATE scheduled_items SET status = 'pending', claimed_at = NULL, "
        f"last_error = 'recovered' WHERE status = 'sending' AND id IN ({marks})",
        stale,
    )


async def purge_finished(db: Database, before: datetime, batch: int = 5000) -> int:
    """Delete finished rows older than `before`, a batch per transaction; returns how many."""
    total = 0
    while True:
        removed = await db.execute(
            "DELETE FROM scheduled_items WHERE id IN (SELECT id FROM scheduled_items "
            "WHERE status IN ('sent', 'dropped', 'failed') AND finished_at < ? LIMIT ?)",
            (to_db(before), batch),
        )
        total += removed
        if removed < batch:
            return total


# -- reading -----------------------------------------------------------------------------


async def next_due(db: Database) -> datetime | None:
    value = await db.fetchval(NEXT_DUE_SQL)
    return None if value is None else from_db(value)


async def counts(db: Database) -> dict[Status, int]:
    """Rows per status (every status present, zero included)."""
    rows = await db.fetchall("SELECT status, count(*) FROM scheduled_items GROUP BY status")
    found = {Status(row[0]): int(row[1]) for row in rows}
    return {status: found.get(status, 0) for status in Status}


async def get(db: Database, item_id: int) -> ItemState | None:
    return await _state("id = ?", item_id, db)


async def get_by_key(db: Database, dedupe_key: str) -> ItemState | None:
    return await _state("dedupe_key = ?", dedupe_key, db)


async def _state(where: str, value: object, db: Database) -> ItemState | None:
    row = await db.fetchone(
        f"SELECT {_ITEM_COLUMNS}, status, claimed_at, sent_at, finished_at, last_error "
        f"FROM scheduled_items WHERE {where}",
        (value,),
    )
    if row is None:
        return None

    def moment(key: str) -> datetime | None:
        return None if row[key] is None else from_db(row[key])

    return ItemState(
        item=ScheduledItem.from_row(row),
        status=Status(row["status"]),
        claimed_at=moment("claimed_at"),
        sent_at=moment("sent_at"),
        finished_at=moment("finished_at"),
        last_error=row["last_error"],
    )


async def explain_due(db: Database, now: datetime, limit: int = 100) -> list[str]:
    """EXPLAIN QUERY PLAN of the dispatcher's query, one line per step."""
    rows = await db.fetchall(
        f"EXPLAIN QUERY PLAN {DUE_IDS_SQL}", {"now": to_db(now), "limit": limit}
    )
    return [str(row["detail"]) for row in rows]
