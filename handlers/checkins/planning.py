"""Check-ins in the handlers: the schedule in words, and what archiving does to check-ins.

Planning itself (a schedule -> stored check-ins and their timed items) is a service,
services/checkins.py; its names are re-exported here for the check-in handlers.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite
from aiogram.utils.i18n import gettext as _

from core.dates import weekday_names
from db import checkins
from db.checkins import CheckinSchedule
from handlers.client_status import StatusChange, on_status_change
from services.checkins import (
    CLOSE,
    DIGEST,
    FOLLOW_UP,
    HELP_ALERT,
    REMIND,
    forget_in,
    plan_next,
    plan_next_in,
    replan,
)

__all__ = [
    "CLOSE",
    "DIGEST",
    "FOLLOW_UP",
    "HELP_ALERT",
    "REMIND",
    "describe",
    "follow_client_status",
    "plan_next",
    "replan",
]


@on_status_change
async def follow_client_status(conn: aiosqlite.Connection, change: StatusChange) -> datetime | None:
    """Archived: no more reminders (planned ones forgotten, an open one ends without
    counting as missed); the schedule is kept. Restored: it goes on from now."""
    if change.status == "archived":
        await forget_in(conn, change.client_id, change.now, "archived")
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
