"""Wiring a real aiogram bot to :class:`FakeBotAPI` over HTTP, in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

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


class _CountWaiting(BaseRequestMiddleware):
    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == "getUpdates":
            return await make_request(bot, method)
        self.api.state.call_started()
        try:
            return await make_request(bot, method)
        finally:
            self.api.state.call_finished()


def count_waiting_requests(bot: Bot, api: FakeBotAPI) -> None:
    """Count a request as the bot's reaction from the moment the bot makes it.

    A bot with its own rate limiter (a session middleware) may hold a request back for
    a while, e.g. to pace messages to one chat; the fake would take that silence for the
    end of the reaction. Installed outermost, this shows such waits as calls in flight,
    so FakeUser actions and ``wait_idle()`` wait for them.
    """
    manager = bot.session.middleware
    others = list(manager)
    for middleware in others:
        manager.unregister(middleware)
    manager.register(_CountWaiting(api))
    for middleware in others:
        manager.register(middleware)


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
