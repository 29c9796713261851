"""aiogram FSM storage on our SQLite database, so a restart mid-conversation strands nobody.

A person's conversation is one row: its state and its data together. A write sets both
in one statement, and the row is deleted once both are empty (a cleared conversation
keeps nothing). A write that would change nothing is skipped: the common `/start` on no
conversation at all (`state.clear()`, which aiogram does as set_state + set_data) costs
no write, and clearing a conversation costs one.

Inside `per_update()` (bot/polling.py opens one around each update) a row read once is
remembered until the update is handled, so aiogram's reading of the state before the
handlers, a middleware's and the handler's own reads cost one query in all. Outside it
(tests, the command line) every call reads the database. A row is never kept beyond the
update: the database stays the only truth (privacy erasure and clean-up delete rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey

from db.clock import now_db, to_db
from db.database import Database

StateType = str | State | None

NO_DATA = "{}"


@dataclass(frozen=True)
class _Row:
    state: str | None
    data: str  # JSON, as stored

    @property
    def empty(self) -> bool:
        return self.state is None and self.data == NO_DATA


_EMPTY = _Row(None, NO_DATA)


class SQLiteStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        # storage key -> row, for the update being handled (None: outside any update)
        self._rows: ContextVar[dict[str, _Row] | None] = ContextVar(
            f"fsm_rows_{id(self)}", default=None
        )

    @contextmanager
    def per_update(self) -> Iterator[None]:
        """Rows read or written inside are remembered until the block ends."""
        token = self._rows.set({})
        try:
            yield
        finally:
            self._rows.reset(token)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def _row(self, key: str) -> _Row:
        rows = self._rows.get()
        if rows is not None and key in rows:
            return rows[key]
        found = await self.db.lookup(
            "SELECT state, data FROM fsm_state WHERE storage_key = ?", (key,)
        )
        row = _EMPTY if found is None else _Row(found["state"], found["data"])
        if rows is not None:
            rows[key] = row
        return row

    async def _write(self, key: str, row: _Row) -> None:
        if await self._row(key) == row:
            return  # nothing changes
        if row.empty:
            await self.db.execute("DELETE FROM fsm_state WHERE storage_key = ?", (key,))
        else:
            await self.db.execute(
                "INSERT INTO fsm_state (storage_key, state, data, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (storage_key) DO UPDATE SET state = excluded.state, "
                "data = excluded.data, updated_at = excluded.updated_at",
                (key, row.state, row.data, now_db()),
            )
        rows = self._rows.get()
        if rows is not None:
            rows[key] = row

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        storage_key = self._key(key)
        current = await self._row(storage_key)
        await self._write(storage_key, _Row(value, current.data))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._row(self._key(key))).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        storage_key = self._key(key)
        current = await self._row(storage_key)
        encoded = json.dumps(dict(data), ensure_ascii=False)
        await self._write(storage_key, _Row(current.state, encoded))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        # A new dict each time: aiogram's update_data changes what it gets.
        return dict(json.loads((await self._row(self._key(key))).data))

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""


async def purge_idle(db: Database, before: datetime) -> int:
    """Forget conversations nobody touched since `before` (abandoned flows keep nothing)."""
    return await db.execute("DELETE FROM fsm_state WHERE updated_at < ?", (to_db(before),))
