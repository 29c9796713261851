"""Fixtures for tests using the fake Bot API (scoped to emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiogram import Bot

from emulator.server import FakeBotAPI
from emulator.wiring import make_bot


@pytest_asyncio.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    tg_bot = make_bot(api)
    try:
        yield tg_bot
    finally:
        await tg_bot.session.close()
