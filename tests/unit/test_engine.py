"""Engine paths that need no Telegram: escaped 429s, handler bugs, unknown kinds, classification."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.i18n import create_i18n
from db import scheduled
from db.database import Database
from db.scheduled import ScheduledItem, Status
from scheduler.context import Delivery
from scheduler.engine import Engine, EngineConfig
from scheduler.errors import backoff_seconds, classify
from scheduler.outcomes import SENT, Outcome, Postpone, Retry
from scheduler.settings import EngineSettings

T0 = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
METHOD = SendMessage(chat_id=1, text="x")
Handler = Callable[[ScheduledItem, Delivery], Awaitable[Outcome]]


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    bot = Bot("123456:TEST")  # never called: these handlers do not send
    yield Engine(
        db=db,
        bot=bot,
        i18n=create_i18n("kk"),
        settings=EngineSettings(),
        config=EngineConfig(max_handler_errors=2),
        clock=lambda: T0,  # an injected clock
    )
    await bot.session.close()


def raising(exc: Exception) -> Handler:
    async def handler(item: ScheduledItem, delivery: Delivery) -> Outcome:
        raise exc

    return handler


async def state(db: Database, item_id: int | None) -> scheduled.ItemState:
    assert item_id is not None
    found = await scheduled.get(db, item_id)
    assert found is not None
    return found


async def test_an_escaped_429_waits_retry_after_not_the_backoff(engine: Engine) -> None:
    engine.register("k", raising(TelegramRetryAfter(METHOD, "Too Many Requests", 42)))
    item_id = await engine.schedule("k", 1, T0)
    assert (await engine.run_due()).retried == 1
    found = await state(engine.db, item_id)
    assert (found.status, found.item.due_at, found.last_error) == (
        Status.PENDING,
        T0 + timedelta(seconds=42),
        "retry_after",
    )


async def test_a_bad_request_fails_and_is_not_retried(engine: Engine) -> None:
    engine.register("k", raising(TelegramBadRequest(METHOD, "Bad Request: chat not found")))
    item_id = await engine.schedule("k", 1, T0)
    assert (await engine.run_due()).failed == 1
    assert (await state(engine.db, item_id)).last_error == "bad_request"


async def test_a_handler_bug_is_retried_a_few_times_then_failed(engine: Engine) -> None:
    engine.register("k", raising(RuntimeError("bug")))
    item_id = await engine.schedule("k", 1, T0)
    assert (await engine.run_due()).retried == 1
    assert (await engine.run_due(now=T0 + timedelta(minutes=1))).failed == 1
    found = await state(engine.db, item_id)
    assert (found.status, found.last_error, found.item.attempts) == (
        Status.FAILED,
        "handler_error",
        2,
    )


async def test_a_handler_that_returns_no_outcome_is_treated_as_a_bug(engine: Engine) -> None:
    async def forgetful(item: ScheduledItem, delivery: Delivery) -> Outcome:
        return None  # type: ignore[return-value]

    engine.register("k", forgetful)
    item_id = await engine.schedule("k", 1, T0)
    assert (await engine.run_due()).retried == 1
    assert (await state(engine.db, item_id)).last_error == "handler_error"


async def test_retry_and_postpone_never_spin_and_postpone_moves_the_promise(
    engine: Engine,
) -> None:
    async def decide(item: ScheduledItem, delivery: Delivery) -> Outcome:
        if item.payload["how"] == "retry":
            return Retry(T0 - timedelta(hours=1), "not_yet")  # in the past: clamped
        return Postpone(T0 + timedelta(hours=2), "quiet_hours")

    engine.register("k", decide)
    retried = await engine.schedule("k", 1, T0, {"how": "retry"})
    postponed = await engine.schedule("k", 2, T0, {"how": "postpone"})
    report = await engine.run_due()
    assert (report.claimed, report.retried, report.postponed) == (2, 1, 1)
    r = await state(engine.db, retried)
    p = await state(engine.db, postponed)
    assert r.item.due_at == T0 + timedelta(seconds=1)
    assert (p.item.due_at, p.item.intended_at) == (T0 + timedelta(hours=2),) * 2


async def test_an_item_of_an_unknown_kind_fails_and_scheduling_one_is_refused(
    engine: Engine,
) -> None:
    with pytest.raises(ValueError, match="no handler"):
        await engine.schedule("nobody", 1, T0)
    item_id = await scheduled.schedule(engine.db, kind="gone", recipient_id=1, due_at=T0, now=T0)
    assert (await engine.run_due()).failed == 1
    assert (await state(engine.db, item_id)).last_error == "no_handler"
    engine.register("k", raising(RuntimeError()))
    with pytest.raises(ValueError, match="already registered"):
        engine.register("k", raising(RuntimeError()))


async def test_a_delivery_knows_the_recipients_language_zone_and_lateness(engine: Engine) -> None:
    seen: list[Delivery] = []

    async def look(item: ScheduledItem, delivery: Delivery) -> Outcome:
        seen.append(delivery)
        return SENT

    await engine.db.execute(
        "INSERT INTO users (telegram_id, language, timezone, created_at, updated_at) "
        "VALUES (5, 'ru', 'Asia/Aqtobe', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
    )
    engine.register("k", look)
    await engine.schedule("k", 5, T0 - timedelta(minutes=10))
    await engine.schedule("k", 6, T0)  # no users row: the defaults
    await engine.run_due()
    known, unknown = sorted(seen, key=lambda d: d.item.recipient_id)
    assert (known.language, str(known.zone)) == ("ru", "Asia/Aqtobe")
    assert (unknown.language, str(unknown.zone)) == ("kk", "Asia/Almaty")
    assert known.late
    assert known.lateness == timedelta(minutes=10)
    # 05:50 UTC is 10:50 in Aqtobe (UTC+5), in Russian.
    assert "10:50" in known.late_note()
    assert known.late_note().startswith("⏰ Это сообщение пришло с опозданием")
    assert unknown.late_note() == ""


def test_telegram_errors_are_classified() -> None:
    blocked = classify(TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"))
    assert (blocked.retry, blocked.unreachable, blocked.reason) == (
        False,
        "blocked",
        "forbidden:blocked",
    )
    server = classify(TelegramServerError(METHOD, "Internal Server Error"))
    assert (server.retry, server.ambiguous) == (True, False)
    lost = classify(TelegramNetworkError(METHOD, "ServerDisconnectedError"))
    assert (lost.retry, lost.ambiguous) == (True, True)
    refused_error = TelegramNetworkError(METHOD, "ClientConnectorError")
    refused_error.__cause__ = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
        OSError(111, "refused"),
    )
    refused = classify(refused_error)
    assert (refused.retry, refused.ambiguous) == (True, False)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 5, 300) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert backoff_seconds(10_000, 5, 300) == 300


def test_an_undecodable_answer_is_a_server_error_to_retry() -> None:
    """A proxy's HTML 502 reaches aiogram as a decode error, not a TelegramServerError."""
    proxy = classify(ClientDecodeError("Failed to decode object", ValueError(), "<html>"))
    assert (proxy.retry, proxy.reason) == (True, "server_error")


async def test_a_locked_database_at_bookkeeping_does_not_strand_the_row(
    engine: Engine, db: Database
) -> None:
    """F9: a transient lock right after the send left the row 'sending' until a restart."""
    other = Database(db.path, busy_timeout_ms=0)
    await other.connect()
    sent: list[int] = []

    async def handler(item: ScheduledItem, delivery: Delivery) -> Outcome:
        sent.append(item.id)
        # Another process (a CLI import, a backup) takes the write lock right after the send.
        await other.writer.execute("BEGIN IMMEDIATE")

        async def release() -> None:
            await asyncio.sleep(0.5)
            await other.writer.execute("ROLLBACK")

        asyncio.get_running_loop().create_task(release())
        return SENT

    engine.register("k", handler)
    await engine.db.writer.execute("PRAGMA busy_timeout=100")
    try:
        item_id = await engine.schedule("k", 1, T0)
        await engine.run_due()
        found = await state(db, item_id)
        assert (found.status, sent) == (Status.SENT, [item_id])
    finally:
        await other.close()


async def test_a_row_stranded_in_flight_is_recovered_by_a_later_pass(engine: Engine) -> None:
    """F9: a row left 'sending' (its bookkeeping failed for good) went out only after a restart."""
    sent: list[int] = []

    async def handler(item: ScheduledItem, delivery: Delivery) -> Outcome:
        sent.append(item.id)
        return SENT

    engine.register("k", handler)
    item_id = await engine.schedule("k", 1, T0)
    await scheduled.claim_due(engine.db, T0, 10)  # claimed by a pass whose bookkeeping then died
    assert (await engine.run_due()).claimed == 0  # too recent to be called stranded
    later = T0 + timedelta(minutes=3)
    engine.clock = lambda: later
    await engine.run_due()
    await engine.run_due()  # the recovered row is due again: sent
    assert sent == [item_id]
    assert (await state(engine.db, item_id)).status is Status.SENT


async def test_failure_hooks_and_scrubbed_payloads(engine: Engine) -> None:
    failures: list[tuple[int, str]] = []

    async def on_failed(item: ScheduledItem, reason: str) -> None:
        failures.append((item.id, reason))

    engine.register(
        "k",
        raising(TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user")),
        on_failed=on_failed,
        scrub_payload=True,
    )
    item_id = await engine.schedule("k", 1, T0, {"client": 7, "name": "Dana"})
    await engine.run_due()
    assert failures == [(item_id, "forbidden:blocked")]
    assert (await state(engine.db, item_id)).item.payload == {}


async def test_deliver_now_sends_in_the_callers_task_and_reports_the_state(engine: Engine) -> None:
    calls: list[str] = []

    async def handler(item: ScheduledItem, delivery: Delivery) -> Outcome:
        calls.append(item.payload["what"])
        if item.payload["what"] == "flaky":
            raise TelegramServerError(METHOD, "Bad Gateway")
        return SENT

    engine.register("k", handler)
    await engine.schedule("k", 1, T0 + timedelta(hours=1), {"what": "ok"}, dedupe_key="a")
    await engine.schedule("k", 2, T0, {"what": "flaky"}, dedupe_key="b")
    ok = await engine.deliver_now("a")  # not due yet: delivered anyway, on request
    flaky = await engine.deliver_now("b")
    assert ok is not None
    assert ok.status is Status.SENT
    assert flaky is not None
    assert (flaky.status, flaky.last_error) == (
        Status.PENDING,
        "server_error",
    )
    again = await engine.deliver_now("a")  # already sent: nothing happens
    assert again is not None
    assert again.status is Status.SENT
    assert calls == ["ok", "flaky"]


async def test_deliver_now_waits_for_the_dispatcher_sending_the_same_row(engine: Engine) -> None:
    """After a restart the dispatcher may be sending a recovered message when its replayed
    update asks for it: the sender hears "delivered", not "still trying"."""
    release = asyncio.Event()
    sending = asyncio.Event()

    async def slow(item: ScheduledItem, delivery: Delivery) -> Outcome:
        sending.set()
        await release.wait()
        return SENT

    engine.register("k", slow)
    await engine.schedule("k", 1, T0, {}, dedupe_key="a")
    dispatcher = asyncio.create_task(engine.run_due(T0))
    await sending.wait()
    asker = asyncio.create_task(engine.deliver_now("a"))
    await asyncio.sleep(0.2)
    assert not asker.done()  # waiting on the dispatcher's answer
    release.set()
    found = await asyncio.wait_for(asker, 5)
    await dispatcher
    assert found is not None
    assert found.status is Status.SENT
