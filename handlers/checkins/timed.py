"""The engine kinds of check-ins: reminder, follow-up, window close, the missed digest, the help alert."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from db import checkins, clients
from db.checkins import Checkin
from db.scheduled import ScheduledItem
from handlers.caseload import ClientCard
from handlers.checkins.client import CheckinAnswer
from handlers.checkins.planning import CLOSE, DIGEST, FOLLOW_UP, HELP_ALERT, REMIND, plan_next
from handlers.texts import clip
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome, Postpone
from scheduler.timecalc import in_quiet_hours, outside_quiet_hours

REMINDER = N_("🔔 Time to check in. How are you? Press a button below.")
FOLLOW_UP_TEXT = N_("🔔 A reminder: please check in today. Press a button below.")
WINDOW = N_("You can check in until {time}.")
IM_FINE = N_("✅ I'm fine — check in")
NEED_HELP = N_("🆘 I need help")
DIGEST_TEXT = N_("❗ Missed check-ins ({count}) between {start} and {end}:")
HELP_TEXT = N_("🆘 {name} pressed «I need help» at {time}. Please contact them as soon as you can.")
OPEN_CARD = N_("Open client card")
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
    checkin = await _current(item, delivery, ("scheduled",))
    if isinstance(checkin, Drop):
        return checkin
    if delivery.now >= checkin.closes_at:
        return Drop("window_over")  # the close item marks it missed
    postponed = _quiet_postpone(delivery, checkin)
    if postponed is not None:
        return postponed
    schedule = await checkins.get_schedule(delivery.db, checkin.client_id)
    if schedule is None or schedule.paused:
        return Drop("paused")
    # The chain continues before this send, so a refused send does not end the schedule.
    after = checkin.planned_at or checkin.opens_at
    await plan_next(delivery.db, delivery.engine, delivery.settings, schedule, delivery.zone, after)
    await checkins.mark_open(delivery.db, checkin.id)
    text = (
        delivery.gettext(REMINDER)
        + "\n"
        + delivery.gettext(WINDOW, time=delivery.local_time(checkin.closes_at))
    )
    if note := delivery.late_note():
        text += "\n" + note
    await delivery.send_message(text, reply_markup=answer_buttons(delivery, checkin.id))
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


def digest_hour(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


async def close(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """The window ends: unanswered means missed, and the caseworker hears in the hour's digest."""
    checkin = await checkins.get(delivery.db, int(item.payload.get("checkin", 0)))
    if checkin is None or not await checkins.mark_missed(delivery.db, checkin.id):
        return Drop("answered")
    client = await clients.get(delivery.db, checkin.client_id)
    if client is None or client.status != "active":
        return Drop("no_client")
    start, end = digest_hour(checkin.closes_at)
    await delivery.engine.schedule(
        DIGEST,
        client.caseworker_id,
        end,
        {"start": start.isoformat(), "end": end.isoformat()},
        dedupe_key=f"checkin-digest:{client.caseworker_id}:{start:%Y%m%d%H}",
    )
    return SENT  # handled; its message is the digest


async def digest(item: ScheduledItem, delivery: Delivery) -> Outcome:
    start = datetime.fromisoformat(str(item.payload["start"]))
    end = datetime.fromisoformat(str(item.payload["end"]))
    missed = await checkins.missed_between(delivery.db, item.recipient_id, start, end)
    if not missed:
        return Drop("nothing_missed")
    lines = [
        delivery.gettext(
            DIGEST_TEXT,
            count=len(missed),
            start=delivery.local_time(start, "HH:mm"),
            end=delivery.local_time(end, "HH:mm"),
        )
    ]
    builder = InlineKeyboardBuilder()
    for client_id, name in missed[:DIGEST_LIMIT]:
        lines.append(f"• {html.quote(name)}")
        builder.button(text=clip(name, 40), callback_data=ClientCard(client_id=client_id))
    if len(missed) > DIGEST_LIMIT:
        lines.append(f"… +{len(missed) - DIGEST_LIMIT}")
    builder.adjust(1)
    await delivery.send_message("\n".join(lines), reply_markup=builder.as_markup())
    return SENT


async def help_alert(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """Urgent: no quiet hours, never dropped for lateness."""
    client = await clients.get(delivery.db, int(item.payload["client"]))
    if client is None:
        return Drop("no_client")
    at = datetime.fromisoformat(str(item.payload["at"]))
    text = delivery.gettext(HELP_TEXT, name=html.quote(client.name), time=delivery.local_time(at))
    builder = InlineKeyboardBuilder()
    builder.button(
        text=delivery.gettext(OPEN_CARD), callback_data=ClientCard(client_id=client.telegram_id)
    )
    await delivery.send_message(text, reply_markup=builder.as_markup())
    return SENT


def register(engine: Engine) -> None:
    engine.register(REMIND, remind)
    engine.register(FOLLOW_UP, follow_up)
    engine.register(CLOSE, close)
    engine.register(DIGEST, digest)
    engine.register(HELP_ALERT, help_alert)
