"""Glue for running a real aiogram bot against :class:`FakeBotAPI` in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from .server import FakeBotAPI


class LocalSession(AiohttpSession):
    """aiogram's HTTP session minus the 250 ms close() grace period meant for TLS sockets.

    The fake is plain HTTP on localhost; the sleep would add a quarter second to every test.
    """

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(api: FakeBotAPI, *, parse_mode: ParseMode | None = ParseMode.HTML) -> Bot:
    """A real aiogram Bot whose HTTP session points at the fake server."""
    session = LocalSession(api=TelegramAPIServer.from_base(api.base_url))
    return Bot(api.token, session=session, default=DefaultBotProperties(parse_mode=parse_mode))


@contextlib.asynccontextmanager
async def run_polling(
    dp: Dispatcher,
    bot: Bot,
    api: FakeBotAPI,
    **workflow_data: Any,  # forwarded to start_polling(**kwargs: Any)
) -> AsyncIterator[None]:
    """Poll in the background while the block runs; entered once the bot is in its polling loop."""
    since = api.poll_count  # taken before the bot can possibly poll
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, **workflow_data)
    )
    ready = asyncio.create_task(api.wait_polling(since=since))
    try:
        await asyncio.wait({polling, ready}, return_when=asyncio.FIRST_COMPLETED)
        if polling.done():
            ready.cancel()
            polling.result()  # startup failed: surface the bot's exception
            raise AssertionError("polling stopped before it started")
        ready.result()
        yield
    finally:
        ready.cancel()
        if not polling.done():
            await dp.stop_polling()
        await polling
