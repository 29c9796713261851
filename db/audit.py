"""The audit log of staff actions. Details hold ids and codes, never texts, names or phones."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from db.clock import now_db
from db.database import Database


async def record(
    conn: aiosqlite.Connection,
    action: str,
    *,
    actor_id: int | None,
    subject_id: int | None = None,
    **details: Any,
) -> None:
    """Write one row inside the caller's transaction, so the action and its trace commit together."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor_id, action, subject_id, details) VALUES (?, ?, ?, ?, ?)",
        (
            now_db(),
            actor_id,
            action,
            subject_id,
            json.dumps(details, ensure_ascii=False, sort_keys=True),
        ),
    )


async def recent(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT at, actor_id, action, subject_id, details FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [dict(r) | {"details": json.loads(r["details"])} for r in rows]
