"""Everything stored about one person: exported on request (right of access), deleted for real.

Each feature that stores personal data adds its table here, so export and deletion
can never forget it; a table holding nothing about people goes in NOT_PERSONAL
(tests/unit/test_privacy_tables.py fails on a table in neither). Export reads every
column (`SELECT *`) but HIDDEN ones, so a new column is exported without anyone
remembering to. Deletion runs children first, then checkpoints the WAL so the deleted
values are gone from the files too (with `secure_delete`, set on every connection).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from db import audit
from db.clock import now_db
from db.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonalTable:
    name: str  # the key in the export
    table: str
    where: str  # the person's rows; named parameter :id
    erase: tuple[str, ...]  # statements that remove (or anonymise) the rows
    hidden: tuple[str, ...] = ()  # columns never exported (secrets)


FSM_KEY = "storage_key LIKE '%:' || :id || ':%'"
# Audit details name staff by id under these keys (never texts or names).
AUDIT_DETAIL_KEYS = ("caseworker_id", "from_caseworker", "to_caseworker", "client")
_AUDIT_DETAILS = " OR ".join(f"json_extract(details, '$.{key}') = :id" for key in AUDIT_DETAIL_KEYS)
# Convention for timed items: a payload that refers to a client names them under "client"
# (a member of staff under "staff").
_ITEM_ABOUT = (
    "recipient_id = :id OR json_extract(payload, '$.client') = :id "
    "OR json_extract(payload, '$.staff') = :id"
)
# Who sent an update waiting in the inbox (bot/polling.py): rows live only while handled.
_UPDATE_FROM = (
    "coalesce(json_extract(payload, '$.message.from.id'), "
    "json_extract(payload, '$.callback_query.from.id'), "
    "json_extract(payload, '$.edited_message.from.id'), "
    "json_extract(payload, '$.my_chat_member.from.id')) = :id"
)

PERSONAL_TABLES: tuple[PersonalTable, ...] = (
    PersonalTable(
        # Which broadcasts reached the person, and how (ids and statuses only).
        "broadcasts_received",
        "broadcast_recipients",
        "client_id = :id",
        ("DELETE FROM broadcast_recipients WHERE client_id = :id",),
    ),
    PersonalTable(
        # Staff side: where their broadcast's versions are (their own chat): without them
        # a broadcast not yet delivered skips its remaining recipients.
        "broadcast_versions",
        "broadcast_versions",
        "chat_id = :id",
        ("DELETE FROM broadcast_versions WHERE chat_id = :id",),
    ),
    PersonalTable(
        # Staff side: the broadcasts they sent keep their figures, without the sender.
        "broadcasts_sent",
        "broadcasts",
        "sender_id = :id OR progress_chat_id = :id",
        (
            "UPDATE broadcasts SET sender_id = 0, progress_chat_id = NULL, "
            "progress_message_id = NULL WHERE sender_id = :id OR progress_chat_id = :id",
        ),
    ),
    PersonalTable(
        "directory_reports",
        "dir_report",
        "reporter_id = :id",
        # The directory keeps what was wrong with an entry (a reason code), not who said it.
        ("UPDATE dir_report SET reporter_id = 0, comment = '' WHERE reporter_id = :id",),
    ),
    PersonalTable(
        "checkins",
        "checkins",
        "client_id = :id",
        ("DELETE FROM checkins WHERE client_id = :id",),
    ),
    PersonalTable(
        "appointments",
        "appointments",
        "client_id = :id",
        ("DELETE FROM appointments WHERE client_id = :id",),
    ),
    PersonalTable(
        # Staff side: their clients' appointments stay the clients' record, without the
        # caseworker's id; upcoming ones are cancelled (nobody would receive the client).
        "appointments_as_caseworker",
        "appointments",
        "caseworker_id = :id",
        (
            "UPDATE appointments SET caseworker_id = 0, status = CASE status "
            "WHEN 'booked' THEN 'cancelled' ELSE status END, cancelled_by = CASE status "
            "WHEN 'booked' THEN 'system' ELSE cancelled_by END WHERE caseworker_id = :id",
        ),
    ),
    PersonalTable(
        "reception_hours",
        "reception_hours",
        "caseworker_id = :id",
        ("DELETE FROM reception_hours WHERE caseworker_id = :id",),
    ),
    PersonalTable(
        "reception_extra_slots",
        "reception_extra_slots",
        "caseworker_id = :id",
        ("DELETE FROM reception_extra_slots WHERE caseworker_id = :id",),
    ),
    PersonalTable(
        "reception_days_off",
        "reception_days_off",
        "caseworker_id = :id",
        ("DELETE FROM reception_days_off WHERE caseworker_id = :id",),
    ),
    PersonalTable(
        "checkin_schedule",
        "checkin_schedules",
        "client_id = :id",
        ("DELETE FROM checkin_schedules WHERE client_id = :id",),
    ),
    PersonalTable(
        # Sent to the person, or about them (a help alert to their caseworker).
        "scheduled_messages",
        "scheduled_items",
        _ITEM_ABOUT,
        (f"DELETE FROM scheduled_items WHERE {_ITEM_ABOUT}",),
    ),
    PersonalTable(
        "messages",
        "messages",
        "client_id = :id",
        ("DELETE FROM messages WHERE client_id = :id",),
    ),
    PersonalTable(
        # Staff side: what they wrote to clients. The clients keep their history, without
        # the caseworker's id (0); what clients wrote is the clients' data, not exported here.
        "messages_sent_as_caseworker",
        "messages",
        "caseworker_id = :id AND direction = 'out'",
        ("UPDATE messages SET caseworker_id = 0 WHERE caseworker_id = :id",),
    ),
    PersonalTable(
        # Staff side: the invitations they created keep only their outcome.
        "invitations_created",
        "invitations",
        "caseworker_id = :id",
        (
            "UPDATE invitations SET caseworker_id = NULL, label = NULL, status = CASE status "
            "WHEN 'pending' THEN 'revoked' ELSE status END WHERE caseworker_id = :id",
        ),
        hidden=("token_hash",),
    ),
    PersonalTable(
        "working_hours",
        "working_hours",
        "caseworker_id = :id",
        ("DELETE FROM working_hours WHERE caseworker_id = :id",),
    ),
    PersonalTable(
        "clients",
        "clients",
        "telegram_id = :id",
        ("DELETE FROM clients WHERE telegram_id = :id",),
    ),
    PersonalTable(
        # Their updates not yet handled (seconds, normally): texts included.
        "pending_updates",
        "inbox",
        _UPDATE_FROM,
        (f"DELETE FROM inbox WHERE {_UPDATE_FROM}",),
    ),
    PersonalTable(
        "conversation_state",
        "fsm_state",
        FSM_KEY,
        (f"DELETE FROM fsm_state WHERE {FSM_KEY}",),
    ),
    PersonalTable(
        "audit_log",
        "audit_log",
        f"subject_id = :id OR actor_id = :id OR {_AUDIT_DETAILS}",
        (
            # The trail of actions stays; who they were about does not.
            "UPDATE audit_log SET subject_id = NULL WHERE subject_id = :id",
            "UPDATE audit_log SET actor_id = NULL WHERE actor_id = :id",
            *(
                f"UPDATE audit_log SET details = json_set(details, '$.{key}', json('null')) "
                f"WHERE json_extract(details, '$.{key}') = :id"
                for key in AUDIT_DETAIL_KEYS
            ),
        ),
    ),
    PersonalTable(
        "users",
        "users",
        "telegram_id = :id",
        ("DELETE FROM users WHERE telegram_id = :id",),
    ),
)

# Tables that hold nothing about a person (the directory is public data; dir_report is
# personal and listed above). Prefixes cover FTS5's own tables.
NOT_PERSONAL = frozenset(
    {
        "schema_migrations",
        "dir_category",
        "dir_organization",
        "dir_place",
        "dir_entry",
        "dir_entry_category",
        "dir_phone",
        "dir_schedule",
        "dir_meta",
        "inbox_offset",  # one number: the last update id fetched
        "dir_usage",  # directory searches and card views per day: counts only
    }
)
NOT_PERSONAL_PREFIXES = ("sqlite_", "dir_fts")


async def export(db: Database, telegram_id: int) -> dict[str, Any]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in PERSONAL_TABLES:
        rows = await db.fetchall(
            f"SELECT * FROM {table.table} WHERE {table.where} ORDER BY rowid",
            {"id": telegram_id},
        )
        tables[table.name] = [
            {k: v for k, v in dict(row).items() if k not in table.hidden} for row in rows
        ]
    return {"telegram_id": telegram_id, "exported_at": now_db(), "data": tables}


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)


async def erase(
    db: Database,
    telegram_id: int,
    *,
    caseworker_id: int | None,
    then: Callable[[aiosqlite.Connection], Awaitable[object]] | None = None,
) -> None:
    """Deletes the person's data in one transaction; the audit keeps a row without them.

    `then(conn)` runs at the end of that transaction (the notice to their caseworker)."""
    async with db.transaction() as conn:
        for table in PERSONAL_TABLES:
            for statement in table.erase:
                await conn.execute(statement, {"id": telegram_id})
        await audit.record(conn, "person.deleted", actor_id=None, caseworker_id=caseworker_id)
        if then is not None:
            await then(conn)
    await checkpoint(db)


async def checkpoint(db: Database) -> bool:
    """Copy the WAL into the database file and truncate it, so deleted values leave both files.

    Runs on the reader connection (never inside a transaction); it waits for a running write
    up to the busy timeout. False when other connections kept it from finishing (the next
    erase or the periodic purge tries again).
    """
    rows = list(await db.reader.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
    busy = bool(rows and rows[0][0])
    if busy:
        log.warning("WAL checkpoint after a deletion could not finish; retried later")
    return not busy


async def has_history(db: Database, telegram_id: int) -> bool:
    """Whether the person is more than a first contact: a case (even archived) or staff data."""
    found = await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM clients WHERE telegram_id = :id) "
        "OR EXISTS (SELECT 1 FROM invitations WHERE caseworker_id = :id) "
        "OR EXISTS (SELECT 1 FROM messages WHERE caseworker_id = :id) "
        "OR EXISTS (SELECT 1 FROM working_hours WHERE caseworker_id = :id) "
        "OR EXISTS (SELECT 1 FROM users WHERE telegram_id = :id AND role <> 'client')",
        {"id": telegram_id},
    )
    return bool(found)


async def erase_refusal(db: Database, telegram_id: int) -> str | None:
    """Why this person cannot be erased now (English, for the command line), or None."""
    role = await db.fetchval("SELECT role FROM users WHERE telegram_id = ?", (telegram_id,))
    if role == "admin":
        return f"{telegram_id} is an administrator: remove the id from ADMIN_IDS and restart first"
    clients = await db.fetchval(
        "SELECT count(*) FROM clients WHERE caseworker_id = ?", (telegram_id,)
    )
    if clients:
        return (
            f"{telegram_id} still has {clients} clients; reassign them first "
            "(python -m bot admin reassign CLIENT_ID CASEWORKER_ID)"
        )
    return None


async def counts(db: Database, telegram_id: int) -> dict[str, int]:
    """How many rows each personal table holds about the person (for a confirmation)."""
    found: dict[str, int] = {}
    for table in PERSONAL_TABLES:
        found[table.name] = int(
            await db.fetchval(
                f"SELECT count(*) FROM {table.table} WHERE {table.where}", {"id": telegram_id}
            )
        )
    return found
