"""Telegram's sending limits, for every request the bot makes except getUpdates.

aiogram has no rate limiting or retry of its own. This session middleware sits on the
one session that the bot's handlers and its delivery engine share. Each request, in turn:
1. waits for its chat's pace, if it creates messages in a chat (`ChatPace`): a short
   burst (3), then about one message a second. Multi-part cards, history chunks and
   import reports are spaced out instead of drawing a 429. Edits, callback answers and
   chat actions add nothing new to the chat and are not paced per chat;
2. waits while Telegram has asked us to pause (`Pause`): a 429 on any request holds
   back every request until its retry_after has passed, not only the one that got it;
3. takes a slot in the global window (`SlidingWindowLimiter`): at most 30 requests in
   any one-second window, across all chats;
4. on 429 goes round again (1-3), for up to `retry_for` seconds in all (a 429 means the
   request was not carried out); after that the 429 is raised to the caller.
Only the global window holds a lock while it waits, and every request needs it alike:
a chat's pace and a pause are plain sleeps, so a busy chat never holds up another one.

Network errors and 5xx are not retried here: a lost answer may hide a delivered
message, so the caller (the delivery engine) decides with its own bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

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
    GetUpdates,
    SendAnimation,
    SendAudio,
    SendContact,
    SendDice,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendPoll,
    SendSticker,
    SendVenue,
    SendVideo,
    SendVideoNote,
    SendVoice,
)
from aiogram.methods.base import TelegramMethod, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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


class Pause:
    """Until when every request waits, because Telegram answered one of them with 429."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.until = -math.inf

    def extend(self, seconds: float) -> float:
        """Pause everyone for `seconds` from now (never shortens a longer pause); returns its end."""
        self.until = max(self.until, self._clock() + seconds)
        return self.until

    def remaining(self) -> float:
        return max(0.0, self.until - self._clock())

    async def wait(self, sleep: Sleep = asyncio.sleep) -> None:
        # A loop: another 429 may extend the pause while we sleep.
        while (left := self.remaining()) > 0:
            await sleep(left)


ChatKey = int | str


class ChatPace:
    """Per chat: a burst of `burst` messages, then one every `interval` seconds.

    The generic cell rate algorithm: one float per chat, the time at which the chat's
    bucket would be full again. A message reserves its turn at once (no lock, in the
    order the messages ask), then sleeps until it. Chats whose bucket is full again
    are forgotten, so memory holds only chats written to in the last few seconds.
    """

    def __init__(
        self,
        *,
        burst: int = 3,
        interval: float = 1.0,
        clock: Clock = time.monotonic,
        sweep_every: float = 60.0,
    ) -> None:
        if burst < 1 or interval <= 0:
            raise ValueError("burst must be at least 1 and interval positive")
        self.burst = burst
        self.interval = interval
        self._tolerance = (burst - 1) * interval
        self._clock = clock
        self._full_at: dict[ChatKey, float] = {}
        self._sweep_every = sweep_every
        self._next_sweep = clock() + sweep_every

    def reserve(self, chat: ChatKey, messages: int = 1) -> float:
        """Takes the chat's next turn for `messages` messages; returns seconds to wait for it."""
        now = self._clock()
        self._sweep(now)
        full_at = max(self._full_at.get(chat, now), now)
        start = full_at + (messages - 1) * self.interval - self._tolerance
        self._full_at[chat] = full_at + messages * self.interval
        return max(0.0, start - now)

    def hold_off(self, chat: ChatKey, until: float) -> None:
        """After a 429 to this chat: its next message goes at `until` at the earliest, with no burst."""
        self._full_at[chat] = max(self._full_at.get(chat, until), until + self._tolerance)

    def __len__(self) -> int:
        """Chats remembered (for tests and curiosity)."""
        return len(self._full_at)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        self._full_at = {chat: t for chat, t in self._full_at.items() if t > now}


# Methods that add messages to a chat: paced per chat.
MESSAGE_METHODS = (
    SendMessage,
    SendPhoto,
    SendDocument,
    SendLocation,
    SendVenue,
    SendVoice,
    SendAudio,
    SendVideo,
    SendVideoNote,
    SendAnimation,
    SendSticker,
    SendContact,
    SendDice,
    SendPoll,
    SendMediaGroup,
    CopyMessage,
    CopyMessages,
    ForwardMessage,
    ForwardMessages,
)


def paced_chat(method: TelegramMethod[TelegramType]) -> tuple[ChatKey, int] | None:
    """(chat, number of messages) for a method that adds messages to a chat, else None."""
    if not isinstance(method, MESSAGE_METHODS):
        return None
    chat = getattr(method, "chat_id", None)
    if not isinstance(chat, int | str):
        return None
    if isinstance(method, SendMediaGroup):
        return chat, max(1, len(method.media))
    if isinstance(method, CopyMessages | ForwardMessages):
        return chat, max(1, len(method.message_ids))
    return chat, 1


class RateLimitMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        per_second: int = 30,
        chat_burst: int = 3,
        chat_interval: float = 1.0,
        retry_for: float = 180.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._global = SlidingWindowLimiter(per_second, 1.0)
        self.pause = Pause(clock)
        self.chats = ChatPace(burst=chat_burst, interval=chat_interval, clock=clock)
        self._retry_for = retry_for
        self._clock = clock
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:  # long polling: the bot idling
            return await make_request(bot, method)
        paced = paced_chat(method)
        started = self._clock()
        while True:
            if paced is not None:
                await self._sleep_for(self.chats.reserve(*paced))
            await self.pause.wait(self._sleep)
            try:
                async with self._global.slot():
                    # A 429 may have come in while we queued for the slot.
                    await self.pause.wait(self._sleep)
                    return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                # Everyone waits; a single huge retry_after pauses others no longer than
                # our retry budget (their own 429, if any, would pause again).
                resume = self.pause.extend(min(float(exc.retry_after), self._retry_for))
                if paced is not None:
                    self.chats.hold_off(paced[0], resume)
                spent = self._clock() - started
                if spent + exc.retry_after > self._retry_for:
                    log.warning(
                        "Telegram asked to wait %ss (429) for %s; giving up after %.0fs",
                        exc.retry_after,
                        type(method).__name__,
                        spent,
                    )
                    raise
                log.warning(
                    "Telegram asked to wait %ss (429); pausing all requests, then retrying %s",
                    exc.retry_after,
                    type(method).__name__,
                )

    async def _sleep_for(self, seconds: float) -> None:
        if seconds > 0:
            await self._sleep(seconds)
