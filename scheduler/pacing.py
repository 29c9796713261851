"""Pacing for what the bot sends on its own.

Telegram allows about one message per second in one chat (bursts get 429). The bot
session (bot/rate_limit.py) already keeps all sends within 30 in any second; for engine
sends this adds
- per chat: at least `interval` seconds between the end of one message to a chat and the
  start of the next, one item per chat at a time, in claim order;
- overall: sends evenly spaced at `per_second` (below the session's 30), instead of the
  session's bursts of 30 followed by a pause. The headroom keeps replies to people
  prompt during a big batch, and even spacing keeps the messages that Telegram has
  accepted but we have not yet recorded (the duplicates a crash can cause) to the one
  or two requests on the wire, instead of a whole burst.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class EngineStopping(Exception):  # noqa: N818 - a signal, not an error
    """Raised instead of sending once the engine stops: the item goes back to pending unsent."""


class ChatPacer:
    def __init__(self, interval: float, per_second: float, stopping: asyncio.Event) -> None:
        self.interval = interval
        self.spacing = 1.0 / per_second
        self._next_slot = 0.0  # monotonic time of the next free overall slot
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
        """Wait for the chat's next slot, then an overall one; EngineStopping if the engine stops."""
        if self._stopping.is_set():
            raise EngineStopping
        last = self._last_sent.get(chat_id)
        if last is not None:
            await self._sleep(last + self.interval - time.monotonic())
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.spacing
        await self._sleep(slot - now)

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
