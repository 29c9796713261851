"""Daily backups (BACKUP_DIR), run by the engine like any timed item: durable, once a day.

One `backup.daily` item is pending at a time, keyed `backup:<local date>`, due at
BACKUP_TIME in TIMEZONE. Its handler copies the database with SQLite's online backup API
in a thread (db/backup.py: the event loop keeps serving), checks it, deletes the copies
older than BACKUP_KEEP_DAYS, and stores the next day's item. Scheduling is idempotent
(the dedupe key): the engine's housekeeping, at start and every 6 hours, stores the next
item if none is pending (a fresh database, or BACKUP_DIR newly set). After downtime an
overdue item runs at start, once, whatever the number of days missed. A copy that fails
(a full disk) is tried again in 15 minutes, 4 times, then left to the next day; each
failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from db.backup import BackupError, daily_backup, waiting_items
from db.scheduled import ScheduledItem
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import Drop, Outcome, Retry, Sent

log = logging.getLogger(__name__)

KIND = "backup.daily"
KEY_PREFIX = "backup:"
RECIPIENT = 0  # nobody: no message is sent
RETRY_AFTER = timedelta(minutes=15)
MAX_TRIES = 4


@dataclass(frozen=True)
class BackupPlan:
    database: Path  # DATABASE_PATH
    folder: Path  # BACKUP_DIR
    keep_days: int  # BACKUP_KEEP_DAYS
    at: time  # BACKUP_TIME, local
    zone: ZoneInfo  # TIMEZONE

    def next_run(self, now: datetime) -> tuple[date, datetime]:
        """The next local day whose BACKUP_TIME is after `now`, and that moment in UTC."""
        local = now.astimezone(self.zone)
        day = local.date()
        moment = datetime.combine(day, self.at, tzinfo=self.zone)
        if moment <= local:
            day += timedelta(days=1)
            moment = datetime.combine(day, self.at, tzinfo=self.zone)
        return day, moment


def register_backups(engine: Engine, plan: BackupPlan) -> None:
    async def run(item: ScheduledItem, delivery: Delivery) -> Outcome:
        today = delivery.now.astimezone(plan.zone).date()
        try:
            result, removed = await asyncio.to_thread(
                daily_backup, plan.database, plan.folder, today, plan.keep_days
            )
        except BackupError as exc:
            log.error("Daily backup failed (try %d): %s", item.attempts, exc)
            if item.attempts < MAX_TRIES:
                return Retry(delivery.now + RETRY_AFTER, "backup_failed")
            await plan_next(delivery.now)
            return Drop("backup_failed")
        log.info(
            "Daily backup %s: %d bytes in %.1f s, integrity_check %s; %d old copies deleted",
            result.path.name,
            result.size,
            result.seconds,
            result.integrity,
            len(removed),
        )
        await plan_next(delivery.now)
        return Sent()

    async def plan_next(now: datetime) -> None:
        day, moment = plan.next_run(now)
        await engine.schedule(
            KIND, RECIPIENT, moment, {"day": day.isoformat()}, dedupe_key=f"{KEY_PREFIX}{day}"
        )

    async def ensure_planned(now: datetime) -> None:
        if not await waiting_items(engine.db, KIND):
            await plan_next(now)

    engine.register(KIND, run)
    engine.on_housekeeping(ensure_planned)
