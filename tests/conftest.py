"""Shared fixtures: a migrated database; the fake Bot API; the real bot running against it."""

from __future__ import annotations

import gettext
import ssl
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiogram.client.session.aiohttp
import certifi
import pytest

from bot.i18n import CatalogI18n
from db.database import Database
from db.migrate import migrate
from emulator import FakeBotAPI
from tests.harness import BotUnderTest, seeded_database, start_bot


@pytest.fixture(autouse=True, scope="session")
def _built_once_per_run() -> Iterator[None]:
    """Two things every started bot builds the same way, built once per test run.

    - aiogram's HTTP session reads the CA bundle into a new TLS context (~40 ms, twice per
      app); the fake is plain HTTP, and one context serves every session.
    - The catalogs are compiled from .po at each start (~30 ms); the compiled
      translations are read-only, so apps share them (keyed by folder and domain).
    """
    context = ssl.create_default_context(cafile=certifi.where())
    tls = types.SimpleNamespace(create_default_context=lambda **_: context)
    compiled: dict[tuple[Path, str], dict[str, gettext.GNUTranslations]] = {}
    compile_catalogs = CatalogI18n.find_locales

    def find_locales(self: CatalogI18n) -> dict[str, gettext.GNUTranslations]:
        key = (self.path, self.domain)
        if key not in compiled:
            compiled[key] = compile_catalogs(self)
        return dict(compiled[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aiogram.client.session.aiohttp, "ssl", tls)
        patch.setattr(CatalogI18n, "find_locales", find_locales)
        yield


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database (a copy of one migrated once per run), empty otherwise."""
    await seeded_database(tmp_path / "test.sqlite3", starter=False)
    database = Database(tmp_path / "test.sqlite3")
    await database.connect()
    await migrate(database)  # nothing to do: kept so that the fixture says what it gives
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
