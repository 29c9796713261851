"""Conversation state survives a reconnect (a restart) and leaves nothing behind when cleared."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey

from db.database import Database
from db.fsm_storage import SQLiteStorage


async def test_state_and_data_survive_a_restart(db: Database) -> None:
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    storage = SQLiteStorage(db)
    await storage.set_state(key, "Flow:step2")
    await storage.update_data(key, {"label": "«Ақтөбе» <b>"})

    await db.close()
    await db.connect()
    again = SQLiteStorage(db)
    assert await again.get_state(key) == "Flow:step2"
    assert await again.get_data(key) == {"label": "«Ақтөбе» <b>"}

    await again.set_state(key, None)
    await again.set_data(key, {})
    assert await db.fetchval("SELECT count(*) FROM fsm_state") == 0
