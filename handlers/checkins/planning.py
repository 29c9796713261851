"""Turning a schedule into stored check-ins and their timed items (reminder, follow-up, close).

Every planned check-in gets three engine items, keyed `checkin:<client>:<id>:<step>`, all
stored in the same transaction as the check-in row. Each item's handler re-reads the
check-in and drops itself when it no longer applies, so a schedule change only has to
cancel check-ins not yet sent.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names

from bot.config import Settings
from db import checkins, scheduled
from db.checkins import CheckinSchedule
from db.database import Database
from scheduler.engine import Engine
from scheduler.timecalc import outside_quiet_hours

REMIND = "checkin.remind"
FOLLOW_UP = "checkin.followup"
CLOSE = "checkin.close"
DIGEST = "checkin.digest"
HELP_ALERT = "checkin.help"


def item_key(client_id: int, checkin_id: int, step: str) -> str:
    return f"checkin:{client_id}:{checkin_id}:{step}"


async def plan_next(
    db: Database,
    engine: Engine,
    settings: Settings,
    schedule: CheckinSchedule,
    zone: ZoneInfo,
    after: datetime,
) -> int | None:
    """Stores the schedule's next check-in after `after` with its three items; None if it exists."""
    if schedule.paused:
        return None
    planned = schedule.next_planned(after, zone)
    opens = outside_quiet_hours(planned, zone, settings.quiet)  # a 23:00 check-in waits for 08:00
    closes = opens + schedule.window
    follow_up = outside_quiet_hours(opens + schedule.window / 2, zone, settings.quiet)
    client_id = schedule.client_id
    async with db.transaction() as conn:
        checkin_id = await checkins.create_planned(conn, client_id, planned, opens, closes)
        if checkin_id is None:
            return None
        now = engine.now()
        payload = {"checkin": checkin_id}
        await scheduled.schedule_in(
            conn,
            kind=REMIND,
            recipient_id=client_id,
            due_at=opens,
            now=now,
            payload=payload,
            dedupe_key=item_key(client_id, checkin_id, "remind"),
        )
        if follow_up < closes:
            await scheduled.schedule_in(
                conn,
                kind=FOLLOW_UP,
                recipient_id=client_id,
                due_at=follow_up,
                now=now,
                payload=payload,
                dedupe_key=item_key(client_id, checkin_id, "followup"),
            )
        await scheduled.schedule_in(
            conn,
            kind=CLOSE,
            recipient_id=client_id,
            due_at=closes,
            now=now,
            payload=payload,
            dedupe_key=item_key(client_id, checkin_id, "close"),
        )
    engine.poke(opens)
    return checkin_id


async def replan(
    db: Database, engine: Engine, settings: Settings, schedule: CheckinSchedule, zone: ZoneInfo
) -> None:
    """Saves a changed schedule: check-ins not yet sent are forgotten, the next one planned anew.

    A check-in already open keeps its window (the client may be answering it right now).
    """
    now = engine.now()
    async with db.transaction() as conn:
        await checkins.save_schedule(conn, schedule, now)
        for checkin_id in await checkins.forget_planned(conn, schedule.client_id):
            await scheduled.cancel_in(
                conn,
                now=now,
                key_prefix=f"checkin:{schedule.client_id}:{checkin_id}:",
                reason="rescheduled",
            )
    await plan_next(db, engine, settings, schedule, zone, now)


def describe(schedule: CheckinSchedule | None, locale: str) -> str:
    """The schedule in words, in the current language."""
    if schedule is None:
        return _("no regular check-ins")
    at = schedule.at_time.strftime("%H:%M")
    if schedule.pattern == "weekdays":
        names = get_day_names("abbreviated", locale=locale)
        days = ", ".join(str(names[d]) for d in sorted(schedule.weekdays))
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
