"""Shared fixtures: a migrated database; the fake Bot API; the real bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.database import Database
from db.migrate import migrate
from tests.fakeapi import FakeBotAPI
from tests.harness import BotUnderTest, start_bot


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "test.sqlite3")
    await database.connect()
    await migrate(database)
    yield database
    await database.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def app(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    """The real application, in this event loop, polling the fake Bot API over HTTP."""
    async with start_bot(api, tmp_path) as running:
        yield running
