"""APScheduler 3.11 as the engine's clock: two fixed jobs, whatever is pending.

- `scheduler.dispatch` fires at the earliest due time (re-armed after every pass, pulled
  earlier when a sooner item is scheduled) and at least every `max_sleep` seconds, which
  covers rows written by another process (the CLI) and clock jumps.
- `scheduler.purge` deletes finished rows past the retention period.

The jobs only start our own asyncio task: AsyncIOScheduler.shutdown() cancels running
coroutine jobs, and a pass must be allowed to finish its in-flight sends. Job defaults:
misfire_grace_time=None (a late wake-up still runs; APScheduler's default of 1 s would
skip it), coalesce=True, max_instances=1.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from db import scheduled

if TYPE_CHECKING:
    from scheduler.engine import Engine

log = logging.getLogger(__name__)

DISPATCH_JOB = "scheduler.dispatch"
PURGE_JOB = "scheduler.purge"


class Wakeup:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self.task: asyncio.Task[None] | None = None
        self.passes = 0
        self._again = False  # the job fired while a pass was running: run once more
        self._poked: datetime | None = None  # earliest item scheduled while a pass ran
        self._armed_at: datetime | None = None  # engine time the dispatch job is set for
        # Event-loop time the dispatch job last fired (at least every max_sleep): the
        # heartbeat GET /health reads (bot/health.py).
        self.last_fired: float | None = None

    def start(self) -> None:
        cfg = self.engine.config
        self.scheduler.add_job(
            self._on_dispatch,
            IntervalTrigger(seconds=cfg.max_sleep, timezone=UTC),
            id=DISPATCH_JOB,
            next_run_time=datetime.now(UTC),  # overdue items go out at once after a start
        )
        self.scheduler.add_job(
            self._on_purge,
            IntervalTrigger(seconds=cfg.purge_every.total_seconds(), timezone=UTC),
            id=PURGE_JOB,
        )
        self._armed_at = self.engine.now()
        self.last_fired = asyncio.get_running_loop().time()
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    @property
    def job_count(self) -> int:
        return len(self.scheduler.get_jobs())

    # -- arming ---------------------------------------------------------------------------

    def poke(self, due_at: datetime) -> None:
        """An item due at `due_at` was stored: wake earlier if that is sooner than planned."""
        if not self.scheduler.running:
            return
        if self.task is not None and not self.task.done():
            self._poked = due_at if self._poked is None else min(self._poked, due_at)
        if self._armed_at is None or due_at < self._armed_at:
            self._arm(due_at)

    def _arm(self, at: datetime | None) -> None:
        engine = self.engine
        max_sleep = engine.config.max_sleep
        delay = max_sleep if at is None else (at - engine.now()).total_seconds()
        delay = min(max(delay, 0.0), max_sleep)
        self._armed_at = engine.now() + timedelta(seconds=delay)
        # APScheduler runs on the wall clock; the delay is measured on the engine's clock,
        # so an injected or travelled clock still wakes it at the right moment. The engine's
        # clock (db.clock.utcnow) has whole seconds, so the delay counts from the whole
        # second too: counting from the precise time would wake up to a second late.
        if self.scheduler.running:
            wall = datetime.now(UTC).replace(microsecond=0)
            self.scheduler.modify_job(DISPATCH_JOB, next_run_time=wall + timedelta(seconds=delay))

    async def _rearm(self) -> None:
        self._poked = None
        try:
            next_due = await scheduled.next_due(self.engine.db)
        except Exception:
            log.exception("Scheduler could not read the next due time; trying again soon")
            self._arm(self.engine.now() + timedelta(seconds=self.engine.config.backoff_base))
            return
        candidates = [t for t in (next_due, self._poked) if t is not None]
        self._arm(min(candidates) if candidates else None)

    # -- jobs -----------------------------------------------------------------------------

    async def _on_dispatch(self) -> None:
        if self.engine.stopping.is_set():
            return
        self.last_fired = asyncio.get_running_loop().time()
        if self.task is not None and not self.task.done():
            self._again = True
            return
        self.task = asyncio.create_task(self._passes())

    async def _passes(self) -> None:
        engine = self.engine
        while True:
            self._again = False
            try:
                await engine.run_due()
            except Exception:
                log.exception("Scheduler pass failed; trying again soon")
            self.passes += 1
            if engine.stopping.is_set():
                return
            if not self._again:
                break
        await self._rearm()

    async def _on_purge(self) -> None:
        engine = self.engine
        if engine.stopping.is_set():
            return
        try:
            removed = await scheduled.purge_finished(
                engine.db, engine.now() - engine.config.retention
            )
        except Exception:
            log.exception("Scheduler purge failed")
            return
        if removed:
            log.info("Purged %d finished scheduled items", removed)
        await engine.run_housekeeping()
