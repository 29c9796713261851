"""The outgoing budget: who goes first, the full-rate rule, and a 429 pausing every priority."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod

from bot.rate_limit import Budget, Pause, RateLimitMiddleware, StartWindow
from core.priority import Priority, priority

BOT = Bot("123456:TEST")


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class FastClock:
    """Real time, 10 times faster: concurrent sleepers stay consistent with each other."""

    scale = 10.0

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self._start) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.scale)


def exact_window(limit: int, burst: int = 1) -> StartWindow:
    """A window of exactly one second (no margin), for ordering tests."""
    return StartWindow(limit, 1.0, min_margin=0.0, max_margin=0.0, burst=burst)


# -- the full-rate rule (pure arithmetic, fake time) ------------------------------------------


def run_flat_out(window: StartWindow, seconds: float, round_trip: Any) -> list[tuple[float, float]]:
    """Requests started as soon as the window allows, for `seconds`; (start, arrival) each.

    `round_trip()` gives (forward delay, round trip) of one request; each is answered
    before the next may start whenever its round trip is short (the window learns it)."""
    now = 0.0
    in_flight: list[tuple[float, Any]] = []  # (answer time, ticket)
    sent: list[tuple[float, float]] = []
    while now < seconds:
        for answer, ticket in [x for x in in_flight if x[0] <= now]:
            window.finish(ticket, answer, answered=True)
            in_flight.remove((answer, ticket))
        wait = window.wait(now)
        if wait > 0:
            next_answer = min((a for a, _ in in_flight), default=now + wait)
            now = min(now + wait, next_answer)
            continue
        ticket = window.take(now)
        forward, total = round_trip()
        sent.append((now, now + forward))
        in_flight.append((now + total, ticket))
    return sent


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_with_steady_100ms_round_trips_the_budget_reaches_over_93_percent_of_30_a_second() -> None:
    rng = random.Random(7)

    def round_trip() -> tuple[float, float]:  # 100 ms, jitter up to 10 ms either way
        there, back = 0.05 + rng.uniform(0, 0.005), 0.05 + rng.uniform(0, 0.005)
        return there, there + back

    window = StartWindow(30, 1.0)
    sent = run_flat_out(window, 60.0, round_trip)
    steady = [s for s in sent if s[0] >= 5.0]  # once round trips are known
    rate = len(steady) / (60.0 - 5.0)
    assert rate >= 0.93 * 30
    assert window.margin() < 0.03
    # Telegram, counting at arrival in any one second, never sees more than 30.
    assert most_in_one_second([arrival for _, arrival in sent]) <= 30


def test_until_eight_round_trips_are_known_a_request_counts_for_two_seconds() -> None:
    window = StartWindow(30, 1.0)
    for n in range(8):
        assert window.margin() == 1.0
        window.finish(window.take(float(n)), n + 0.1, answered=True)
    assert window.margin() == 0.02  # steady round trips: the floor
    window.finish(window.take(9.0), 9.3, answered=True)
    assert 0.19 < window.margin() < 0.21
    lost = window.take(10.0)
    window.finish(lost, 15.0, answered=False)  # a network error teaches nothing
    assert window.margin() < 0.21


def test_jittery_round_trips_widen_the_window_and_keep_telegram_within_30() -> None:
    rng = random.Random(3)

    def round_trip() -> tuple[float, float]:  # 100-400 ms, the way there as jittery
        there = 0.05 + rng.uniform(0, 0.15)
        return there, there + 0.05 + rng.uniform(0, 0.15)

    window = StartWindow(30, 1.0)
    sent = run_flat_out(window, 60.0, round_trip)
    assert window.margin() > 0.2
    assert most_in_one_second([arrival for _, arrival in sent]) <= 30


def test_stalls_every_few_seconds_keep_telegram_within_30_and_are_forgotten_in_10_s() -> None:
    """A busy machine: every 3 s the event loop stalls 200 ms, and the requests started in
    the 50 ms before it reach Telegram only when it ends (their round trips show it). The
    margin remembers each for 10 s, so none bunches 31 arrivals into one second."""
    rng = random.Random(5)
    state = {"now": 0.0}

    def round_trip() -> tuple[float, float]:
        start = state["now"]
        there = 0.05 + rng.uniform(0, 0.005)
        stall_at = (start // 3.0 + 1) * 3.0  # the next stall
        if stall_at - start < 0.05:  # caught by it
            there = stall_at + 0.2 - start + 0.05
        return there, there + 0.05 + rng.uniform(0, 0.005)

    window = StartWindow(30, 1.0)
    original_take = window.take

    def take(now: float) -> Any:
        state["now"] = now
        return original_take(now)

    window.take = take  # type: ignore[method-assign]
    sent = run_flat_out(window, 60.0, round_trip)
    assert most_in_one_second([arrival for _, arrival in sent]) <= 30
    steady = [s for s in sent if s[0] >= 5.0]
    assert len(steady) / 55.0 >= 0.75 * 30  # the margin follows the stalls: ~250 ms
    # Quiet again: 10 s after the last stall it is forgotten.
    now = 61.0
    for n in range(12):
        start = now + n
        window.finish(original_take(start), start + 0.1, answered=True)
    assert window.margin() == 0.02


def test_a_request_unanswered_past_its_window_keeps_counting_until_its_answer() -> None:
    window = exact_window(2, burst=2)
    stuck = window.take(0.0)
    window.finish(window.take(0.0), 0.1, answered=True)
    assert window.wait(0.5) > 0
    assert window.in_window(1.5) == 1  # the stuck one still counts
    assert window.wait(1.5) == 0  # one slot of two is free
    window.take(1.5)
    assert window.wait(1.6) > 0  # full: the stuck one and the new one
    window.finish(stuck, 1.7, answered=True)
    assert window.wait(1.7) == 0


def test_starts_are_spread_evenly_after_a_burst_of_three() -> None:
    window = exact_window(30, burst=3)
    now, starts = 0.0, list[float]()
    while len(starts) < 10:
        wait = window.wait(now)
        if wait:
            now += wait
            continue
        window.take(now)
        starts.append(now)
    assert starts[:3] == [0.0, 0.0, 0.0]
    gaps = [b - a for a, b in itertools.pairwise(starts[2:])]
    assert all(abs(gap - 1 / 30) < 1e-6 for gap in gaps)


# -- priorities (fake time) ---------------------------------------------------------------


async def test_waiting_requests_are_served_highest_priority_first() -> None:
    clock = FakeClock()
    pause = Pause(clock)
    budget = Budget(exact_window(1), pause, clock=clock, sleep=clock.sleep)
    pause.extend(2)  # everyone queues; then one slot a second
    served: list[str] = []

    async def request(level: Priority, name: str) -> None:
        ticket = await budget.acquire(level)
        served.append(name)
        budget.release(ticket, answered=True)

    # Queued in this order: broadcasts first, the reply last.
    names = [
        (Priority.BROADCAST, "broadcast 1"),
        (Priority.BROADCAST, "broadcast 2"),
        (Priority.REMINDER, "reminder"),
        (Priority.BROADCAST, "broadcast 3"),
        (Priority.ALERT, "alert"),
        (Priority.REPLY, "reply"),
    ]
    await asyncio.gather(*(request(level, name) for level, name in names))
    assert served == ["reply", "alert", "reminder", "broadcast 1", "broadcast 2", "broadcast 3"]
    assert budget.granted[Priority.BROADCAST] == 3


async def test_a_reply_arriving_during_a_broadcast_backlog_takes_the_next_slot() -> None:
    clock = FastClock()
    budget = Budget(exact_window(10), Pause(clock), clock=clock, sleep=clock.sleep)
    served: list[tuple[str, float]] = []
    draining = asyncio.Event()

    async def request(level: Priority, name: str) -> None:
        ticket = await budget.acquire(level)
        served.append((name, clock()))
        if len(served) == 15:
            draining.set()
        budget.release(ticket, answered=True)

    backlog = [asyncio.create_task(request(Priority.BROADCAST, f"b{i}")) for i in range(40)]
    await draining.wait()  # the backlog is draining at 10 a second
    asked = clock()
    await request(Priority.REPLY, "reply")
    replied = next(at for name, at in served if name == "reply")
    # The next slot (one every 0.1 s), not the backlog's end (over 2 s away); the bound leaves
    # room for a loaded machine's wake-ups, which this clock magnifies tenfold.
    assert replied - asked <= 0.5
    after = [name for name, at in served if at > asked]
    assert after[0] == "reply"
    assert budget.waiting(Priority.BROADCAST) > 10  # broadcasts were still queued
    await asyncio.gather(*backlog)
    # With only broadcasts waiting, they got every slot: 10 a second (8 allows for late
    # wake-ups on a loaded machine; slots withheld would show as 5 or fewer).
    times = [at for name, at in served if name != "reply"]
    assert (len(times) - 1) / (times[-1] - times[0]) >= 8.0


# -- the middleware: 429 pauses every priority; callback answers take no slot ----------------


class Server:
    def __init__(self, clock: FastClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, TelegramMethod[Any]]] = []
        self.refuse: TelegramMethod[Any] | None = None
        self.refused = asyncio.Event()

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls.append((self.clock(), method))
        if method is self.refuse:
            self.refuse = None
            self.refused.set()
            raise TelegramRetryAfter(method, "Too Many Requests: retry after 2", 2)
        await asyncio.sleep(0.005)
        return True


async def test_a_429_pauses_senders_of_every_priority() -> None:
    clock = FastClock()
    limiter = RateLimitMiddleware(clock=clock, sleep=clock.sleep)
    server = Server(clock)
    first = SendMessage(chat_id=1, text="x")
    server.refuse = first
    with priority(Priority.BROADCAST):
        refused = asyncio.create_task(limiter(server, BOT, first))
    await server.refused.wait()
    got_429 = clock()

    async def send(level: Priority, chat: int) -> float:
        with priority(level):
            method = SendMessage(chat_id=chat, text="x")
            await limiter(server, BOT, method)
        return next(at for at, m in server.calls if m is method)

    times = await asyncio.gather(*(send(level, 10 + level) for level in Priority))
    await refused
    assert all(at - got_429 >= 1.9 for at in times)


async def test_callback_answers_take_no_slot() -> None:
    clock = FastClock()
    limiter = RateLimitMiddleware(per_second=2, clock=clock, sleep=clock.sleep)
    server = Server(clock)
    start = clock()
    for chat in range(2):  # the budget is full for a second
        await limiter(server, BOT, SendMessage(chat_id=chat, text="x"))
    answer = AnswerCallbackQuery(callback_query_id="1")
    await limiter(server, BOT, answer)
    [answered] = [at for at, m in server.calls if m is answer]
    assert answered - start < 0.5
    assert limiter.budget.granted[Priority.REPLY] == 2


async def test_a_stalled_event_loop_widens_the_window_at_once() -> None:
    clock = FakeClock()
    window = StartWindow(30, 1.0)
    for n in range(8):  # steady round trips: the margin is its floor
        window.finish(window.take(float(n)), n + 0.1, answered=True)
    assert window.margin() == 0.02
    slept = False

    async def stalled_sleep(seconds: float) -> None:
        nonlocal slept
        clock.now += seconds + (0 if slept else 0.3)  # the first wake-up is 300 ms late
        slept = True
        await asyncio.sleep(0)

    budget = Budget(window, Pause(clock), clock=clock, sleep=stalled_sleep)
    clock.now = 100.0
    tickets = [await budget.acquire(Priority.BROADCAST) for _ in range(5)]
    assert window.margin() > 0.29  # learnt from the late wake-up, not from answers
    for ticket in tickets:
        budget.release(ticket, answered=False)
    clock.now += 9
    assert window.margin() > 0.29  # still remembered 9 s on
    clock.now += 2  # 10 s later it is forgotten, with the round trips of then
    for n in range(8):
        start = clock.now + n
        window.finish(window.take(start), start + 0.1, answered=True)
    assert window.margin() == 0.02
