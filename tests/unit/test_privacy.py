"""Export and deletion cover every personal table, and only the person asked about."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey

from db import clients, invitations, messages, privacy, users
from db.database import Database
from db.directory_import import load_starter_once
from db.fsm_storage import SQLiteStorage
from db.staff import add_caseworker


async def _linked_client(db: Database, client_id: int, caseworker_id: int) -> None:
    await users.get_or_create(db, client_id)
    _, invitation = await invitations.create(db, caseworker_id, f"label {client_id}")
    await clients.accept_invitation(db, invitation.id, client_id, "Arman")
    await messages.record(
        db,
        client_id=client_id,
        caseworker_id=caseworker_id,
        direction="in",
        kind="text",
        body="hello",
    )


async def test_export_holds_everything_and_erase_removes_only_that_person(db: Database) -> None:
    await add_caseworker(db, 1, "Officer", actor_id=None)
    await _linked_client(db, 12, 1)
    await _linked_client(db, 123, 1)
    storage = SQLiteStorage(db)
    await storage.set_state(StorageKey(bot_id=9, chat_id=12, user_id=12), "Flow:step")
    await storage.set_state(StorageKey(bot_id=9, chat_id=123, user_id=123), "Flow:step")

    exported = await privacy.export(db, 12)
    data = exported["data"]
    assert data["users"][0]["telegram_id"] == 12
    assert data["clients"][0]["label"] == "label 12"
    assert data["messages"][0]["body"] == "hello"
    assert data["conversation_state"][0]["state"] == "Flow:step"
    assert any(row["action"] == "invitation.accepted" for row in data["audit_log"])
    assert '"telegram_id": 12' in privacy.export_json(exported)

    await load_starter_once(db)
    entry = await db.fetchval("SELECT id FROM dir_entry LIMIT 1")
    await db.execute(
        "INSERT INTO dir_report (entry_id, reporter_id, reason, comment, created_at) "
        "VALUES (?, 12, 'closed', 'near my street', '2026-01-01 00:00:00')",
        (entry,),
    )
    exported_reports = (await privacy.export(db, 12))["data"]["directory_reports"]
    assert exported_reports[0]["comment"] == "near my street"
    await privacy.erase(db, 12, caseworker_id=1)
    after = (await privacy.export(db, 12))["data"]
    assert all(rows == [] for rows in after.values()), after
    # The directory keeps the report's reason, not who made it or their words.
    assert await db.fetchval("SELECT comment FROM dir_report WHERE reason = 'closed'") == ""
    still = (await privacy.export(db, 123))["data"]
    assert still["users"]
    assert still["messages"]
    assert still["conversation_state"]
