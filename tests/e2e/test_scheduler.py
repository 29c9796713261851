"""The scheduling engine end to end: the real application, its bot session, the fake Bot API.

A tiny kind, "test.greeting", sends the programme's name in the recipient's language.
Most tests schedule items an hour or more ahead of the real clock and drive the engine
with `run_due(now=...)`: the engine's own timer never sees them as due, so the test
alone decides when time passes. Others let the real timer fire.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import Application
from db import scheduled
from db.clock import utcnow
from db.database import Database
from db.scheduled import ScheduledItem, Status
from emulator import FakeBotAPI, FakeUser
from scheduler.context import Delivery
from scheduler.engine import Engine, EngineConfig
from scheduler.outcomes import SENT, Drop, Outcome
from tests.harness import BotUnderTest, start_bot

KIND = "test.greeting"
GREETING = {
    "kk": "«Сен қоғамға керексің!»",
    "ru": "«Ты нужен обществу!»",
    "en": "«Society needs you!»",
}
LATE = {"kk": "⏰ Бұл хабарлама кешігіп келді", "en": "⏰ This message is late"}


@dataclass
class Call:
    item_id: int
    late: bool
    lateness: timedelta
    language: str
    finished: float  # time.monotonic() after the send returned


@dataclass
class Greeter:
    """The test kind's handler, recording what the engine handed it."""

    calls: list[Call] = field(default_factory=list)
    unreachable: list[tuple[int, str]] = field(default_factory=list)

    async def __call__(self, item: ScheduledItem, delivery: Delivery) -> Outcome:
        if item.payload.get("drop_if_late") and delivery.late:
            return Drop("too_late")
        text = f"{delivery.gettext('«Society needs you!»')} #{item.payload.get('n', item.id)}"
        note = delivery.late_note()
        await delivery.send_message(f"{text}\n{note}" if note else text)
        self.calls.append(
            Call(item.id, delivery.late, delivery.lateness, delivery.language, time.monotonic())
        )
        return SENT

    async def on_unreachable(self, user_id: int, reason: str) -> None:
        self.unreachable.append((user_id, reason))

    def prepare(self, app: Application) -> None:
        app.engine.register(KIND, self)
        app.engine.on_unreachable(self.on_unreachable)


@pytest.fixture
def greeter() -> Greeter:
    return Greeter()


@pytest.fixture
async def bot_app(api: FakeBotAPI, tmp_path: Path, greeter: Greeter) -> AsyncIterator[BotUnderTest]:
    async with start_bot(api, tmp_path, prepare=greeter.prepare) as running:
        yield running


def engine_of(app: BotUnderTest) -> Engine:
    return app.app.engine


def ahead(hours: float = 1) -> datetime:
    """A moment the engine's own timer will not reach during the test."""
    return utcnow() + timedelta(hours=hours)


def greetings(person: FakeUser, n: int | str) -> list[str]:
    return [m.text or "" for m in person.bot_messages if m.body.find(f"#{n}") > 0]


async def item_state(db: Database, item_id: int | None) -> scheduled.ItemState:
    assert item_id is not None
    state = await scheduled.get(db, item_id)
    assert state is not None
    return state


async def test_an_item_is_sent_at_its_due_time_in_the_recipients_language(
    bot_app: BotUnderTest, greeter: Greeter
) -> None:
    person = await bot_app.client(201, "kk")
    engine = engine_of(bot_app)
    assert bot_app.app.dp["engine"] is engine  # update handlers schedule through it
    due = ahead()
    item_id = await engine.schedule(KIND, 201, due, {"n": 1})

    assert (await engine.run_due(now=due - timedelta(seconds=1))).claimed == 0
    assert greetings(person, 1) == []

    report = await engine.run_due(now=due)
    assert (report.claimed, report.sent) == (1, 1)
    assert greetings(person, 1) == [f"{GREETING['kk']} #1"]
    state = await item_state(bot_app.db, item_id)
    assert (state.status, state.sent_at, state.item.attempts) == (Status.SENT, due, 1)
    assert greeter.calls[0].late is False
    assert greeter.calls[0].language == "kk"


async def test_the_engine_wakes_by_itself_when_an_item_falls_due(bot_app: BotUnderTest) -> None:
    person = await bot_app.client(202, "ru")
    engine = engine_of(bot_app)
    assert engine.running
    item_id = await engine.schedule(KIND, 202, utcnow() + timedelta(seconds=1), {"n": 2})
    message = await person.wait_for("#2", timeout=5)
    assert message.text == f"{GREETING['ru']} #2"
    await asyncio.sleep(0.1)  # the row is marked right after Telegram's answer
    assert (await item_state(bot_app.db, item_id)).status is Status.SENT


async def test_the_clock_can_be_moved_with_time_machine(bot_app: BotUnderTest) -> None:
    person = await bot_app.client(203, "en")
    engine = engine_of(bot_app)
    due = ahead(hours=5)
    await engine.schedule(KIND, 203, due, {"n": 3})
    with time_machine.travel(due + timedelta(seconds=2), tick=True):
        assert engine.now() >= due
        report = await engine.run_due()
    assert report.sent == 1
    assert greetings(person, 3) == [f"{GREETING['en']} #3"]


async def test_a_restart_in_the_middle_neither_loses_nor_repeats_an_item(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    first_due, second_due = ahead(1), ahead(2)
    first, second = Greeter(), Greeter()
    async with start_bot(api, tmp_path, prepare=first.prepare) as running:
        person = await running.client(204, "en")
        engine = engine_of(running)
        await engine.schedule(KIND, 204, first_due, {"n": "a"}, dedupe_key="restart:a")
        await engine.schedule(KIND, 204, second_due, {"n": "b"}, dedupe_key="restart:b")
        assert (await engine.run_due(now=first_due)).sent == 1

    async with start_bot(api, tmp_path, prepare=second.prepare) as running:
        engine = engine_of(running)
        assert engine.recovered == 0
        # Scheduling again after the restart (features re-derive their plans) changes nothing.
        assert (
            await engine.schedule(KIND, 204, first_due, {"n": "a"}, dedupe_key="restart:a") is None
        )
        assert (await engine.run_due(now=first_due + timedelta(minutes=1))).claimed == 0
        assert (await engine.run_due(now=second_due)).sent == 1
        assert (await engine.run_due(now=second_due + timedelta(hours=1))).claimed == 0

    assert len(greetings(person, "a")) == 1
    assert len(greetings(person, "b")) == 1
    assert [c.item_id for c in first.calls + second.calls] == [1, 2]


async def test_a_row_left_sending_by_a_crash_is_recovered_and_sent_once(
    api: FakeBotAPI, tmp_path: Path, greeter: Greeter
) -> None:
    async with start_bot(api, tmp_path, prepare=greeter.prepare) as running:
        person = await running.client(205, "en")
    # What a kill -9 between claim and send leaves behind.
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    item_id = await scheduled.schedule(
        db, kind=KIND, recipient_id=205, due_at=utcnow(), now=utcnow(), payload={"n": 5}
    )
    assert len(await scheduled.claim_due(db, utcnow(), 10)) == 1
    await db.close()

    async with start_bot(api, tmp_path, prepare=greeter.prepare) as running:
        assert engine_of(running).recovered == 1
        await person.wait_for("#5", timeout=5)  # the start-up pass sends it at once
        await asyncio.sleep(0.1)
        state = await item_state(running.db, item_id)
        assert (state.status, state.item.attempts) == (Status.SENT, 2)
    assert len(greetings(person, 5)) == 1


async def test_overdue_items_are_flagged_late_and_the_handler_decides(
    bot_app: BotUnderTest, greeter: Greeter
) -> None:
    person = await bot_app.client(206, "kk")
    engine = engine_of(bot_app)
    # Half a minute behind (a busy minute) is not late for a person.
    due = ahead()
    await engine.schedule(KIND, 206, due, {"n": "slight"})
    await engine.run_due(now=due + timedelta(seconds=30))
    call = greeter.calls[-1]
    assert (call.late, call.lateness) == (False, timedelta(seconds=30))
    [slight_text] = greetings(person, "slight")
    assert LATE["kk"] not in slight_text

    # Two hours behind (the bot was down; SCHEDULER_LATE_AFTER_SECONDS defaults to 300):
    # one handler sends with the note, the other drops what no longer makes sense.
    late_due = ahead(3)
    late_one = await engine.schedule(KIND, 206, late_due, {"n": "late"})
    late_drop = await engine.schedule(KIND, 206, late_due, {"n": "gone", "drop_if_late": True})
    report = await engine.run_due(now=late_due + timedelta(hours=2))
    assert (report.sent, report.dropped, report.late) == (1, 1, 2)
    call = greeter.calls[-1]
    assert (call.item_id, call.late, call.lateness) == (late_one, True, timedelta(hours=2))
    [late_text] = greetings(person, "late")
    assert LATE["kk"] in late_text
    # when it was due, behind a label, in words and 24-hour time: «…: бүгін сағат 06:44.»
    assert re.search(r"Жоспарланған уақыты: (бүгін|кеше) сағат \d\d:\d\d\.$", late_text)
    dropped = await item_state(bot_app.db, late_drop)
    assert (dropped.status, dropped.last_error) == (Status.DROPPED, "too_late")
    assert greetings(person, "gone") == []


async def test_a_wait_in_the_engines_own_queue_is_not_lateness(
    bot_app: BotUnderTest, greeter: Greeter
) -> None:
    """The national morning: thousands due at 09:00 take Telegram's 30/s a quarter of an
    hour. Claimed at 09:12 by the pass that began at 09:00 and has been sending ever since,
    a reminder is on time for its reader. One that failed first (an outage), or that no
    pass reached in time (the bot was down), is late and says so."""
    person = await bot_app.client(207, "en")
    engine = engine_of(bot_app)
    engine.config = replace(engine.config, max_in_flight=1)  # the queue: one at a time
    due = ahead()
    release = asyncio.Event()
    original = greeter.__call__

    async def slow_first(item: ScheduledItem, delivery: Delivery) -> Outcome:
        if item.payload.get("n") == "ahead":
            await release.wait()  # the backlog ahead of ours
        return await original(item, delivery)

    engine.handlers[KIND] = slow_first
    await engine.schedule(KIND, 207, due, {"n": "ahead"})
    await engine.schedule(KIND, 207, due + timedelta(seconds=1), {"n": "queued"})
    with time_machine.travel(due + timedelta(seconds=1), tick=False) as traveller:
        working = asyncio.create_task(engine.run_due())  # a pass begins on time
        await asyncio.sleep(0.2)
        traveller.shift(timedelta(minutes=12))
        release.set()
        await working
    call = greeter.calls[-1]
    assert (call.late, call.lateness) == (False, timedelta(minutes=12))
    [queued_text] = greetings(person, "queued")
    assert LATE["en"] not in queued_text

    # The same wait after a failed try is an outage's: late.
    retried = await engine.schedule(KIND, 207, due, {"n": "retried"})
    await bot_app.db.execute("UPDATE scheduled_items SET attempts = 1 WHERE id = ?", (retried,))
    # No pass reached it in time (the bot was down): late.
    await engine.schedule(KIND, 207, due, {"n": "down"})
    await engine.run_due(now=due + timedelta(minutes=12))
    assert [c.late for c in greeter.calls[-2:]] == [True, True]
    assert LATE["en"] in greetings(person, "retried")[0]
    assert LATE["en"] in greetings(person, "down")[0]


@pytest.mark.parametrize(
    ("make_unreachable", "reason"),
    [
        (FakeUser.block_bot, "blocked"),
        (FakeUser.deactivate, "deactivated"),
        (None, "not_started"),
    ],
)
async def test_a_forbidden_recipient_fails_the_item_and_calls_the_unreachable_hook(
    bot_app: BotUnderTest, greeter: Greeter, make_unreachable: object, reason: str
) -> None:
    if make_unreachable is None:
        bot_app.user(207)  # exists in Telegram but never pressed Start
    else:
        person = await bot_app.client(207, "en")
        make_unreachable(person)  # type: ignore[operator]
    engine = engine_of(bot_app)
    due = ahead()
    item_id = await engine.schedule(KIND, 207, due)
    report = await engine.run_due(now=due)
    assert (report.failed, report.unreachable) == (1, 1)
    state = await item_state(bot_app.db, item_id)
    assert (state.status, state.last_error) == (Status.FAILED, f"forbidden:{reason}")
    assert greeter.unreachable == [(207, reason)]


async def test_server_errors_are_retried_with_backoff_and_delivered_once(
    bot_app: BotUnderTest,
) -> None:
    person = await bot_app.client(208, "en")
    engine = engine_of(bot_app)
    due = ahead()
    item_id = await engine.schedule(KIND, 208, due, {"n": 8})
    bot_app.api.fail_next("sendMessage", 500, count=2)

    assert (await engine.run_due(now=due)).retried == 1
    state = await item_state(bot_app.db, item_id)
    assert (state.status, state.last_error) == (Status.PENDING, "server_error")
    assert state.item.due_at == due + timedelta(seconds=5)  # backoff base
    assert state.item.intended_at == due  # lateness still counts from the promise

    assert (await engine.run_due(now=due + timedelta(seconds=4))).claimed == 0
    assert (await engine.run_due(now=due + timedelta(seconds=5))).retried == 1
    state = await item_state(bot_app.db, item_id)
    assert state.item.due_at == due + timedelta(seconds=15)  # doubled: 5 + 10

    assert (await engine.run_due(now=due + timedelta(seconds=15))).sent == 1
    assert len(greetings(person, 8)) == 1
    state = await item_state(bot_app.db, item_id)
    assert (state.status, state.item.attempts) == (Status.SENT, 3)


async def test_an_unreachable_api_is_retried_until_it_answers(bot_app: BotUnderTest) -> None:
    person = await bot_app.client(209, "en")
    engine = engine_of(bot_app)
    due = ahead()
    item_id = await engine.schedule(KIND, 209, due, {"n": 9})
    # Nothing listens on port 9 (discard): the connection is refused, nothing can arrive.
    real_bot = engine.bot
    engine.bot = Bot(
        real_bot.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")),
    )
    try:
        report = await engine.run_due(now=due)
    finally:
        await engine.bot.session.close()
        engine.bot = real_bot
    assert (report.retried, report.ambiguous) == (1, 0)
    assert (await item_state(bot_app.db, item_id)).last_error == "network"
    assert (await engine.run_due(now=due + timedelta(seconds=5))).sent == 1
    assert len(greetings(person, 9)) == 1


async def test_a_lost_answer_is_retried_and_counted_as_a_possible_duplicate(
    bot_app: BotUnderTest,
) -> None:
    """Telegram delivered, the answer was lost: exactly-once is impossible, so it is counted."""
    person = await bot_app.client(210, "en")
    engine = engine_of(bot_app)
    due = ahead()
    item_id = await engine.schedule(KIND, 210, due, {"n": 10})
    bot_app.api.drop_connection_next("sendMessage")
    report = await engine.run_due(now=due)
    assert (report.retried, report.ambiguous) == (1, 1)
    assert len(greetings(person, 10)) == 1  # it did arrive
    assert (await engine.run_due(now=due + timedelta(seconds=5))).sent == 1
    assert len(greetings(person, 10)) == 2  # the one duplicate a lost answer can cause
    assert (await item_state(bot_app.db, item_id)).status is Status.SENT


async def test_429_retry_after_is_honoured(bot_app: BotUnderTest) -> None:
    person = await bot_app.client(211, "en")
    engine = engine_of(bot_app)
    due = ahead()
    item_id = await engine.schedule(KIND, 211, due, {"n": 11})
    bot_app.api.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    report = await engine.run_due(now=due)
    assert report.sent == 1
    assert time.monotonic() - started >= 1.0  # waited as told, then delivered
    assert [e[1] for e in bot_app.api.errors if e[0] == "sendMessage"] == [429]
    assert len(greetings(person, 11)) == 1
    assert (await item_state(bot_app.db, item_id)).item.attempts == 1


async def test_engine_sends_to_one_chat_are_paced_and_other_chats_are_not_held_up(
    bot_app: BotUnderTest, greeter: Greeter
) -> None:
    busy = await bot_app.client(212, "en")
    other = await bot_app.client(213, "en")
    engine = engine_of(bot_app)
    engine.pacer.interval = EngineConfig().per_chat_interval  # as deployed, not relaxed
    due = ahead()
    busy_ids = [await engine.schedule(KIND, 212, due, {"n": f"busy{i}"}) for i in range(3)]
    other_id = await engine.schedule(KIND, 213, due, {"n": "other"})
    started = time.monotonic()
    assert (await engine.run_due(now=due)).sent == 4

    calls = {c.item_id: c for c in greeter.calls}
    times = [calls[i or 0].finished for i in busy_ids]
    assert times == sorted(times)  # in the order scheduled
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times)), times
    assert calls[other_id or 0].finished - started < 0.9
    assert [m.text for m in busy.bot_messages[-3:]] == [
        f"{GREETING['en']} #busy{i}" for i in range(3)
    ]
    assert len(greetings(other, "other")) == 1


async def test_a_dedupe_key_prevents_double_scheduling(bot_app: BotUnderTest) -> None:
    person = await bot_app.client(214, "en")
    engine = engine_of(bot_app)
    due = ahead()
    first = await engine.schedule(KIND, 214, due, {"n": 14}, dedupe_key="checkin:214:2025-03-14")
    again = await engine.schedule(KIND, 214, due, {"n": 14}, dedupe_key="checkin:214:2025-03-14")
    assert first is not None
    assert again is None
    assert (await engine.run_due(now=due)).sent == 1
    assert len(greetings(person, 14)) == 1


async def test_stopping_releases_items_still_waiting_for_their_chat(
    bot_app: BotUnderTest, greeter: Greeter
) -> None:
    person = await bot_app.client(215, "en")
    engine = engine_of(bot_app)
    engine.pacer.interval = EngineConfig().per_chat_interval  # as deployed, not relaxed
    due = ahead()
    ids = [await engine.schedule(KIND, 215, due, {"n": f"s{i}"}) for i in range(5)]
    run = asyncio.create_task(engine.run_due(now=due))
    await person.wait_for("#s0")
    started = time.monotonic()
    await engine.stop(grace=5)
    assert time.monotonic() - started < 1.0  # nobody waits out the pacing
    report = await run
    assert (report.sent, report.released) == (1, 4)
    states = [await item_state(bot_app.db, i) for i in ids]
    assert [s.status for s in states] == [Status.SENT] + [Status.PENDING] * 4
    assert all(s.item.attempts == 0 for s in states[1:])  # a release is not an attempt


async def test_100k_pending_items_are_rows_not_scheduler_jobs(bot_app: BotUnderTest) -> None:
    engine = engine_of(bot_app)
    start = ahead()
    await bot_app.db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
        "INSERT INTO scheduled_items (kind, recipient_id, intended_at, due_at, created_at) "
        "SELECT 'test.greeting', 300000 + i % 5000, "
        "datetime(:start, '+' || (i * 86400 / 100000) || ' seconds'), "
        "datetime(:start, '+' || (i * 86400 / 100000) || ' seconds'), :start FROM n",
        {"start": start.strftime("%Y-%m-%d %H:%M:%S")},
    )
    assert (await scheduled.counts(bot_app.db))[Status.PENDING] == 100_000
    assert engine.job_count == 2  # the dispatcher and the purge, nothing per item

    started = time.perf_counter()
    report = await engine.run_due(now=start - timedelta(seconds=1))  # nothing due yet
    wake_up = time.perf_counter() - started
    assert report.claimed == 0
    assert wake_up < 0.1, wake_up
    assert await scheduled.next_due(bot_app.db) == start
    assert engine.job_count == 2


def test_utc_strings_sort_like_instants() -> None:
    """The due query compares text: the stored format must order like time itself."""
    a = datetime(2025, 3, 14, 9, 59, 59, tzinfo=UTC)
    b = a + timedelta(seconds=1)
    assert a.strftime("%Y-%m-%d %H:%M:%S") < b.strftime("%Y-%m-%d %H:%M:%S")
