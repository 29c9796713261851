"""The engine kinds of appointments (stored by services/appointments.py), and what archiving
a client does to their appointments.

- REMIND, to the client: 7, 3 and 1 days and 2 hours before (settings). Each re-reads the
  appointment and is dropped when it is no longer booked, was moved (another sequence),
  has begun, or the client is archived or with another officer. Quiet hours were applied
  when it was stored; one running late into them waits for the morning, unless it is the
  urgent one (2 hours) or the day-before one would then come too late: the day-before
  reminder is never dropped for lateness while the appointment is ahead. It carries the
  address with a map pin, a plan-making prompt and, calmly, what missing it means.
- ACK_CHECK, to the caseworker: an assigned visit still not acknowledged (in their working
  hours when that is before the visit).
- ALERT, to the caseworker, else the administrators (the officer removed, reassigned or
  unreachable; a send their Telegram refuses), like «I need help»: the client cannot
  come as planned, and why.
- NEWS, to the client: a visit assigned (with its .ics and the answer buttons), an
  appointment cancelled by the office (.ics METHOD:CANCEL), or cancelled for a day off
  (with the next free times of the same officer as buttons).
- CONFIRMATION, to the client: their own booking, move or cancellation confirmed (the text,
  the map pin, the .ics), stored with the change. A reply to their press (REPLY priority,
  no quiet hours): the handler delivers it at once in place of the pressed screen; when
  Telegram refused that, the engine's retry sends the text as a new message, with each
  part sent once (`delivery.once`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from core.priority import Priority
from core.timecalc import in_quiet_hours, outside_quiet_hours
from db import appointments, clients, scheduled, users, working_hours
from db.appointments import Appointment
from db.clients import Client
from db.scheduled import ScheduledItem
from db.users import Role
from handlers.appointments import booking, mine
from handlers.appointments.answers import reply_buttons
from handlers.appointments.calendar_file import ics_file
from handlers.appointments.callbacks import BookSlot, pack_moment
from handlers.checkins.need_help import REASSIGN, WHY
from handlers.client_card import OPEN_CARD, open_card_markup
from handlers.client_status import StatusChange, on_status_change
from handlers.staff_ui import reassign_markup
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome, Postpone
from services.appointments import (
    ACK_CHECK,
    ALERT,
    ASSIGNED,
    BOOKED,
    CANCELLED,
    CONFIRMATION,
    DAY_OFF,
    MOVED,
    NEWS,
    REMIND,
    alert_key,
    cancel_all_for_client_in,
    free_slots,
    office,
)

log = logging.getLogger(__name__)

SUMMARY = N_("Appointment with your probation officer")
TIME = N_("Time: {when}")
PLACE = N_("Place: {place}")

SOON = N_("📅 A reminder: you have an appointment with your probation officer.")
DAY_BEFORE = N_("📅 Your appointment with your probation officer is tomorrow.")
SAME_DAY = N_("📅 Your appointment with your probation officer is today.")
PLAN = N_(
    "Make a plan now: when will you leave, and how will you get there? Leave some time for the road."
)
MISSING = N_(
    "Coming matters: a missed appointment is recorded and your officer has to report it. "
    "If something gets in the way, tell your officer now with a button below."
)
VERY_SOON = N_("⏰ Your appointment with your probation officer is very soon.")

NOT_ACKNOWLEDGED = N_(
    "⏳ {name} has not yet confirmed the visit you assigned.\nAppointment: {when}\nPlease contact them."
)

REASONS = {
    "reschedule": N_("asks for another time"),
    "transport": N_("transport"),
    "work": N_("work"),
    "illness": N_("illness"),
    "other": N_("something else"),
}
TO_OFFICER = N_(
    "📅 {name} cannot come to the appointment as planned.\nReason: {reason}\nAppointment: {when}\nPlease contact them."
)
TO_ADMIN = N_(
    "📅 {name} cannot come to the appointment as planned.\nReason: {reason}\nAppointment: {when}\n{why} Please make sure someone contacts them."
)

ASSIGNED_TEXT = N_("📅 Your probation officer has set a visit for you. It is mandatory.")
CONFIRM = N_("Please confirm that you will come, or tell what gets in the way.")
ICS_ADD = N_("📎 Open this file to add the appointment to your phone's calendar.")
ICS_REMOVE = N_("📎 Open this file to remove the appointment from your phone's calendar.")
CANCELLED_TEXT = N_("❌ The office has cancelled your appointment.")
CANCELLED_NEW_OFFICER = N_(
    "❌ Your appointment is cancelled because you have a new probation officer."
)
BOOK_AGAIN = N_("Book a new time with your new officer: /appointments")
DAY_OFF_TEXT = N_(
    "❌ Your officer is not receiving visitors that day, so your appointment is cancelled."
)
NEXT_FREE = N_("The next free times: press one to book it.")
NO_FREE = N_("There are no free times right now. Please write to your officer.")
NEXT_FREE_LIMIT = 5


# -- helpers -----------------------------------------------------------------------------


async def _send_document(delivery: Delivery, document: BufferedInputFile, caption: str) -> None:
    await delivery.pace()
    try:
        await delivery.bot.send_document(delivery.item.recipient_id, document, caption=caption)
    finally:
        delivery.paced()


async def _send_pin(delivery: Delivery, appointment: Appointment) -> None:
    """The place on the map, its address on the pin when there is one."""
    if appointment.latitude is None or appointment.longitude is None:
        return
    await delivery.pace()
    try:
        if appointment.place:
            await delivery.bot.send_venue(
                delivery.item.recipient_id,
                appointment.latitude,
                appointment.longitude,
                title=delivery.gettext(SUMMARY),
                address=appointment.place,
            )
        else:
            await delivery.bot.send_location(
                delivery.item.recipient_id, appointment.latitude, appointment.longitude
            )
    finally:
        delivery.paced()


def _where(delivery: Delivery, appointment: Appointment) -> list[str]:
    """The time (in words: "tomorrow at 10:30") and the place, as labelled lines."""
    lines = [delivery.gettext(TIME, when=delivery.local_time(appointment.starts_at))]
    if appointment.place:
        lines.append(delivery.gettext(PLACE, place=html.quote(appointment.place)))
    return lines


async def _own_client(delivery: Delivery, appointment: Appointment) -> Client | None:
    """The client, while still an active client of this appointment's officer."""
    client = await clients.get(delivery.db, appointment.client_id)
    if (
        client is None
        or client.status != "active"
        or client.caseworker_id != appointment.caseworker_id
    ):
        return None
    return client


async def _moved_on(delivery: Delivery, appointment: Appointment) -> bool:
    """The client has another officer now (reassigned, or their officer removed)."""
    client = await clients.get(delivery.db, appointment.client_id)
    return (
        client is not None
        and client.status == "active"
        and client.caseworker_id != appointment.caseworker_id
    )


def _quiet_until(delivery: Delivery, before: datetime) -> Postpone | None:
    """Out of the client's quiet hours when that is still before `before`."""
    quiet = delivery.settings.quiet
    if not in_quiet_hours(delivery.now, delivery.zone, quiet):
        return None
    morning = outside_quiet_hours(delivery.now, delivery.zone, quiet)
    return Postpone(morning, "quiet_hours") if morning < before else None


# -- REMIND --------------------------------------------------------------------------------


def _superseded(delivery: Delivery, starts: datetime, before: timedelta) -> bool:
    """A later reminder of the same appointment is due too (the bot was down): this one
    would only repeat it."""
    return any(
        other < before and delivery.now >= starts - other
        for other in delivery.settings.appointments.reminders
    )


def _reminder_text(delivery: Delivery, appointment: Appointment, before: timedelta) -> str:
    rules = delivery.settings.appointments
    starts = appointment.starts_at
    where = _where(delivery, appointment)
    days = (
        starts.astimezone(delivery.zone).date() - delivery.now.astimezone(delivery.zone).date()
    ).days
    if before == rules.day_before:
        head = {0: SAME_DAY, 1: DAY_BEFORE}.get(days, SOON)
        parts = [
            "\n".join([delivery.gettext(head), *where]),
            delivery.gettext(PLAN),
            delivery.gettext(MISSING),
        ]
        return "\n\n".join(parts)
    if before > rules.day_before:
        head = (
            delivery.ngettext(
                "📅 A reminder: your appointment with your probation officer is in {n} day.",
                "📅 A reminder: your appointment with your probation officer is in {n} days.",
                days,
            )
            if days > 1
            else delivery.gettext(SOON)
        )
        return "\n".join([head, *where])
    hours = round((starts - delivery.now) / timedelta(hours=1))
    head = (
        delivery.ngettext(
            "⏰ Your appointment with your probation officer is in {n} hour.",
            "⏰ Your appointment with your probation officer is in {n} hours.",
            hours,
        )
        if hours >= 1
        else delivery.gettext(VERY_SOON)
    )
    return "\n".join([head, *where])


async def remind(item: ScheduledItem, delivery: Delivery) -> Outcome:
    appointment = await appointments.get(delivery.db, int(item.payload.get("appointment", 0)))
    if appointment is None or not appointment.upcoming:
        return Drop("not_booked")
    if int(item.payload.get("sequence", -1)) != appointment.sequence:
        return Drop("moved")
    if delivery.now >= appointment.starts_at:
        return Drop("started")  # never a reminder after the appointment began
    if await _own_client(delivery, appointment) is None:
        return Drop("no_client")
    rules = delivery.settings.appointments
    before = timedelta(minutes=int(item.payload.get("before", 0)))
    day_before = before == rules.day_before
    if before > rules.urgent_within:
        # Only a late item meets quiet hours: they were applied when it was stored. The
        # morning must come before the urgent reminder; for the day-before one, before the
        # appointment (else it goes now: never dropped while the appointment is ahead).
        bound = appointment.starts_at - (timedelta(0) if day_before else rules.urgent_within)
        postponed = _quiet_until(delivery, bound)
        if postponed is not None:
            return postponed
        if not day_before and in_quiet_hours(delivery.now, delivery.zone, delivery.settings.quiet):
            return Drop("quiet_hours")  # the urgent reminder comes before the morning
    if delivery.late and not day_before and _superseded(delivery, appointment.starts_at, before):
        return Drop("superseded")
    text = _reminder_text(delivery, appointment, before)
    if note := delivery.late_note():
        text += "\n" + note
    markup = reply_buttons(delivery.gettext, appointment.id)
    if day_before:  # two messages: an outage after the text makes the retry send the pin only
        await delivery.once("text", lambda: delivery.send_message(text, reply_markup=markup))
        await _send_pin(delivery, appointment)
    else:
        await delivery.send_message(text, reply_markup=markup)
    return SENT


# -- ACK_CHECK -----------------------------------------------------------------------------


async def ack_check(item: ScheduledItem, delivery: Delivery) -> Outcome:
    db = delivery.db
    appointment = await appointments.get(db, int(item.payload.get("appointment", 0)))
    if appointment is None or not appointment.upcoming:
        return Drop("not_booked")
    if appointment.acknowledged_at is not None:
        return Drop("acknowledged")
    if delivery.now >= appointment.starts_at:
        return Drop("started")
    officer = await users.get(db, item.recipient_id)
    if (
        officer is None
        or officer.role is not Role.CASEWORKER
        or appointment.caseworker_id != item.recipient_id
    ):
        return Drop("officer_gone")
    client = await _own_client(delivery, appointment)
    if client is None:
        return Drop("no_client")
    hours = await working_hours.get(db, item.recipient_id)
    if not hours.is_open(delivery.now, delivery.zone):
        opening = hours.next_opening(delivery.now, delivery.zone)
        if opening is not None and opening < appointment.starts_at:
            return Postpone(opening, "working_hours")
    text = delivery.gettext(
        NOT_ACKNOWLEDGED,
        name=html.quote(client.name),
        when=delivery.local_time(appointment.starts_at),
    )
    buttons = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    await delivery.send_message(text, reply_markup=buttons)
    return SENT


# -- ALERT ---------------------------------------------------------------------------------


async def _escalate(engine: Engine, item: ScheduledItem, why: str) -> None:
    """The officer cannot get this alert: every administrator gets it now."""
    appointment = await appointments.get(engine.db, int(item.payload.get("appointment", 0)))
    if appointment is None:
        return
    answer = str(item.payload.get("answer", "other"))
    now = engine.now()
    admins = await users.admins(engine.db)
    async with engine.db.transaction() as conn:
        for admin in admins:
            await scheduled.schedule_in(
                conn,
                kind=ALERT,
                recipient_id=admin.telegram_id,
                due_at=now,
                now=now,
                payload={**item.payload, "why": why},
                dedupe_key=alert_key(appointment, answer, admin.telegram_id),
            )
    if not admins:
        log.error(
            "An appointment alert could not reach the officer and there are no administrators"
        )
    engine.poke(now)


async def alert(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """At once: no quiet hours, never dropped for lateness."""
    db = delivery.db
    client = await clients.get(db, int(item.payload.get("client", 0)))
    if client is None:
        return Drop("no_client")  # deleted their data meanwhile
    appointment = await appointments.get(db, int(item.payload.get("appointment", 0)))
    if appointment is None:
        return Drop("not_applicable")
    reason = delivery.gettext(REASONS.get(str(item.payload.get("answer")), REASONS["other"]))
    name = html.quote(client.name)
    when = delivery.local_time(appointment.starts_at)
    why = item.payload.get("why")
    if why is None:
        if client.status != "active":
            return Drop("archived")  # archiving cancelled the appointment
        officer = await users.get(db, item.recipient_id)
        if officer is None or officer.role is not Role.CASEWORKER:
            await _escalate(delivery.engine, item, "officer_gone")
            return Drop("officer_gone")
        if client.caseworker_id != item.recipient_id:
            # Reassigned meanwhile: that cancelled the appointment and told the client.
            return Drop("reassigned")
        if officer.unreachable:
            await _escalate(delivery.engine, item, "officer_unreachable")
            return Drop("officer_unreachable")
        text = delivery.gettext(TO_OFFICER, name=name, reason=reason, when=when)
        buttons = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    else:
        officer = await users.get(db, appointment.caseworker_id)
        officer_name = html.quote((officer.display_name if officer else None) or "—")
        because = delivery.gettext(WHY.get(str(why), WHY["no_officer"]), officer=officer_name)
        text = delivery.gettext(TO_ADMIN, name=name, reason=reason, when=when, why=because)
        buttons = reassign_markup(delivery.gettext(REASSIGN), client.telegram_id)
    await delivery.send_message(text, reply_markup=buttons)
    return SENT


def alert_failed(engine: Engine) -> Any:
    async def failed(item: ScheduledItem, reason: str) -> None:
        if item.payload.get("why") is None:  # to the officer: the administrators get it now
            await _escalate(engine, item, "officer_unreachable")
        else:
            log.error("An appointment alert to an administrator failed: %s", reason)

    return failed


# -- NEWS ----------------------------------------------------------------------------------


async def _next_free(delivery: Delivery, appointment: Appointment) -> list[datetime]:
    officer = await users.get(delivery.db, appointment.caseworker_id)
    if officer is None or officer.role is not Role.CASEWORKER:
        return []
    zone = delivery.settings.zone_for(officer.timezone)
    rules = delivery.settings.appointments
    where = await office(delivery.db, appointment.caseworker_id, zone)
    today = delivery.now.astimezone(zone).date()
    slots = await free_slots(
        delivery.db,
        where,
        today,
        today + timedelta(days=rules.horizon_days),
        delivery.now + rules.cutoff,
    )
    return slots[:NEXT_FREE_LIMIT]


def _slot_buttons(delivery: Delivery, slots: list[datetime]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for slot in slots:
        builder.button(
            text=delivery.local_time(slot), callback_data=BookSlot(at=pack_moment(slot), move=0)
        )
    builder.adjust(1)
    return builder.as_markup()


async def news(item: ScheduledItem, delivery: Delivery) -> Outcome:
    appointment = await appointments.get(delivery.db, int(item.payload.get("appointment", 0)))
    if appointment is None:
        return Drop("not_applicable")
    event = str(item.payload.get("event", ""))
    if delivery.now >= appointment.starts_at:
        return Drop("started")
    if event == ASSIGNED:
        if not appointment.upcoming:
            return Drop("not_booked")
        if await _own_client(delivery, appointment) is None:
            return Drop("no_client")
    elif event in (CANCELLED, DAY_OFF):
        if appointment.upcoming:
            return Drop("not_cancelled")
    else:
        return Drop("unknown_event")
    postponed = _quiet_until(delivery, appointment.starts_at)
    if postponed is not None:
        return postponed
    summary = delivery.gettext(SUMMARY)
    document = ics_file(appointment, summary, delivery.now)
    where = "\n".join(_where(delivery, appointment))
    markup: InlineKeyboardMarkup | None = None
    if event == ASSIGNED:
        ics = delivery.gettext(ICS_ADD)
        await delivery.once("ics", lambda: _send_document(delivery, document, ics))
        text = "\n".join([delivery.gettext(ASSIGNED_TEXT), where, "", delivery.gettext(CONFIRM)])
        markup = reply_buttons(delivery.gettext, appointment.id)
    else:
        ics = delivery.gettext(ICS_REMOVE)
        await delivery.once("ics", lambda: _send_document(delivery, document, ics))
        if event == DAY_OFF:
            text = delivery.gettext(DAY_OFF_TEXT) + "\n" + where
            slots = (
                await _next_free(delivery, appointment)
                if await _own_client(delivery, appointment) is not None
                else []
            )
            if slots:
                text += "\n\n" + delivery.gettext(NEXT_FREE)
                markup = _slot_buttons(delivery, slots)
            else:
                text += "\n\n" + delivery.gettext(NO_FREE)
        elif await _moved_on(delivery, appointment):
            text = "\n".join(
                [delivery.gettext(CANCELLED_NEW_OFFICER), where, "", delivery.gettext(BOOK_AGAIN)]
            )
        else:
            text = delivery.gettext(CANCELLED_TEXT) + "\n" + where
    note = delivery.late_note()
    if note:
        text += "\n" + note
    await delivery.send_message(text, reply_markup=markup)
    return SENT


# -- CONFIRMATION ----------------------------------------------------------------------------


async def _reply(delivery: Delivery, send: Callable[[], Awaitable[object]]) -> None:
    """A part of the confirmation: sent as a reply is (the chat was paced once, before the
    first part), and recorded for the chat's pace."""
    try:
        await send()
    finally:
        delivery.paced()


async def _confirmation_text(delivery: Delivery, text: str, screen: int | None) -> None:
    """In place of the pressed screen; as a new message when there is none (a retry) or it
    can no longer be edited."""
    chat = delivery.item.recipient_id
    if screen is not None:
        try:
            await delivery.bot.edit_message_text(text, chat_id=chat, message_id=screen)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
    await delivery.bot.send_message(chat, text)


async def confirm(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """The client's own booking, move or cancellation: the text (the screens' own, in the
    screen's language), the map pin of a booking or move, then the .ics."""
    appointment = await appointments.get(delivery.db, int(item.payload.get("appointment", 0)))
    if appointment is None or appointment.client_id != item.recipient_id:
        return Drop("not_applicable")
    if int(item.payload.get("sequence", -1)) != appointment.sequence:
        return Drop("superseded")  # moved or cancelled since: that change is confirmed
    if delivery.now >= appointment.starts_at:
        return Drop("started")
    event = str(item.payload.get("event", ""))
    if event not in (BOOKED, MOVED, CANCELLED):
        return Drop("unknown_event")
    delivery.language = str(item.payload.get("language") or delivery.language)
    with delivery.i18n.context(), delivery.i18n.use_locale(delivery.language):
        if event == CANCELLED:
            text = mine.cancelled_text(appointment, delivery.zone, delivery.now)
        else:
            rules = delivery.settings.appointments
            text = booking.booked_text(appointment, delivery.zone, rules, moved=event == MOVED)
        caption = booking.calendar_caption(appointment)
        document = ics_file(appointment, booking.summary(), delivery.now)
    # The handler's own try edits the pressed screen; a retry (Telegram refused it) is news.
    pressed = item.payload.get("screen")
    screen = int(pressed) if pressed is not None and item.attempts <= 1 else None
    if screen is None and (note := delivery.late_note()):
        text += "\n" + note
    chat = item.recipient_id
    await delivery.pace()
    await delivery.once(
        "text", lambda: _reply(delivery, lambda: _confirmation_text(delivery, text, screen))
    )
    latitude, longitude = appointment.latitude, appointment.longitude
    if event != CANCELLED and latitude is not None and longitude is not None:
        await delivery.once(
            "pin",
            lambda: _reply(delivery, lambda: delivery.bot.send_location(chat, latitude, longitude)),
        )
    await _reply(delivery, lambda: delivery.bot.send_document(chat, document, caption=caption))
    return SENT


# -- archiving ------------------------------------------------------------------------------


@on_status_change
async def cancel_on_archive(conn: aiosqlite.Connection, change: StatusChange) -> datetime | None:
    """An archived client's appointments still ahead are cancelled with their reminders (a
    closed case books no visits); restoring books nothing back."""
    if change.status == "archived":
        await cancel_all_for_client_in(conn, change.client_id, "caseworker", change.now, tell=False)
    return None


def register(engine: Engine) -> None:
    """Registers the appointment kinds with the engine."""
    engine.register(REMIND, remind)
    engine.register(ACK_CHECK, ack_check)
    engine.register(ALERT, alert, on_failed=alert_failed(engine), priority=Priority.ALERT)
    engine.register(NEWS, news)
    # A reply to the client's press: before alerts and reminders, at any hour.
    engine.register(CONFIRMATION, confirm, priority=Priority.REPLY)
