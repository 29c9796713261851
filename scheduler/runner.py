"""One pass over what is due: claim rows in small batches, hand each to its handler, record.

At most `max_in_flight` rows are claimed ('sending') at any moment: that bounds both the
memory a pass uses and the duplicates a crash can cause (rows Telegram accepted but we
had not yet marked). A row is marked sent right after its own send, in its own short
transaction, never batched, so the window between "accepted" and "recorded" is one
local write.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from aiogram.exceptions import ClientDecodeError, TelegramAPIError

from core.priority import Priority, priority
from db import scheduled, users
from db.scheduled import ScheduledItem
from scheduler.context import Delivery
from scheduler.errors import SEND_ERRORS, backoff_seconds, classify
from scheduler.outcomes import Drop, Postpone, Retry, Sent
from scheduler.pacing import EngineStopping

if TYPE_CHECKING:
    from scheduler.engine import Engine

log = logging.getLogger(__name__)

# A retry is never sooner than this: a handler answering Retry(at=now) must not spin.
MIN_RETRY = timedelta(seconds=1)
# A bookkeeping write that meets a locked or full database is tried again after these pauses;
# if it still fails, the row stays 'sending' until `STALE_AFTER` and is then recovered.
BOOKKEEPING_PAUSES = (0.2, 0.5, 1.0, 2.0, 5.0)
STALE_AFTER = timedelta(minutes=2)

T = TypeVar("T")


@dataclass
class RunReport:
    """What one pass (or, as Engine.counters, the whole run) did."""

    claimed: int = 0
    sent: int = 0
    dropped: int = 0
    failed: int = 0
    retried: int = 0
    postponed: int = 0
    released: int = 0
    late: int = 0  # handed over later than SCHEDULER_LATE_AFTER_SECONDS
    ambiguous: int = 0  # network errors after which the message may have arrived anyway
    unreachable: int = 0

    def add(self, other: RunReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def summary(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


class DueRunner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = asyncio.Lock()  # one pass at a time (the timer's and a direct call)
        self._in_flight: set[asyncio.Task[None]] = set()
        self.processing: set[int] = set()  # ids of the rows this process is working on
        self.peak_in_flight = 0
        # Event-loop times for GET /health: when the running pass began (None: no pass
        # running) and when it last got anywhere (claimed or finished an item).
        self.pass_started: float | None = None
        self.last_progress: float | None = None
        # The engine's time when the running pass began: what it claims while working
        # through a backlog is queued, not late (Delivery.queued).
        self.pass_began_at: datetime | None = None

    def cancel_in_flight(self) -> None:
        """Last resort at shutdown: their rows stay 'sending' and are recovered at next start."""
        for task in self._in_flight:
            task.cancel()

    async def run_due(self, now: datetime | None = None) -> RunReport:
        """Process every item due at `now` (default: the engine's clock, re-read as time passes)."""
        engine = self.engine
        report = RunReport()
        loop = asyncio.get_running_loop()
        async with self.lock:
            self.pass_started = self.last_progress = loop.time()
            self.pass_began_at = now or engine.now()
            try:
                await self._pass(now, report)
            finally:
                self.pass_started = self.pass_began_at = None
        engine.counters.add(report)
        if report.claimed:
            log.info("Scheduler pass: %s", report.summary())
        return report

    async def _pass(self, now: datetime | None, report: RunReport) -> None:
        engine = self.engine
        loop = asyncio.get_running_loop()
        await self._recover_stale()
        tasks = self._in_flight
        while True:
            room = engine.config.max_in_flight - len(tasks)
            if room > 0 and not engine.stopping.is_set():
                items = await scheduled.claim_due(engine.db, now or engine.now(), room)
                report.claimed += len(items)
                for item in items:
                    tasks.add(asyncio.create_task(self._process_safely(item, now, report)))
                self.peak_in_flight = max(self.peak_in_flight, len(tasks))
            if not tasks:
                break
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            tasks -= done
            self.last_progress = loop.time()

    async def process_now(self, item: ScheduledItem) -> RunReport:
        """Handle one item a feature claimed itself (`Engine.deliver_now`), outside a pass."""
        report = RunReport()
        await self._process_safely(item, None, report)
        self.engine.counters.add(report)
        return report

    async def _recover_stale(self) -> None:
        engine = self.engine
        try:
            recovered = await scheduled.recover_stale(
                engine.db, engine.now() - STALE_AFTER, self.processing
            )
        except sqlite3.Error as exc:
            log.warning("Scheduler could not look for stranded items: %s", type(exc).__name__)
            return
        if recovered:
            log.warning("Recovered %d scheduled items stranded in flight", recovered)

    async def _process_safely(
        self, item: ScheduledItem, fixed_now: datetime | None, report: RunReport
    ) -> None:
        self.processing.add(item.id)
        try:
            await self._process(item, fixed_now, report)
        except Exception:
            # Our own bookkeeping failed even after its retries (database gone?): the row
            # stays 'sending' and a later pass recovers it after STALE_AFTER.
            log.exception("Scheduler could not record item %d", item.id)
        finally:
            self.processing.discard(item.id)

    async def _bookkeeping(self, write: Callable[[], Awaitable[T]]) -> T:
        """A write about an item, retried a few times when the database is locked or full."""
        for pause in BOOKKEEPING_PAUSES:
            try:
                return await write()
            except sqlite3.OperationalError as exc:
                log.warning(
                    "Scheduler bookkeeping failed (%s); trying again in %.1fs",
                    type(exc).__name__,
                    pause,
                )
                await asyncio.sleep(pause)
        return await write()

    async def _process(
        self, item: ScheduledItem, fixed_now: datetime | None, report: RunReport
    ) -> None:
        engine = self.engine

        def now() -> datetime:
            return fixed_now or engine.now()

        handler = engine.handlers.get(item.kind)
        if handler is None:
            log.error("No handler registered for kind %r (item %d): failed", item.kind, item.id)
            await self._fail(item, "no_handler", now(), report)
            return
        try:
            async with engine.pacer.turn(item.recipient_id):
                delivery = await self._delivery(item, now())
                if delivery.late:
                    report.late += 1
                with priority(engine.priorities.get(item.kind, Priority.REMINDER)):
                    outcome = await handler(item, delivery)
        except EngineStopping:
            await self._bookkeeping(lambda: scheduled.release(engine.db, item.id))
            report.released += 1
        except SEND_ERRORS as exc:
            await self._telegram_error(item, exc, now(), report)
        except Exception:
            log.exception("Handler for %r failed on item %d", item.kind, item.id)
            await self._handler_error(item, now(), report)
        else:
            await self._record(item, outcome, now(), report)

    async def _delivery(self, item: ScheduledItem, now: datetime) -> Delivery:
        engine = self.engine
        settings = engine.settings
        person = await users.get(engine.db, item.recipient_id)
        return Delivery(
            item=item,
            bot=engine.bot,
            db=engine.db,
            i18n=engine.i18n,
            settings=settings,
            engine=engine,
            now=now,
            language=(person.language if person and person.language else None)
            or settings.default_language,
            zone=settings.zone_for(person.timezone if person else None),
            pacer=engine.pacer,
            pass_began_at=self.pass_began_at,
        )

    async def _record(
        self,
        item: ScheduledItem,
        outcome: object,  # an Outcome unless the handler has a bug: checked here
        now: datetime,
        report: RunReport,
    ) -> None:
        db = self.engine.db
        scrub = item.kind in self.engine.scrubbed_kinds
        match outcome:
            case Sent():
                await self._bookkeeping(lambda: scheduled.mark_sent(db, item.id, now, scrub=scrub))
                report.sent += 1
            case Drop(reason=reason):
                await self._bookkeeping(
                    lambda: scheduled.mark_dropped(db, item.id, reason, now, scrub=scrub)
                )
                report.dropped += 1
            case Retry(at=at, reason=reason):
                await self._bookkeeping(
                    lambda: scheduled.retry_at(db, item.id, max(at, now + MIN_RETRY), reason)
                )
                report.retried += 1
            case Postpone(until=until, reason=reason):
                await self._bookkeeping(
                    lambda: scheduled.postpone(db, item.id, max(until, now + MIN_RETRY), reason)
                )
                report.postponed += 1
            case _:
                log.error(
                    "Handler for %r returned a %s, not an Outcome",
                    item.kind,
                    type(outcome).__name__,
                )
                await self._handler_error(item, now, report)

    async def _fail(
        self, item: ScheduledItem, reason: str, now: datetime, report: RunReport
    ) -> None:
        """Mark it failed, then let its feature react (tell the sender, escalate an alert)."""
        engine = self.engine
        scrub = item.kind in engine.scrubbed_kinds
        await self._bookkeeping(
            lambda: scheduled.mark_failed(engine.db, item.id, reason, now, scrub=scrub)
        )
        report.failed += 1
        hook = engine.failure_hooks.get(item.kind)
        if hook is not None:
            try:
                await hook(item, reason)
            except Exception:
                log.exception("The failure hook of %r failed on item %d", item.kind, item.id)

    async def _telegram_error(
        self,
        item: ScheduledItem,
        exc: TelegramAPIError | ClientDecodeError,
        now: datetime,
        report: RunReport,
    ) -> None:
        engine = self.engine
        verdict = classify(exc)
        if verdict.ambiguous:
            report.ambiguous += 1
        if verdict.retry:
            wait = verdict.retry_after
            if wait is None:
                cfg = engine.config
                wait = backoff_seconds(item.attempts, cfg.backoff_base, cfg.backoff_cap)
            log.warning(
                "Item %d (%s) not sent (%s, attempt %d); retrying in %.0fs",
                item.id,
                item.kind,
                verdict.reason,
                item.attempts,
                wait,
            )
            due = now + max(timedelta(seconds=wait), MIN_RETRY)
            await self._bookkeeping(
                lambda: scheduled.retry_at(engine.db, item.id, due, verdict.reason)
            )
            report.retried += 1
            return
        # Telegram's description can echo parts of the message (entity errors): never logged.
        log.warning("Item %d (%s) failed: %s", item.id, item.kind, verdict.reason)
        await self._fail(item, verdict.reason, now, report)
        if verdict.unreachable is not None:
            report.unreachable += 1
            await engine.notify_unreachable(item.recipient_id, verdict.unreachable)

    async def _handler_error(self, item: ScheduledItem, now: datetime, report: RunReport) -> None:
        """A bug or a passing fault (database busy) in the handler: a few retries, then failed."""
        engine = self.engine
        cfg = engine.config
        if item.attempts < cfg.max_handler_errors:
            wait = backoff_seconds(item.attempts, cfg.backoff_base, cfg.backoff_cap)
            due = now + timedelta(seconds=wait)
            await self._bookkeeping(
                lambda: scheduled.retry_at(engine.db, item.id, due, "handler_error")
            )
            report.retried += 1
        else:
            await self._fail(item, "handler_error", now, report)
