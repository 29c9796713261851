"""Telegram's sending limits: one outgoing budget for the whole bot, by priority.

aiogram has no rate limiting or retry of its own. This session middleware sits on the
one session that the bot's handlers, its delivery engine and broadcasts share. Each
request but getUpdates, in turn:
1. waits for its chat's pace, if it creates messages in a chat (`ChatPace`): a short
   burst (3), then about one message a second. Multi-part cards, history chunks and
   import reports are spaced out instead of drawing a 429. Edits, callback answers and
   chat actions add nothing new to the chat and are not paced per chat;
2. waits for a slot in the global budget (`Budget`), by its priority
   (`core.priority.sending_priority`: REPLY, then ALERT, REMINDER, BROADCAST). Waiting
   requests are served highest priority first, in arrival order within a priority: a
   lower one never takes a slot while a higher one waits, and whatever the others leave
   free goes to the lower ones, up to the whole budget. No slot is handed out while
   Telegram has asked us to pause (`Pause`): a 429 on any request holds back every
   request until its retry_after has passed, not only the one that got it;
3. on 429 goes round again (1-2), for up to `retry_for` seconds in all (a 429 means the
   request was not carried out); after that the 429 is raised to the caller.
A chat's pace is a plain sleep, so a busy chat never holds up another one.

What the budget counts. Telegram counts messages: the FAQ's "about 30 messages per
second" is for notifications to many users. answerCallbackQuery is not counted ("You can
call answerCallbackQuery without any limits": the Bot API's maintainer, tdlib/
telegram-bot-api#648), so it takes no slot (it still waits out a pause). Edits, chat
actions and the rest are counted like messages: edits do draw 429s, and whether they
share the 30/s is not documented, so correctness comes first.

The full-rate rule. Telegram counts a request when it arrives, somewhere between our
start and its answer. Counting each request from its start until a second after its
answer is safe whatever the network does, but then every request holds its slot for
1 s + its round trip: 30 / 1.1 s = 27/s with 100 ms of latency. Instead a request counts
from its start for 1 s + a margin, where the margin is the spread of recent round trips
(slowest minus fastest of the answers of the last 10 s; at least `min_margin` (20 ms), at
most 1 s; 1 s until 8 answers are known). A stall of the event loop or the network is
remembered those 10 s: it can only bunch up the arrivals of requests in flight during it,
and their round trips end well within that time. A minute's memory, tried first, cost a
tenth of the rate on a busy machine, where such stalls come every few seconds (the
broadcast bench: 0.90 of 30/s with a minute, 0.965 with 10 s; no 429 in either). The assumption: how long a request takes to reach Telegram
varies no more than whole round trips vary (a delay on the way there shows in the round
trip). Then any 31 arrivals in one of Telegram's seconds would need 31 starts within
1 s + margin, which the budget never allows. A request still unanswered when its
second and margin are over keeps counting until its answer (it may not have arrived
yet). A start is counted from the moment its slot opened (at most 10 ms before the
granter got to it, which the margin covers), so a late wake-up does not push every later
slot back. A late wake-up of the granter longer than the margin is a stall of the event
loop, which delays the requests in flight as much: it widens the margin at once. With a
steady 100 ms the margin is its floor, 20 ms: the budget runs at 30
per 1.02 s, 98% of 30/s. Starts are also spread evenly (one every (1 s + margin) / 30, a burst of 3 after
a quiet spell) instead of 30 at once then a second's silence, so a reply that arrives
while a broadcast fills the budget waits for the next slot, ~33 ms, not for the next
second. A 429 still pauses everyone, should the assumption fail.

Network errors and 5xx are not retried here: a lost answer may hide a delivered
message, so the caller (the delivery engine) decides with its own bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
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

from core.priority import Priority, sending_priority

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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


_EPSILON = 1e-6


class Ticket:
    """One request's slot: when it started, and whether its answer has come (or it ended)."""

    __slots__ = ("done", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.done = False


class StartWindow:
    """The full-rate rule, as pure arithmetic on a clock (see the module docstring).

    At most `limit` starts in any window of `period` + margin, where the margin is the
    spread of recent round trips; a request unanswered when its window is over counts
    until its answer; and starts are spread evenly, one every (`period` + margin) /
    `limit`, with a burst of `burst` after a quiet spell.
    """

    def __init__(
        self,
        limit: int,
        period: float = 1.0,
        *,
        min_margin: float = 0.02,
        max_margin: float = 1.0,
        memory: float = 10.0,
        known_after: int = 8,
        burst: int = 3,
        backdate: float = 0.01,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.limit = limit
        self.period = period
        self.min_margin = min_margin
        self.max_margin = max_margin
        self.known_after = known_after
        self.burst = burst
        self.backdate = min(backdate, min_margin)  # the margin must cover it
        self.memory = memory
        # Round trips answered in the last `memory` seconds: when each was learnt, and the
        # candidates for the slowest and the fastest (monotonic queues: O(1) per answer).
        self._learnt: deque[float] = deque()
        self._slowest: deque[tuple[float, float]] = deque()  # (learnt at, round trip), decreasing
        self._fastest: deque[tuple[float, float]] = deque()  # increasing
        self._stalls: deque[tuple[float, float]] = deque()  # (noted at, length), decreasing
        self._starts: deque[Ticket] = deque()  # in start order
        self._overdue: set[Ticket] = set()  # window over, answer not yet come
        self._theoretical = -math.inf  # GCRA: when the next start is due on the even pace

    def margin(self) -> float:
        if not self._learnt or len(self._learnt) < self.known_after:
            return self.max_margin
        spread = self._slowest[0][1] - self._fastest[0][1]
        stall = self._stalls[0][1] if self._stalls else 0.0
        return min(self.max_margin, max(self.min_margin, spread, stall))

    def note_stall(self, length: float, now: float) -> None:
        """The event loop stalled `length` seconds (a late wake-up): requests in flight may
        reach Telegram that much later than their start, so the margin covers it at once,
        before their round trips tell (remembered as long as round trips are)."""
        if length <= self.min_margin:
            return
        while self._stalls and self._stalls[-1][1] <= length:
            self._stalls.pop()
        self._stalls.append((now, length))

    def window(self) -> float:
        return self.period + self.margin()

    def in_window(self, now: float) -> int:
        """Requests that count at `now`."""
        self._expire(now)
        return len(self._starts) + len(self._overdue)

    def wait(self, now: float) -> float:
        """Seconds until a request may start (0: now). With overdue requests filling the
        window there is no time to tell (their answers free it): a short poll."""
        self._forget(now)
        window = self.window()
        self._expire(now, window)
        spacing = window / self.limit
        even = self._theoretical - (self.burst - 1) * spacing - now
        even = 0.0 if even < _EPSILON else even  # float rounding is no reason to sleep
        if len(self._starts) + len(self._overdue) < self.limit:
            return even
        if not self._starts:
            return max(even, 0.01)
        return max(even, self._starts[0].start + window - now)

    def take(self, now: float) -> Ticket:
        """Starts a request at `now` (call when `wait(now)` is 0).

        It is counted from the moment its slot opened, up to `backdate` earlier: a granter
        that wakes a millisecond late would otherwise push every later slot back by as
        much (the window is counted from the starts), losing a few percent of the rate.
        The round trip is measured from that moment too, so the margin covers the lag."""
        earliest = now - self.backdate
        start = min(now, earliest + self.wait(earliest))
        if self._starts:
            start = max(start, self._starts[-1].start)  # kept in start order
        ticket = Ticket(start)
        self._starts.append(ticket)
        spacing = self.window() / self.limit
        self._theoretical = max(self._theoretical, start) + spacing
        return ticket

    def finish(self, ticket: Ticket, now: float, *, answered: bool) -> None:
        """The request ended; `answered`: Telegram answered it (a round trip to learn from)."""
        if ticket.done:
            return
        ticket.done = True
        self._overdue.discard(ticket)
        if not answered:
            return
        trip = now - ticket.start
        self._learnt.append(now)
        while self._slowest and self._slowest[-1][1] <= trip:
            self._slowest.pop()
        self._slowest.append((now, trip))
        while self._fastest and self._fastest[-1][1] >= trip:
            self._fastest.pop()
        self._fastest.append((now, trip))
        self._forget(now)

    def _forget(self, now: float) -> None:
        """Round trips older than `memory` no longer count (a stall is remembered that long)."""
        cutoff = now - self.memory
        while self._learnt and self._learnt[0] < cutoff:
            self._learnt.popleft()
        for extremes in (self._slowest, self._fastest, self._stalls):
            while extremes and extremes[0][0] < cutoff:
                extremes.popleft()

    def _expire(self, now: float, window: float | None = None) -> None:
        cutoff = now - (self.window() if window is None else window)
        while self._starts and self._starts[0].start <= cutoff:
            ticket = self._starts.popleft()
            if not ticket.done:
                self._overdue.add(ticket)


class Budget:
    """The bot's one outgoing budget: slots under `StartWindow`, highest priority first.

    A request that finds nobody waiting and a free slot starts at once, without a task
    switch. Otherwise it queues in its priority's line, and one granter task hands out
    slots as they come free, always to the first in the highest line; it ends when the
    lines are empty. No slot is handed out during a `Pause`.
    """

    def __init__(
        self,
        window: StartWindow,
        pause: Pause,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.window = window
        self.pause = pause
        self._clock = clock
        self._sleep = sleep
        self._lines: dict[Priority, deque[asyncio.Future[Ticket]]] = {
            level: deque() for level in Priority
        }
        self._granter: asyncio.Task[None] | None = None
        self.granted: dict[Priority, int] = dict.fromkeys(Priority, 0)  # for figures and tests

    def waiting(self, level: Priority | None = None) -> int:
        """Requests queued (at `level`, or at all levels)."""
        lines = self._lines.values() if level is None else [self._lines[level]]
        return sum(1 for line in lines for future in line if not future.done())

    async def acquire(self, level: Priority) -> Ticket:
        if self._granter is None and not self.waiting():
            now = self._clock()
            if self.pause.remaining() <= 0 and self.window.wait(now) <= 0:
                self.granted[level] += 1
                return self.window.take(now)
        future: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        self._lines[level].append(future)
        if self._granter is None:
            self._granter = asyncio.create_task(self._grant())
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted as we were cancelled
                self.release(future.result(), answered=False)
            raise

    def release(self, ticket: Ticket, *, answered: bool) -> None:
        self.window.finish(ticket, self._clock(), answered=answered)

    async def _grant(self) -> None:
        try:
            while True:
                line = next((ln for ln in self._lines.values() if self._trim(ln)), None)
                if line is None:
                    return
                now = self._clock()
                wait = max(self.pause.remaining(), self.window.wait(now))
                if wait > 0:
                    await self._sleep(wait)
                    woke = self._clock()
                    self.window.note_stall(woke - (now + wait), woke)
                    continue
                if not self._trim(line):  # cancelled while we slept
                    continue
                future = line.popleft()
                level = next(lvl for lvl, ln in self._lines.items() if ln is line)
                self.granted[level] += 1
                future.set_result(self.window.take(now))
        finally:
            self._granter = None

    @staticmethod
    def _trim(line: deque[asyncio.Future[Ticket]]) -> bool:
        """Drops cancelled waiters from the front; True if someone is still waiting."""
        while line and line[0].done():
            line.popleft()
        return bool(line)


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
        min_margin: float = 0.02,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pause = Pause(clock)
        self.budget = Budget(
            StartWindow(per_second, 1.0, min_margin=min_margin),
            self.pause,
            clock=clock,
            sleep=sleep,
        )
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
        counted = not isinstance(method, AnswerCallbackQuery)
        level = sending_priority.get()
        started = self._clock()
        while True:
            if paced is not None:
                await self._sleep_for(self.chats.reserve(*paced))
            try:
                if not counted:
                    await self.pause.wait(self._sleep)
                    return await make_request(bot, method)
                ticket = await self.budget.acquire(level)
                answered = False
                try:
                    response = await make_request(bot, method)
                    answered = True
                    return response
                except TelegramNetworkError:
                    raise
                except Exception:
                    answered = True  # Telegram's own answer, an error
                    raise
                finally:
                    self.budget.release(ticket, answered=answered)
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
