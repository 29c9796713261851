"""Conversation state survives a reconnect (a restart) and leaves nothing behind when cleared."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey

from db.database import Database, Params
from db.fsm_storage import SQLiteStorage
from db.migrate import migrate


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


class CountingDatabase(Database):
    """Counts the statements that reach the writer and the reads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[str] = []
        self.reads = 0

    async def execute(self, sql: str, params: Params = ()) -> int:
        self.writes.append(sql.split()[0])
        return await super().execute(sql, params)

    async def lookup(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        self.reads += 1
        return await super().lookup(sql, params)


@pytest.fixture
async def counted(tmp_path: Path) -> AsyncIterator[CountingDatabase]:
    database = CountingDatabase(tmp_path / "counted.sqlite3")
    await database.connect()
    await migrate(database)
    database.writes, database.reads = [], 0
    yield database
    await database.close()


KEY = StorageKey(bot_id=1, chat_id=8, user_id=8)


async def rows(db: Database) -> list[tuple[str | None, str]]:
    return [(r["state"], r["data"]) for r in await db.fetchall("SELECT state, data FROM fsm_state")]


async def test_clear_is_one_write_and_leaves_no_row(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    context = FSMContext(storage, KEY)
    await context.set_state("Flow:step")
    counted.writes.clear()

    await context.clear()  # aiogram: set_state(None), then set_data({})

    assert counted.writes == ["DELETE"]
    assert await rows(counted) == []


async def test_clear_with_data_is_two_single_statements(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    context = FSMContext(storage, KEY)
    await context.set_state("Flow:step")
    await context.update_data(label="x")
    counted.writes.clear()

    await context.clear()

    assert counted.writes == ["INSERT", "DELETE"]  # state gone, data kept; then the row
    assert await rows(counted) == []


async def test_clear_without_a_conversation_writes_nothing(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    with storage.per_update():  # /start from someone in no conversation
        await FSMContext(storage, KEY).get_state()
        await FSMContext(storage, KEY).clear()
    assert counted.writes == []
    assert counted.reads == 1


async def test_state_and_data_are_written_together(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    await storage.set_data(KEY, {"entry": 5})
    await storage.set_state(KEY, "Flow:comment")  # keeps the data set before it
    assert await rows(counted) == [("Flow:comment", '{"entry": 5}')]
    await storage.set_state(KEY, None)  # data left: the row stays
    assert await rows(counted) == [(None, '{"entry": 5}')]
    await storage.set_data(KEY, {})
    assert await rows(counted) == []
    assert counted.writes == ["INSERT", "INSERT", "INSERT", "DELETE"]


async def test_a_write_that_changes_nothing_is_skipped(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    await storage.set_state(KEY, "Flow:step")
    await storage.set_state(KEY, "Flow:step")
    await storage.set_data(KEY, {})
    assert counted.writes == ["INSERT"]


async def test_one_read_per_update_and_none_kept_after_it(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    await storage.set_state(KEY, "Flow:step")
    counted.reads = 0
    with storage.per_update():
        assert await storage.get_state(KEY) == "Flow:step"
        assert await storage.get_data(KEY) == {}
        await storage.update_data(KEY, {"a": 1})
        assert await storage.get_data(KEY) == {"a": 1}
        assert await storage.get_state(KEY) == "Flow:step"
    assert counted.reads == 1
    # Changed behind the storage's back (privacy erasure): the next update reads it afresh.
    await counted.execute("DELETE FROM fsm_state")
    with storage.per_update():
        assert await storage.get_state(KEY) is None
    assert counted.reads == 2


async def test_get_data_hands_out_a_copy(counted: CountingDatabase) -> None:
    storage = SQLiteStorage(counted)
    with storage.per_update():
        data = await storage.get_data(KEY)
        data["leak"] = True
        assert await storage.get_data(KEY) == {}
