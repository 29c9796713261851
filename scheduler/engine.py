"""The engine's public face: register kinds, schedule and cancel items, start and stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.utils.i18n import I18n

from core.priority import Priority
from db import scheduled
from db.clock import utcnow
from db.database import Database
from db.scheduled import ScheduledItem, Status
from scheduler.context import Delivery
from scheduler.outcomes import Outcome
from scheduler.pacing import ChatPacer
from scheduler.runner import DueRunner, RunReport
from scheduler.settings import EngineSettings
from scheduler.wakeup import Wakeup

log = logging.getLogger(__name__)

Handler = Callable[[ScheduledItem, Delivery], Awaitable[Outcome]]
# Called after an item of its kind failed for good, with the reason code (tell the sender,
# escalate an alert to someone else).
FailureHook = Callable[[ScheduledItem, str], Awaitable[None]]
UnreachableHook = Callable[[int, str], Awaitable[None]]
# Periodic clean-up a feature needs (expired rows, retention limits): called with "now".
Housekeeping = Callable[[datetime], Awaitable[object]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class EngineConfig:
    # Rows claimed ('sending') at once: the concurrency of sends and the bound on
    # duplicates after a crash. The pace overall is the bot session's budget
    # (bot/rate_limit.py: 30/s, replies and alerts first).
    max_in_flight: int = 32
    # The dispatcher wakes at least this often even when nothing is known to be due.
    max_sleep: float = 60.0
    # Seconds between engine messages to one chat (Telegram allows about 1/s per chat).
    per_chat_interval: float = 1.0
    # Network errors and 5xx: retry after base, 2*base, 4*base ... seconds, at most cap.
    backoff_base: float = 5.0
    backoff_cap: float = 300.0
    # A handler that raises (not a Telegram error) gets this many tries, then fails.
    max_handler_errors: int = 5
    # Finished rows are kept this long (diagnostics, dedupe keys), then purged.
    retention: timedelta = timedelta(days=30)
    purge_every: timedelta = timedelta(hours=6)
    # deliver_now on a row the dispatcher is sending waits this long for its outcome, so a
    # person is not told "still trying" about a message that is going out that moment.
    settle_wait: float = 10.0


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        i18n: I18n,
        settings: EngineSettings,
        config: EngineConfig | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.bot = bot
        self.i18n = i18n
        self.settings = settings
        self.config = config or EngineConfig()
        self.clock = clock
        self.handlers: dict[str, Handler] = {}
        # Each kind's place in the outgoing budget (core/priority.py).
        self.priorities: dict[str, Priority] = {}
        self.failure_hooks: dict[str, FailureHook] = {}
        self.scrubbed_kinds: set[str] = set()
        self.unreachable_hooks: list[UnreachableHook] = []
        self.housekeeping: list[Housekeeping] = []
        self.counters = RunReport()  # totals since this engine was created
        self.stopping = asyncio.Event()
        self.pacer = ChatPacer(self.config.per_chat_interval, self.stopping)
        self.runner = DueRunner(self)
        self.wakeup: Wakeup | None = None
        self.recovered = 0  # rows found 'sending' at the last start

    # -- registration ------------------------------------------------------------------------

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        on_failed: FailureHook | None = None,
        scrub_payload: bool = False,
        priority: Priority = Priority.REMINDER,
    ) -> None:
        """`handler(item, delivery)` renders and sends items of `kind`; register before start().

        `on_failed(item, reason)` runs once an item of this kind has failed for good.
        `scrub_payload`: the payload names people (a name that no row keeps any more), so it
        is emptied as soon as the item is finished.
        """
        if kind in self.handlers:
            raise ValueError(f"kind {kind!r} is already registered")
        self.handlers[kind] = handler
        self.priorities[kind] = priority
        if on_failed is not None:
            self.failure_hooks[kind] = on_failed
        if scrub_payload:
            self.scrubbed_kinds.add(kind)

    def on_unreachable(self, hook: UnreachableHook) -> None:
        """`hook(user_id, reason)` after a 403 ('blocked', 'deactivated', 'not_started', ...).

        Called once per failed item, so make it idempotent.
        """
        self.unreachable_hooks.append(hook)

    def on_housekeeping(self, job: Housekeeping) -> None:
        """`job(now)` runs with the purge job (every `purge_every`) and once at start."""
        self.housekeeping.append(job)

    async def run_housekeeping(self) -> None:
        for job in self.housekeeping:
            try:
                await job(self.now())
            except Exception:
                log.exception("A housekeeping job failed")

    async def notify_unreachable(self, user_id: int, reason: str) -> None:
        for hook in self.unreachable_hooks:
            try:
                await hook(user_id, reason)
            except Exception:
                log.exception("An unreachable hook failed (reason %s)", reason)

    # -- time --------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    # -- scheduling ----------------------------------------------------------------------------

    async def schedule(
        self,
        kind: str,
        recipient_id: int,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        dedupe_key: str | None = None,
        replace: bool = False,
    ) -> int | None:
        """Store an item (the row is the promise) and wake the dispatcher if it is sooner.

        Returns the row id, or None when `dedupe_key` exists already (and `replace` is off,
        or that row is being sent right now).
        """
        if kind not in self.handlers:
            raise ValueError(f"no handler registered for kind {kind!r}")
        item_id = await scheduled.schedule(
            self.db,
            kind=kind,
            recipient_id=recipient_id,
            due_at=due_at,
            now=self.now(),
            payload=payload,
            dedupe_key=dedupe_key,
            replace=replace,
        )
        if item_id is not None:
            self.poke(due_at)
        return item_id

    def poke(self, due_at: datetime) -> None:
        """Tell the dispatcher about an item stored with `scheduled.schedule_in` (after COMMIT)."""
        if self.wakeup is not None:
            self.wakeup.poke(due_at)

    async def cancel(
        self,
        *,
        dedupe_key: str | None = None,
        key_prefix: str | None = None,
        recipient_id: int | None = None,
        kind: str | None = None,
        reason: str = "cancelled",
    ) -> int:
        """Drop pending items matching every given filter; returns how many."""
        return await scheduled.cancel(
            self.db,
            now=self.now(),
            dedupe_key=dedupe_key,
            key_prefix=key_prefix,
            recipient_id=recipient_id,
            kind=kind,
            reason=reason,
        )

    async def deliver_now(self, dedupe_key: str) -> scheduled.ItemState | None:
        """Send the pending item with this key at once, in the caller's task, and return its
        state afterwards: `sent`, `failed`/`dropped` (with `last_error`), or still `pending`
        (Telegram did not answer; the engine retries it with backoff). For a person waiting on
        the result (a relayed message): the item was stored first, so nothing is lost if the
        answer is "still trying". An item the dispatcher is already sending is left to it.
        """
        item = await scheduled.claim_key(self.db, dedupe_key, self.now())
        if item is not None:
            await self.runner.process_now(item)
        state = await scheduled.get_by_key(self.db, dedupe_key)
        loop = asyncio.get_running_loop()
        until = loop.time() + self.config.settle_wait
        # Claimed by the dispatcher (a restart's recovery, say): its answer is near.
        while state is not None and state.status is Status.SENDING and loop.time() < until:
            await asyncio.sleep(0.05)
            state = await scheduled.get_by_key(self.db, dedupe_key)
        return state

    async def run_due(self, now: datetime | None = None) -> RunReport:
        """Handle everything due at `now` (default: the clock) and return what happened."""
        return await self.runner.run_due(now)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.wakeup is not None

    async def start(self) -> None:
        """Recover rows a dead process left in flight, then start the clock."""
        if self.wakeup is not None:
            return
        self.stopping.clear()
        self.recovered = await scheduled.recover_in_flight(self.db)
        if self.recovered:
            # Each may have reached Telegram before the crash: the documented duplicate window.
            log.warning(
                "Recovered %d scheduled items left in flight; sending them again", self.recovered
            )
        await self.run_housekeeping()
        self.wakeup = Wakeup(self)
        self.wakeup.start()
        log.info("Scheduler started with %d handlers", len(self.handlers))

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; let sends already made finish and be recorded; release the rest."""
        wakeup, self.wakeup = self.wakeup, None
        if wakeup is None:
            return
        self.stopping.set()  # items waiting for their chat's slot go back to pending now
        wakeup.shutdown()
        try:
            async with asyncio.timeout(grace):
                if wakeup.task is not None:
                    await asyncio.shield(wakeup.task)
                async with self.runner.lock:  # a direct run_due() call in progress
                    pass
        except TimeoutError:
            log.warning("Scheduler stop timed out; in-flight items are recovered at next start")
            self.runner.cancel_in_flight()
            async with self.runner.lock:
                pass
        log.info("Scheduler stopped")

    @property
    def job_count(self) -> int:
        """APScheduler jobs in memory: a fixed few, however many items are pending."""
        return 0 if self.wakeup is None else self.wakeup.job_count
