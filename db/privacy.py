"""Everything stored about one person: exported on request (right of access), deleted for real.

Each feature that stores personal data adds its table here, so export and deletion
can never forget it. Deletion order is children first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from db import audit
from db.clock import now_db
from db.database import Database


@dataclass(frozen=True)
class PersonalTable:
    name: str
    select: str  # named parameter :id
    erase: tuple[str, ...]  # statements that remove (or anonymise) the rows


FSM_KEY = "storage_key LIKE '%:' || :id || ':%'"

PERSONAL_TABLES: tuple[PersonalTable, ...] = (
    PersonalTable(
        "directory_reports",
        "SELECT entry_id, reason, comment, created_at, resolved_at FROM dir_report "
        "WHERE reporter_id = :id ORDER BY id",
        # The directory keeps what was wrong with an entry (a reason code), not who said it.
        ("UPDATE dir_report SET reporter_id = 0, comment = '' WHERE reporter_id = :id",),
    ),
    PersonalTable(
        "checkins",
        "SELECT planned_at, opens_at, closes_at, status, answered_at, latitude, longitude "
        "FROM checkins WHERE client_id = :id ORDER BY id",
        ("DELETE FROM checkins WHERE client_id = :id",),
    ),
    PersonalTable(
        "checkin_schedule",
        "SELECT pattern, at_time, weekdays, every_n, window_hours, request_location, paused "
        "FROM checkin_schedules WHERE client_id = :id",
        ("DELETE FROM checkin_schedules WHERE client_id = :id",),
    ),
    PersonalTable(
        "scheduled_messages",
        "SELECT kind, due_at, status FROM scheduled_items WHERE recipient_id = :id ORDER BY id",
        ("DELETE FROM scheduled_items WHERE recipient_id = :id",),
    ),
    PersonalTable(
        "messages",
        "SELECT id, direction, kind, body, created_at, delivery, read_at FROM messages "
        "WHERE client_id = :id ORDER BY id",
        ("DELETE FROM messages WHERE client_id = :id",),
    ),
    PersonalTable(
        "clients",
        "SELECT caseworker_id, label, telegram_name, status, consented_at, linked_at, "
        "last_contact_at, unreachable_since FROM clients WHERE telegram_id = :id",
        ("DELETE FROM clients WHERE telegram_id = :id",),
    ),
    PersonalTable(
        "conversation_state",
        f"SELECT state, data, updated_at FROM fsm_state WHERE {FSM_KEY}",
        (f"DELETE FROM fsm_state WHERE {FSM_KEY}",),
    ),
    PersonalTable(
        "audit_log",
        "SELECT at, action, actor_id, subject_id FROM audit_log "
        "WHERE subject_id = :id OR actor_id = :id ORDER BY id",
        (
            # The trail of actions stays; who they were about does not.
            "UPDATE audit_log SET subject_id = NULL WHERE subject_id = :id",
            "UPDATE audit_log SET actor_id = NULL WHERE actor_id = :id",
        ),
    ),
    PersonalTable(
        "users",
        "SELECT telegram_id, role, language, timezone, display_name, created_at, updated_at "
        "FROM users WHERE telegram_id = :id",
        ("DELETE FROM users WHERE telegram_id = :id",),
    ),
)


async def export(db: Database, telegram_id: int) -> dict[str, Any]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in PERSONAL_TABLES:
        rows = await db.fetchall(table.select, {"id": telegram_id})
        tables[table.name] = [dict(row) for row in rows]
    return {"telegram_id": telegram_id, "exported_at": now_db(), "data": tables}


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)


async def erase(db: Database, telegram_id: int, *, caseworker_id: int | None) -> None:
    """Deletes the person's data in one transaction; the audit keeps a row without them."""
    async with db.transaction() as conn:
        for table in PERSONAL_TABLES:
            for statement in table.erase:
                await conn.execute(statement, {"id": telegram_id})
        await audit.record(conn, "person.deleted", actor_id=None, caseworker_id=caseworker_id)
