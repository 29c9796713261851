"""The outgoing limiter's pieces: per-chat pace, the shared pause, 429 retries on every method."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessages,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetUpdates,
    SendChatAction,
    SendMediaGroup,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import BotCommand, InputMediaPhoto

from bot.rate_limit import ChatPace, Pause, RateLimitMiddleware, paced_chat

BOT = Bot("123456:TEST")  # never reaches a server: requests go to the fakes below


class FakeClock:
    """Time that moves only when someone sleeps (for one coroutine at a time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class FastClock:
    """Real time, 20 times faster: concurrent sleepers stay consistent with each other."""

    scale = 20.0

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self._start) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.scale)


def retry_after(method: TelegramMethod[Any], seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(method, f"Too Many Requests: retry after {seconds}", seconds)


class Server:
    """Stands in for the session: records when each request reached it; can answer 429 first."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.calls: list[tuple[float, TelegramMethod[Any]]] = []
        self.fail: dict[int, int] = {}  # id(method) -> 429s still to give
        self.retry_after = 1
        self.gave_429 = asyncio.Event()

    def fail_next(self, method: TelegramMethod[Any], times: int = 1, seconds: int = 1) -> None:
        self.fail[id(method)] = times
        self.retry_after = seconds

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls.append((self.clock(), method))
        if self.fail.get(id(method), 0) > 0:
            self.fail[id(method)] -= 1
            self.gave_429.set()
            raise retry_after(method, self.retry_after)
        return True

    def times(self, method: TelegramMethod[Any]) -> list[float]:
        return [at for at, m in self.calls if m is method]


# -- ChatPace -----------------------------------------------------------------------------


def test_a_chat_gets_a_burst_of_three_then_one_message_a_second() -> None:
    clock = FakeClock()
    pace = ChatPace(burst=3, interval=1.0, clock=clock)
    assert [pace.reserve(1) for _ in range(6)] == [0, 0, 0, 1, 2, 3]
    assert pace.reserve(2) == 0  # other chats have their own pace
    clock.now += 10  # an idle chat earns its burst back
    assert [pace.reserve(1) for _ in range(4)] == [0, 0, 0, 1]


def test_a_chat_that_keeps_to_one_a_second_never_waits() -> None:
    clock = FakeClock()
    pace = ChatPace(burst=3, interval=1.0, clock=clock)
    for _ in range(20):
        assert pace.reserve(7) == 0
        clock.now += 1.0


def test_an_album_counts_as_its_messages() -> None:
    clock = FakeClock()
    pace = ChatPace(burst=3, interval=1.0, clock=clock)
    assert pace.reserve(1, messages=5) == 2  # the last two of five wait for their turn
    assert pace.reserve(1) == 3  # as if its five went at 0, 0, 0, 1, 2


def test_after_a_429_a_chat_resumes_at_the_end_of_the_pause_without_a_burst() -> None:
    clock = FakeClock()
    pace = ChatPace(burst=3, interval=1.0, clock=clock)
    pace.reserve(1)
    pace.hold_off(1, clock.now + 5)
    assert [pace.reserve(1) for _ in range(3)] == [5, 6, 7]


def test_idle_chats_are_forgotten() -> None:
    clock = FakeClock()
    pace = ChatPace(burst=3, interval=1.0, clock=clock, sweep_every=60)
    for chat in range(1000):
        pace.reserve(chat)
    assert len(pace) == 1000
    clock.now += 61
    pace.reserve(5000)
    assert len(pace) == 1


def test_only_methods_that_add_messages_are_paced_per_chat() -> None:
    assert paced_chat(SendMessage(chat_id=5, text="x")) == (5, 1)
    album = SendMediaGroup(
        chat_id=5, media=[InputMediaPhoto(media="a"), InputMediaPhoto(media="b")]
    )
    assert paced_chat(album) == (5, 2)
    assert paced_chat(CopyMessages(chat_id=5, from_chat_id=6, message_ids=[1, 2, 3])) == (5, 3)
    assert paced_chat(EditMessageText(chat_id=5, message_id=1, text="x")) is None
    assert paced_chat(AnswerCallbackQuery(callback_query_id="1")) is None
    assert paced_chat(SendChatAction(chat_id=5, action="typing")) is None


# -- Pause --------------------------------------------------------------------------------


async def test_a_pause_is_only_ever_extended_and_waited_out_to_its_end() -> None:
    clock = FakeClock()
    pause = Pause(clock)
    assert pause.remaining() == 0
    end = pause.extend(5)
    assert pause.extend(2) == end  # a shorter 429 never cuts a longer pause
    await pause.wait(clock.sleep)
    assert clock.now == end


# -- the middleware: every method, one coroutine at a time (fake clock) ------------------------

EVERY_KIND = [
    EditMessageText(chat_id=1, message_id=1, text="x"),
    EditMessageReplyMarkup(chat_id=1, message_id=1),
    EditMessageCaption(chat_id=1, message_id=1, caption="x"),
    AnswerCallbackQuery(callback_query_id="1", text="x"),
    SetMyCommands(commands=[BotCommand(command="help", description="Help")]),
    DeleteMessage(chat_id=1, message_id=1),
    GetFile(file_id="f"),
    SendChatAction(chat_id=1, action="typing"),
    SendMessage(chat_id=1, text="x"),
]


@pytest.mark.parametrize("method", EVERY_KIND, ids=lambda m: type(m).__name__)
async def test_a_429_on_any_method_is_waited_out_and_retried(method: TelegramMethod[Any]) -> None:
    clock = FakeClock()
    limiter = RateLimitMiddleware(clock=clock, sleep=clock.sleep)
    server = Server(clock)
    server.fail_next(method, seconds=3)
    result: Any = await limiter(server, BOT, method)
    assert result is True
    first, second = server.times(method)
    assert second - first >= 3


async def test_429s_are_retried_for_a_bounded_time_then_raised() -> None:
    clock = FakeClock()
    limiter = RateLimitMiddleware(retry_for=180, clock=clock, sleep=clock.sleep)
    server = Server(clock)
    method = EditMessageText(chat_id=1, message_id=1, text="x")
    server.fail_next(method, times=100, seconds=60)
    with pytest.raises(TelegramRetryAfter):
        await limiter(server, BOT, method)
    times = server.times(method)
    assert len(times) == 4  # at 0, 60, 120, 180 s: a fifth would end past 180 s
    assert times[-1] - times[0] == 180


async def test_a_retry_after_beyond_the_budget_is_raised_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimitMiddleware(retry_for=180, clock=clock, sleep=clock.sleep)
    server = Server(clock)
    method = SendMessage(chat_id=1, text="x")
    server.fail_next(method, seconds=3600)
    with pytest.raises(TelegramRetryAfter):
        await limiter(server, BOT, method)
    assert clock.slept == []
    # Others still pause, but no longer than the retry budget.
    assert limiter.pause.remaining() == 180


async def test_get_updates_is_never_held_back() -> None:
    clock = FakeClock()
    limiter = RateLimitMiddleware(clock=clock, sleep=clock.sleep)
    limiter.pause.extend(100)
    server = Server(clock)
    result: Any = await limiter(server, BOT, GetUpdates(timeout=25))
    assert result is True
    assert clock.slept == []


async def test_a_reply_in_six_parts_is_paced() -> None:
    clock = FakeClock()
    limiter = RateLimitMiddleware(clock=clock, sleep=clock.sleep)
    server = Server(clock)
    start = clock.now
    for part in range(6):
        await limiter(server, BOT, SendMessage(chat_id=1, text=f"part {part}"))
    assert [at - start for at, _ in server.calls] == [0, 0, 0, 1, 2, 3]


# -- the middleware: concurrent senders (real time, faster) ----------------------------------


async def test_a_429_pauses_every_sender_not_only_the_one_that_got_it() -> None:
    clock = FastClock()
    limiter = RateLimitMiddleware(clock=clock, sleep=clock.sleep)
    server = Server(clock)
    answer = AnswerCallbackQuery(callback_query_id="1")
    server.fail_next(answer, seconds=2)
    answering = asyncio.create_task(limiter(server, BOT, answer))
    await server.gave_429.wait()
    other_chat = SendMessage(chat_id=2, text="x")
    await limiter(server, BOT, other_chat)
    await answering
    [got_429, answered] = server.times(answer)
    [sent] = server.times(other_chat)
    assert sent - got_429 >= 1.9
    assert answered - got_429 >= 1.9


async def test_one_chats_pace_does_not_hold_up_other_chats() -> None:
    clock = FastClock()
    limiter = RateLimitMiddleware(clock=clock, sleep=clock.sleep)
    server = Server(clock)
    busy = [SendMessage(chat_id=1, text=f"part {i}") for i in range(6)]
    start = clock()
    sending = [asyncio.create_task(limiter(server, BOT, m)) for m in busy]
    await asyncio.sleep(0)  # let them all take their turns
    other = SendMessage(chat_id=2, text="x")
    await limiter(server, BOT, other)
    [other_at] = server.times(other)
    assert other_at - start < 0.5
    await asyncio.gather(*sending)
    busy_at = [server.times(m)[0] - start for m in busy]
    assert busy_at[2] < 0.5
    assert busy_at[3] >= 0.9
    assert busy_at[5] >= 2.9
    assert other_at < busy_at[3]
