"""aiogram FSM storage on our SQLite database, so a restart mid-conversation strands nobody."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey

from db.clock import now_db, to_db
from db.database import Database

StateType = str | State | None


class SQLiteStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.db.execute(
            "INSERT INTO fsm_state (storage_key, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (storage_key) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at",
            (self._key(key), value, now_db()),
        )
        await self._drop_if_empty(key)

    async def get_state(self, key: StorageKey) -> str | None:
        value = await self.db.fetchval(
            "SELECT state FROM fsm_state WHERE storage_key = ?", (self._key(key),)
        )
        return None if value is None else str(value)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.db.execute(
            "INSERT INTO fsm_state (storage_key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (storage_key) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (self._key(key), json.dumps(dict(data), ensure_ascii=False), now_db()),
        )
        await self._drop_if_empty(key)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        value = await self.db.fetchval(
            "SELECT data FROM fsm_state WHERE storage_key = ?", (self._key(key),)
        )
        return {} if value is None else dict(json.loads(value))

    async def _drop_if_empty(self, key: StorageKey) -> None:
        # A cleared conversation leaves no row behind (nothing kept that is not needed).
        await self.db.execute(
            "DELETE FROM fsm_state WHERE storage_key = ? AND state IS NULL AND data = '{}'",
            (self._key(key),),
        )

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""


async def purge_idle(db: Database, before: datetime) -> int:
    """Forget conversations nobody touched since `before` (abandoned flows keep nothing)."""
    return await db.execute("DELETE FROM fsm_state WHERE updated_at < ?", (to_db(before),))
