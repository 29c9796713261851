"""Turning a schedule into stored check-ins and their timed items (reminder, follow-up, close).

Every planned check-in gets three engine items, keyed `checkin:<client>:<id>:<step>`, all
stored in the same transaction as the check-in row. Each item's handler re-reads the
check-in and drops itself when it no longer applies, so a schedule change only has to
cancel check-ins not yet sent.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from core.dates import weekday_names
from core.timecalc import outside_quiet_hours
from db import checkins, scheduled
from db.checkins import CheckinSchedule
from db.database import Database
from handlers.client_status import StatusChange, on_status_change
from scheduler.engine import Engine

REMIND = "checkin.remind"
FOLLOW_UP = "checkin.followup"
CLOSE = "checkin.close"
DIGEST = "checkin.digest"
HELP_ALERT = "checkin.help"


def item_key(client_id: int, checkin_id: int, step: str) -> str:
    return f"checkin:{client_id}:{checkin_id}:{step}"


async def plan_next_in(
    conn: aiosqlite.Connection,
    settings: Settings,
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
    settings: Settings,
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


async def _forget_in(
    conn: aiosqlite.Connection, client_id: int, now: datetime, reason: str
) -> None:
    """Check-ins not yet sent stop existing, with their timed items."""
    for checkin_id in await checkins.forget_planned(conn, client_id):
        await scheduled.cancel_in(
            conn, now=now, key_prefix=f"checkin:{client_id}:{checkin_id}:", reason=reason
        )


async def replan(
    db: Database, engine: Engine, settings: Settings, schedule: CheckinSchedule, zone: ZoneInfo
) -> None:
    """Saves a changed schedule with its next check-in, in one transaction: check-ins not yet
    sent are forgotten, the next one planned anew.

    A check-in already open keeps its window (the client may be answering it right now).
    """
    now = engine.now()
    async with db.transaction() as conn:
        await checkins.save_schedule(conn, schedule, now)
        await _forget_in(conn, schedule.client_id, now, "rescheduled")
        planned = await plan_next_in(conn, settings, schedule, zone, now, now)
    if planned is not None:
        engine.poke(planned[1])


@on_status_change
async def follow_client_status(conn: aiosqlite.Connection, change: StatusChange) -> datetime | None:
    """Archived: no more reminders (planned ones forgotten, an open one ends without
    counting as missed); the schedule is kept. Restored: it goes on from now."""
    if change.status == "archived":
        await _forget_in(conn, change.client_id, change.now, "archived")
        await checkins.cancel_open_in(conn, change.client_id)
        return None
    schedule = await checkins.get_schedule_in(conn, change.client_id)
    if schedule is None:
        return None
    planned = await plan_next_in(
        conn, change.settings, schedule, change.zone, change.now, change.now
    )
    return None if planned is None else planned[1]


def describe(schedule: CheckinSchedule | None, locale: str) -> str:
    """The schedule in words, in the current language."""
    if schedule is None:
        return _("no regular check-ins")
    at = schedule.at_time.strftime("%H:%M")
    if schedule.pattern == "weekdays":
        days = weekday_names(schedule.weekdays, locale)
        text = _("on {days} at {time}").format(days=days, time=at)
    elif schedule.pattern == "every_n_days":
        text = _("every {n} day at {time}", "every {n} days at {time}", schedule.every_n).format(
            n=schedule.every_n, time=at
        )
    else:
        text = _("every day at {time}").format(time=at)
    if schedule.paused:
        text += " " + _("(paused)")
    return text
