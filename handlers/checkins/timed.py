"""The engine kinds of check-ins: reminder, follow-up, window close, the missed digest, the help alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiosqlite
from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from core.timecalc import in_quiet_hours, outside_quiet_hours
from db import checkins, clients, scheduled, users, working_hours
from db.checkins import Checkin
from db.scheduled import ScheduledItem
from db.working_hours import WorkingHours
from handlers.checkins.client import CheckinAnswer
from handlers.checkins.planning import CLOSE, DIGEST, FOLLOW_UP, REMIND, plan_next
from handlers.client_card import client_cards_markup
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome, Postpone

REMINDER = N_("🔔 Time to check in. How are you? Press a button below.")
FOLLOW_UP_TEXT = N_("🔔 A reminder: please check in today. Press a button below.")
WINDOW = N_("You can check in until {time}.")
IM_FINE = N_("✅ I'm fine — check in")
NEED_HELP = N_("🆘 I need help")
DIGEST_TEXT = N_("❗ Missed check-ins: {count}\nClient — planned time:")
DIGEST_LIMIT = 30  # names (and card buttons) in one digest message; the count says the rest


def answer_buttons(delivery: Delivery, checkin_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=delivery.gettext(IM_FINE),
        callback_data=CheckinAnswer(checkin_id=checkin_id, answer="ok"),
    )
    builder.button(
        text=delivery.gettext(NEED_HELP),
        callback_data=CheckinAnswer(checkin_id=checkin_id, answer="help"),
    )
    builder.adjust(1)
    return builder.as_markup()


async def _current(
    item: ScheduledItem, delivery: Delivery, statuses: tuple[str, ...]
) -> Checkin | Drop:
    checkin = await checkins.get(delivery.db, int(item.payload.get("checkin", 0)))
    if checkin is None or checkin.status not in statuses:
        return Drop("not_applicable")
    client = await clients.get(delivery.db, checkin.client_id)
    if client is None or client.status != "active":
        return Drop("no_client")
    return checkin


def _quiet_postpone(delivery: Delivery, checkin: Checkin) -> Outcome | None:
    """Late items (the bot was down) must not ring at night either."""
    quiet = delivery.settings.quiet
    if not in_quiet_hours(delivery.now, delivery.zone, quiet):
        return None
    morning = outside_quiet_hours(delivery.now, delivery.zone, quiet)
    return Postpone(morning, "quiet_hours") if morning < checkin.closes_at else Drop("quiet_hours")


async def remind(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """Sends the reminder, and first plans the next check-in: every later step (a refused or
    retried send, a dropped reminder) leaves the chain going. The check-in is marked open
    only after Telegram accepted the reminder, so a retried send finds it still scheduled."""
    db = delivery.db
    checkin = await checkins.get(db, int(item.payload.get("checkin", 0)))
    if checkin is None:
        return Drop("not_applicable")
    client = await clients.get(db, checkin.client_id)
    if client is None or client.status != "active":
        return Drop("no_client")  # archiving forgets planned check-ins; this is a leftover
    schedule = await checkins.get_schedule(db, checkin.client_id)
    if schedule is None or schedule.paused:
        return Drop("paused")
    # After a long outage, plan from the first window still open, not one per missed day.
    after = max(checkin.planned_at or checkin.opens_at, delivery.now - schedule.window)
    await plan_next(db, delivery.engine, delivery.settings, schedule, delivery.zone, after)
    if checkin.status != "scheduled":
        return Drop("answered")  # the client checked in before the reminder went out
    if delivery.now >= checkin.closes_at:
        return Drop("window_over")  # the close item sees it was never sent
    postponed = _quiet_postpone(delivery, checkin)
    if postponed is not None:
        return postponed
    text = (
        delivery.gettext(REMINDER)
        + "\n"
        + delivery.gettext(WINDOW, time=delivery.local_time(checkin.closes_at))
    )
    if note := delivery.late_note():
        text += "\n" + note
    await delivery.send_message(text, reply_markup=answer_buttons(delivery, checkin.id))
    await checkins.mark_open(db, checkin.id)
    return SENT


async def follow_up(item: ScheduledItem, delivery: Delivery) -> Outcome:
    checkin = await _current(item, delivery, ("open",))
    if isinstance(checkin, Drop):
        return checkin
    if delivery.now >= checkin.closes_at:
        return Drop("window_over")
    postponed = _quiet_postpone(delivery, checkin)
    if postponed is not None:
        return postponed
    text = (
        delivery.gettext(FOLLOW_UP_TEXT)
        + "\n"
        + delivery.gettext(WINDOW, time=delivery.local_time(checkin.closes_at))
    )
    await delivery.send_message(text, reply_markup=answer_buttons(delivery, checkin.id))
    return SENT


def digest_time(closed: datetime, hours: WorkingHours, zone: ZoneInfo) -> datetime:
    """When a caseworker hears of a check-in whose window closed at `closed`: at the top of
    the next hour if they are working then; at the end of their working day if it ends
    sooner; else when their working time next starts (all closes until then, one digest)."""
    hour_end = closed.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if hours.is_open(hour_end, zone):
        return hour_end
    if hours.is_open(closed, zone):
        day_end = datetime.combine(closed.astimezone(zone).date(), hours.closes, tzinfo=zone)
        return day_end.astimezone(UTC)
    opening = hours.next_opening(closed, zone)
    return hour_end if opening is None else opening.astimezone(UTC)


async def _digest_in(
    conn: aiosqlite.Connection,
    delivery: Delivery,
    caseworker_id: int,
    when: datetime,
    checkin_id: int,
    key: str | None,
) -> int | None:
    return await scheduled.schedule_in(
        conn,
        kind=DIGEST,
        recipient_id=caseworker_id,
        due_at=when,
        now=delivery.now,
        payload={"checkins": [checkin_id]},
        dedupe_key=key,
    )


async def close(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """The window ends: reminded and unanswered means missed, and the caseworker hears in a
    digest in their working hours (stored in the same transaction). A check-in whose
    reminder never went out (archived meanwhile, unreachable) is not a miss."""
    db = delivery.db
    checkin = await checkins.get(db, int(item.payload.get("checkin", 0)))
    if checkin is None:
        return Drop("not_applicable")
    client = await clients.get(db, checkin.client_id)
    when = delivery.now
    if client is not None:
        officer = await users.get(db, client.caseworker_id)
        zone = delivery.settings.zone_for(officer.timezone if officer else None)
        hours = await working_hours.get(db, client.caseworker_id)
        when = digest_time(checkin.closes_at, hours, zone)
    async with db.transaction() as conn:
        if client is None or client.status != "active" or checkin.status == "scheduled":
            await checkins.mark_cancelled_in(conn, checkin.id)
            return Drop("not_reminded")
        if not await checkins.mark_missed_in(conn, checkin.id):
            return Drop("answered")
        key = f"checkin-digest:{client.caseworker_id}:{when:%Y%m%d%H%M}"
        stored = await _digest_in(conn, delivery, client.caseworker_id, when, checkin.id, key)
        if stored is None and not await scheduled.append_in(conn, key, "checkins", checkin.id):
            # That digest is going out already (this close ran late): one of its own, now.
            when = delivery.now
            await _digest_in(conn, delivery, client.caseworker_id, when, checkin.id, None)
    delivery.engine.poke(when)
    return SENT  # handled; its message is the digest


async def digest(item: ScheduledItem, delivery: Delivery) -> Outcome:
    if "checkins" in item.payload:
        ids = [int(i) for i in item.payload["checkins"]]
        missed = await checkins.missed_of(delivery.db, item.recipient_id, ids)
    else:  # stored before digests named their check-ins: the closes of one hour
        start = datetime.fromisoformat(str(item.payload["start"]))
        end = datetime.fromisoformat(str(item.payload["end"]))
        missed = await checkins.missed_between(delivery.db, item.recipient_id, start, end)
    if not missed:
        return Drop("nothing_missed")
    lines = [delivery.gettext(DIGEST_TEXT, count=len(missed))]
    shown = missed[:DIGEST_LIMIT]
    for one in shown:
        lines.append(f"• {html.quote(one.name)} — {delivery.local_time(one.planned_at)}")
    if len(missed) > DIGEST_LIMIT:
        lines.append(f"… +{len(missed) - DIGEST_LIMIT}")
    cards = client_cards_markup([(one.client_id, one.name) for one in shown])
    await delivery.send_message("\n".join(lines), reply_markup=cards)
    return SENT


def register(engine: Engine) -> None:
    engine.register(REMIND, remind)
    engine.register(FOLLOW_UP, follow_up)
    engine.register(CLOSE, close)
    engine.register(DIGEST, digest)
