"""Telegram's sending limits for every request the bot makes.

aiogram has no rate limiting or retry of its own. This session middleware
- keeps outgoing messages within 30 in any one-second window, across all chats,
- on 429 waits the server's retry_after and tries again (a 429 means it was not delivered).
Per-chat pacing (about one message a second) is not done here: replies follow a
person's own pace, and what the bot pushes on its own (reminders, broadcasts)
goes through the delivery engine in scheduler/, which paces each chat.
Network errors and 5xx are not retried here: a lost answer may hide a delivered
message, so the caller (the delivery engine) decides with its own bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    CopyMessage,
    CopyMessages,
    ForwardMessage,
    ForwardMessages,
    SendAnimation,
    SendAudio,
    SendContact,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVenue,
    SendVideo,
    SendVoice,
)
from aiogram.methods.base import TelegramMethod, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

log = logging.getLogger(__name__)


class SlidingWindowLimiter:
    """At most `limit` requests reach the server in any window of `period` seconds.

    A leaky bucket lets up to twice its rate through a sliding window (a full burst,
    then the refill); Telegram counts per window, so this keeps exact timestamps.
    The server sees a request somewhere between its start and its answer, so a
    request counts from its start until `period` after its answer: then no jitter
    in delivery (a slow early request, a fast later one) can squeeze more than
    `limit` into one of the server's windows.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._finished: deque[float] = deque()  # answer times, oldest first
        self._in_flight = 0
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._finished and now - self._finished[0] >= self.period:
                    self._finished.popleft()
                if len(self._finished) + self._in_flight < self.limit:
                    break
                wait = self.period - (now - self._finished[0]) if self._finished else 0.01
                await asyncio.sleep(max(wait, 0.001))
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._finished.append(time.monotonic())


MESSAGE_METHODS = (
    SendMessage,
    SendPhoto,
    SendDocument,
    SendLocation,
    SendVenue,
    SendVoice,
    SendAudio,
    SendVideo,
    SendAnimation,
    SendContact,
    SendMediaGroup,
    CopyMessage,
    CopyMessages,
    ForwardMessage,
    ForwardMessages,
)


class RateLimitMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        per_second: int = 30,
        max_retries: int = 5,
    ) -> None:
        self._global = SlidingWindowLimiter(per_second, 1.0)
        self._max_retries = max_retries

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, MESSAGE_METHODS):
            return await make_request(bot, method)
        attempt = 0
        while True:
            try:
                async with self._global.slot():
                    return await make_request(bot, cast("TelegramMethod[TelegramType]", method))
            except TelegramRetryAfter as exc:
                attempt += 1
                if attempt > self._max_retries:
                    raise
                log.warning(
                    "Telegram asked to wait %ss (429); retrying %s",
                    exc.retry_after,
                    type(method).__name__,
                )
                await asyncio.sleep(exc.retry_after)
