"""Caseworkers: /today and «📅 Today's visits»: the day's appointments in the caseworker's
zone, each with its client card and, once it has begun, attended / no-show buttons; a day
picker (previous / next day) and pages for a long day.

Every press re-reads the appointment: only the caseworker's own appointments can be marked,
and only after they began (services.appointments.set_outcome).
"""

from __future__ import annotations

from datetime import date, timedelta

from aiogram import Bot, Router, html
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.menu import Label, MenuButton
from db import appointments, clients
from db.appointments import Appointment, Status
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.appointments.callbacks import AgendaDay, MarkAttendance, Outcome, pack_day, unpack_day
from handlers.appointments.staff_ui import (
    day_bounds,
    hhmm,
    long_day,
    short_day,
    state_mark,
    today,
    zone_of,
)
from handlers.client_card import ClientCard
from handlers.ui import Screen, clip, edit_or_send, paginate, refuse, refuse_inactive
from services import appointments as service

PAGE = 6  # appointments on one page: each takes up to two rows of buttons
REACH = timedelta(days=400)  # how far from today the day picker goes


async def _names(db: Database, found: list[Appointment]) -> dict[int, str]:
    names = {}
    for client_id in {a.client_id for a in found}:
        client = await clients.get(db, client_id)
        names[client_id] = client.name if client is not None else f"#{client_id}"
    return names


async def agenda_screen(
    db: Database, user: User, settings: Settings, day: date, page: int, locale: str
) -> Screen:
    zone = zone_of(settings, user)
    now = utcnow()
    since, until = day_bounds(day, zone)
    found = await appointments.agenda(db, user.telegram_id, since, until)
    shown, page, pages = paginate(found, page, PAGE)
    names = await _names(db, list(shown))
    heading = _("📅 <b>Visits</b>: {day}").format(day=long_day(day, locale))
    if day == today(zone, now):
        heading += " · " + _("today")
    lines = [heading]
    if not found:
        lines.append(_("No visits on this day."))
        reception = await appointments.get_reception(db, user.telegram_id)
        if not reception.weekdays:
            lines.append(
                _("Clients can book once you set reception hours: /hours → «📅 Reception».")
            )
    builder = InlineKeyboardBuilder()
    sizes: list[int] = []
    for appointment in shown:
        name = names[appointment.client_id]
        starts, ends = hhmm(appointment.starts_at, zone), hhmm(appointment.ends_at, zone)
        line = f"{starts}–{ends} · {html.quote(name)}"
        mark = state_mark(appointment, now)
        if mark:
            line += f" · {mark}"
        lines.append(line)
        builder.button(
            text=f"{starts} · {clip(name, 22)}",
            callback_data=ClientCard(client_id=appointment.client_id),
        )
        sizes.append(1)
        if appointment.starts_at <= now:
            for outcome, label in (
                (Outcome.ATTENDED, _("✅ Came")),
                (Outcome.NO_SHOW, _("❌ No-show")),
            ):
                builder.button(
                    text=label,
                    callback_data=MarkAttendance(appointment_id=appointment.id, outcome=outcome),
                )
            sizes.append(2)
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
        packed = pack_day(day)
        builder.button(text="‹", callback_data=AgendaDay(day=packed, page=(page - 1) % pages))
        builder.button(text=f"{page + 1}/{pages}", callback_data=AgendaDay(day=packed, page=page))
        builder.button(text="›", callback_data=AgendaDay(day=packed, page=(page + 1) % pages))
        sizes.append(3)
    previous, following = day - timedelta(days=1), day + timedelta(days=1)
    builder.button(
        text="⬅️ " + short_day(previous, locale), callback_data=AgendaDay(day=pack_day(previous))
    )
    builder.button(
        text=short_day(following, locale) + " ➡️", callback_data=AgendaDay(day=pack_day(following))
    )
    sizes.append(2)
    if day != today(zone, now):
        builder.button(text=_("📅 Today"), callback_data=AgendaDay(day=pack_day(today(zone, now))))
        sizes.append(1)
    builder.adjust(*sizes)
    return "\n".join(lines), builder.as_markup()


async def show_today(
    message: Message, user: User, db: Database, settings: Settings, i18n: I18n
) -> None:
    day = today(zone_of(settings, user), utcnow())
    text, markup = await agenda_screen(db, user, settings, day, 0, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def show_day(
    query: CallbackQuery,
    callback_data: AgendaDay,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    day = unpack_day(callback_data.day)
    current = today(zone_of(settings, user), utcnow())
    if day is None or abs(day - current) > REACH:
        refuse_inactive(callback_answer)
        return
    screen = await agenda_screen(db, user, settings, day, callback_data.page, i18n.current_locale)
    await edit_or_send(query, bot, *screen)


async def mark(
    query: CallbackQuery,
    callback_data: MarkAttendance,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    appointment = await appointments.get(db, callback_data.appointment_id)
    if (
        appointment is None
        or appointment.caseworker_id != user.telegram_id
        or appointment.status is Status.CANCELLED
    ):
        refuse_inactive(callback_answer)
        return
    attended = callback_data.outcome is Outcome.ATTENDED
    try:
        changed = await service.set_outcome(
            db, appointment, Status.ATTENDED if attended else Status.NO_SHOW, utcnow()
        )
    except service.BookingError:
        refuse(callback_answer, _("You can mark it once the visit has begun."))
        return
    if not changed:
        refuse_inactive(callback_answer)
        return
    callback_answer.text = _("Marked: came.") if attended else _("Marked: did not come.")
    zone = zone_of(settings, user)
    day = appointment.starts_at.astimezone(zone).date()
    since, until = day_bounds(day, zone)
    found = await appointments.agenda(db, user.telegram_id, since, until)
    index = next((i for i, a in enumerate(found) if a.id == appointment.id), 0)
    screen = await agenda_screen(db, user, settings, day, index // PAGE, i18n.current_locale)
    await edit_or_send(query, bot, *screen)


def create_router() -> Router:
    router = Router(name="appointments-agenda")
    router.message.register(show_today, Command("today", ignore_case=True))
    router.message.register(show_today, MenuButton(Label.TODAY))
    router.callback_query.register(show_day, AgendaDay.filter())
    router.callback_query.register(mark, MarkAttendance.filter())
    return router
