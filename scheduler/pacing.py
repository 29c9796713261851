"""Pacing for what the bot sends on its own.

Telegram allows about one message per second in one chat (bursts get 429). For engine
sends this adds, per chat, at least `interval` seconds between the end of one message to
a chat and the start of the next, one item per chat at a time, in claim order.

There is no overall pace here: the bot session's one budget (bot/rate_limit.py) keeps
the whole bot within Telegram's 30 a second, serves replies and alerts before reminders,
and spreads starts evenly; reminders go at whatever it gives their priority (up to the
whole 30/s when nothing else sends). The messages Telegram has accepted but the engine
has not yet recorded (the duplicates a crash can cause) stay the few requests on the
wire: ~3 with 100 ms round trips at 30/s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class EngineStopping(Exception):  # noqa: N818 - a signal, not an error
    """Raised instead of sending once the engine stops: the item goes back to pending unsent."""


class ChatPacer:
    def __init__(self, interval: float, stopping: asyncio.Event) -> None:
        self.interval = interval
        self._stopping = stopping
        self._turns: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._last_sent: dict[int, float] = {}  # chat -> monotonic time its last send ended

    @asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        """One item per chat at a time; asyncio.Lock is FIFO, so items keep their claim order."""
        lock = self._turns.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:  # nobody else queued: forget the chat's lock
                del self._waiting[chat_id]
                del self._turns[chat_id]

    async def before_send(self, chat_id: int) -> None:
        """Wait for the chat's next slot; EngineStopping if the engine stops."""
        if self._stopping.is_set():
            raise EngineStopping
        last = self._last_sent.get(chat_id)
        if last is not None:
            await self._sleep(last + self.interval - time.monotonic())

    async def _sleep(self, delay: float) -> None:
        if delay <= 0:
            return
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            return
        raise EngineStopping

    def after_send(self, chat_id: int) -> None:
        now = time.monotonic()
        self._last_sent[chat_id] = now
        if len(self._last_sent) > 10_000:  # keep memory bounded: old entries no longer pace
            cutoff = now - self.interval
            self._last_sent = {c: t for c, t in self._last_sent.items() if t > cutoff}
