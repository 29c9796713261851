"""A check-in schedule turned into stored check-ins and their timed items (reminder,
follow-up, close): for the caseworker's schedule screen, the reminder kind that plans the
next one, and a client's archiving or restoring.

Every planned check-in gets three engine items, keyed `checkin:<client>:<id>:<step>`, all
stored in the same transaction as the check-in row. Each item's handler
(handlers/checkins/timed.py) re-reads the check-in and drops itself when it no longer
applies, so a schedule change only has to cancel check-ins not yet sent.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from core.timecalc import outside_quiet_hours
from db import checkins, scheduled
from db.checkins import CheckinSchedule
from db.database import Database
from scheduler.engine import Engine
from scheduler.settings import LocalRules

# The engine kinds of check-ins (their handlers: handlers/checkins/).
REMIND = "checkin.remind"
FOLLOW_UP = "checkin.followup"
CLOSE = "checkin.close"
DIGEST = "checkin.digest"
HELP_ALERT = "checkin.help"


def item_key(client_id: int, checkin_id: int, step: str) -> str:
    return f"checkin:{client_id}:{checkin_id}:{step}"


async def plan_next_in(
    conn: aiosqlite.Connection,
    settings: LocalRules,
    schedule: CheckinSchedule,
    zone: ZoneInfo,
    after: datetime,
    now: datetime,
) -> tuple[int, datetime] | None:
    """Inside the caller's transaction: stores the schedule's next check-in after `after` with
    its three items; returns (its id, when it opens), or None if paused or it exists."""
    if schedule.paused:
        return None
    planned = schedule.next_planned(after, zone)
    opens = outside_quiet_hours(planned, zone, settings.quiet)  # a 23:00 check-in waits for 08:00
    closes = opens + schedule.window
    follow_up = outside_quiet_hours(opens + schedule.window / 2, zone, settings.quiet)
    client_id = schedule.client_id
    checkin_id = await checkins.create_planned(conn, client_id, planned, opens, closes)
    if checkin_id is None:
        return None
    payload = {"checkin": checkin_id}
    steps = [(REMIND, opens, "remind"), (CLOSE, closes, "close")]
    if follow_up < closes:
        steps.insert(1, (FOLLOW_UP, follow_up, "followup"))
    for kind, due, step in steps:
        await scheduled.schedule_in(
            conn,
            kind=kind,
            recipient_id=client_id,
            due_at=due,
            now=now,
            payload=payload,
            dedupe_key=item_key(client_id, checkin_id, step),
        )
    return checkin_id, opens


async def plan_next(
    db: Database,
    engine: Engine,
    settings: LocalRules,
    schedule: CheckinSchedule,
    zone: ZoneInfo,
    after: datetime,
) -> int | None:
    """`plan_next_in` in a transaction of its own; wakes the engine for it."""
    async with db.transaction() as conn:
        planned = await plan_next_in(conn, settings, schedule, zone, after, engine.now())
    if planned is None:
        return None
    engine.poke(planned[1])
    return planned[0]


async def forget_in(conn: aiosqlite.Connection, client_id: int, now: datetime, reason: str) -> None:
    """Check-ins not yet sent stop existing, with their timed items."""
    for checkin_id in await checkins.forget_planned(conn, client_id):
        await scheduled.cancel_in(
            conn, now=now, key_prefix=f"checkin:{client_id}:{checkin_id}:", reason=reason
        )


async def replan(
    db: Database,
    engine: Engine,
    settings: LocalRules,
    schedule: CheckinSchedule,
    zone: ZoneInfo,
) -> None:
    """Saves a changed schedule with its next check-in, in one transaction: check-ins not yet
    sent are forgotten, the next one planned anew. A failure anywhere leaves the old schedule
    and its planned check-in as they were (tests/unit/test_checkin_planning.py).

    A check-in already open keeps its window (the client may be answering it right now).
    """
    now = engine.now()
    async with db.transaction() as conn:
        await checkins.save_schedule(conn, schedule, now)
        await forget_in(conn, schedule.client_id, now, "rescheduled")
        planned = await plan_next_in(conn, settings, schedule, zone, now, now)
    if planned is not None:
        engine.poke(planned[1])
