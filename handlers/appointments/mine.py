"""/appointments and the «📅 Appointments» menu button: the client's upcoming appointments,
each moved or cancelled here until the cutoff, and «Book» to the calendar (booking.py).

One appointment is shown with its buttons at once; several are listed, each opening its
own screen (`Mine(id, open)`); `Mine(0, open)` is the list itself (the booking screens'
«📅 My appointments»). A client cancels only what they booked: a visit the caseworker
assigned can be moved but not cancelled (the screen says so). An assigned visit not yet
acknowledged shows the reminder's answers (`ReminderReply`, handled in answers.py).
After the cutoff the screen says it is too late and to write to the officer. Every press
re-reads the appointment and checks that it is the presser's own.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import say_when
from bot.menu import Label, MenuButton, main_menu
from core.reception import AppointmentRules
from db import appointments
from db.appointments import Appointment, Origin
from db.database import Database
from db.users import User
from handlers.appointments import booking
from handlers.appointments.booking import (
    NOT_LINKED,
    BookStart,
    changeable,
    details,
    too_late_text,
)
from handlers.appointments.callbacks import (
    Mine,
    MineAction,
    ReminderReply,
    Reply,
)
from handlers.ui import Screen, refuse, refuse_inactive
from scheduler.engine import Engine
from services import appointments as service
from services.appointments import BookingError


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _book_button() -> InlineKeyboardButton:
    return _button(_("➕ Book an appointment"), BookStart())


def awaits_answer(appointment: Appointment) -> bool:
    """An assigned visit the client has not acknowledged yet."""
    return appointment.origin is Origin.ASSIGNED and appointment.acknowledged_at is None


def _notes(
    appointment: Appointment, zone: ZoneInfo, rules: AppointmentRules, now: datetime
) -> list[str]:
    notes = []
    if awaits_answer(appointment):
        notes.append(_("⚠️ Your officer assigned this visit. Please confirm that you will come."))
    elif appointment.origin is Origin.ASSIGNED:
        notes.append(_("Your officer assigned this visit: you can move it, but not cancel it."))
    if not changeable(appointment, rules, now):
        notes.append(too_late_text(appointment, zone, rules))
    elif not awaits_answer(appointment):
        deadline = say_when(appointment.starts_at - rules.cutoff, zone, now)
        notes.append(_("Changes are possible until: {when}").format(when=deadline))
    return notes


def _buttons(
    appointment: Appointment, rules: AppointmentRules, now: datetime
) -> list[list[InlineKeyboardButton]]:
    if awaits_answer(appointment):
        return [
            [
                _button(
                    _("✅ I'll be there"),
                    ReminderReply(appointment_id=appointment.id, reply=Reply.COMING),
                )
            ],
            [
                _button(
                    _("📅 I need to reschedule"),
                    ReminderReply(appointment_id=appointment.id, reply=Reply.RESCHEDULE),
                )
            ],
            [
                _button(
                    _("⚠️ I have a problem"),
                    ReminderReply(appointment_id=appointment.id, reply=Reply.PROBLEM),
                )
            ],
        ]
    if not changeable(appointment, rules, now):
        return []
    row = [_button(_("🔁 Move"), Mine(appointment_id=appointment.id, action=MineAction.MOVE))]
    if appointment.origin is Origin.BOOKED:
        row.append(
            _button(_("✖️ Cancel"), Mine(appointment_id=appointment.id, action=MineAction.CANCEL))
        )
    return [row]


def appointment_screen(
    appointment: Appointment,
    zone: ZoneInfo,
    rules: AppointmentRules,
    now: datetime,
    *,
    others: bool,
    can_book: bool,
) -> Screen:
    """One appointment with its buttons; `others`: a «back» to the list of several."""
    text = "\n\n".join(
        [
            _("📅 Your appointment"),
            details(appointment, zone, now),
            *_notes(appointment, zone, rules, now),
        ]
    )
    rows = _buttons(appointment, rules, now)
    if can_book:
        rows.append([_book_button()])
    if others:
        rows.append(
            [_button(_("📅 My appointments"), Mine(appointment_id=0, action=MineAction.OPEN))]
        )
    return text, InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def list_screen(
    upcoming: list[Appointment], zone: ZoneInfo, rules: AppointmentRules, now: datetime
) -> Screen:
    can_book = len(upcoming) < rules.max_upcoming
    if not upcoming:
        text = _(
            "📅 You have no upcoming appointments.\n\nBook a visit to your probation officer: "
            "choose a day and a time that suit you."
        )
        return text, InlineKeyboardMarkup(inline_keyboard=[[_book_button()]])
    if len(upcoming) == 1:
        return appointment_screen(upcoming[0], zone, rules, now, others=False, can_book=can_book)
    blocks = [_("📅 Your upcoming appointments:")]
    rows = []
    for number, appointment in enumerate(upcoming, start=1):
        block = f"{number}. " + details(appointment, zone, now)
        if awaits_answer(appointment):
            block += "\n" + _(
                "⚠️ Your officer assigned this visit. Please confirm that you will come."
            )
        blocks.append(block)
        label = f"{number}. {say_when(appointment.starts_at, zone, now, weekday=False)}"
        rows.append([_button(label, Mine(appointment_id=appointment.id, action=MineAction.OPEN))])
    blocks.append(_("Press an appointment to move or cancel it."))
    if can_book:
        rows.append([_book_button()])
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


async def _upcoming(db: Database, user: User, now: datetime) -> list[Appointment]:
    return await appointments.upcoming_for_client(db, user.telegram_id, now)


async def show_mine(
    message: Message, user: User, db: Database, settings: Settings, engine: Engine
) -> None:
    if not user.is_linked_client:
        await message.answer(_(NOT_LINKED), reply_markup=main_menu(user))
        return
    now = engine.now()
    zone = settings.zone_for(user.timezone)
    text, markup = list_screen(
        await _upcoming(db, user, now), zone, settings.appointment_rules, now
    )
    await message.answer(text, reply_markup=markup)


async def _own(
    callback_data: Mine, user: User, db: Database, callback_answer: CallbackAnswer
) -> Appointment | None:
    """The client's own appointment named by the press, else None (the press refused)."""
    if not user.is_linked_client:
        refuse(callback_answer, _(NOT_LINKED))
        return None
    appointment = await appointments.get(db, callback_data.appointment_id)
    if appointment is None or appointment.client_id != user.telegram_id:
        refuse_inactive(callback_answer)
        return None
    return appointment


async def pressed_open(
    query: CallbackQuery,
    callback_data: Mine,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    if not user.is_linked_client:
        refuse(callback_answer, _(NOT_LINKED))
        return
    now = engine.now()
    zone = settings.zone_for(user.timezone)
    rules = settings.appointment_rules
    upcoming = await _upcoming(db, user, now)
    if callback_data.appointment_id == 0:
        await booking.show(query, bot, list_screen(upcoming, zone, rules, now), in_place=True)
        return
    appointment = await _own(callback_data, user, db, callback_answer)
    if appointment is None:
        return
    if all(a.id != appointment.id for a in upcoming):  # cancelled, moved away, past
        refuse(callback_answer, booking.gone_text())
        await booking.show(query, bot, list_screen(upcoming, zone, rules, now), in_place=True)
        return
    screen = appointment_screen(
        appointment,
        zone,
        rules,
        now,
        others=len(upcoming) > 1,
        can_book=len(upcoming) == 1 and len(upcoming) < rules.max_upcoming,
    )
    await booking.show(query, bot, screen, in_place=True)


async def _changeable(
    callback_data: Mine,
    user: User,
    db: Database,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> Appointment | None:
    """The client's own upcoming appointment, before the cutoff, else None (refused with why)."""
    appointment = await _own(callback_data, user, db, callback_answer)
    if appointment is None:
        return None
    if not appointment.upcoming or appointment.ends_at <= now:
        refuse(callback_answer, booking.gone_text())
        return None
    rules = settings.appointment_rules
    if not changeable(appointment, rules, now):
        refuse(callback_answer, too_late_text(appointment, settings.zone_for(user.timezone), rules))
        return None
    return appointment


async def _cancellable(
    callback_data: Mine,
    user: User,
    db: Database,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> Appointment | None:
    """The client's own changeable appointment, if they booked it themselves: a visit their
    officer assigned can be moved but not cancelled in the bot (refused with a reason)."""
    appointment = await _changeable(callback_data, user, db, settings, now, callback_answer)
    if appointment is not None and appointment.origin is not Origin.BOOKED:
        refuse(
            callback_answer,
            _(
                "Your officer assigned this visit, so it cannot be cancelled in the bot. You "
                "can move it; if you cannot come at all, write to your officer."
            ),
        )
        return None
    return appointment


async def pressed_cancel(
    query: CallbackQuery,
    callback_data: Mine,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    now = engine.now()
    appointment = await _cancellable(callback_data, user, db, settings, now, callback_answer)
    if appointment is None:
        return
    zone = settings.zone_for(user.timezone)
    text = _("Cancel this appointment?") + "\n\n" + details(appointment, zone, now)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(
                    _("✖️ Yes, cancel it"),
                    Mine(appointment_id=appointment.id, action=MineAction.CANCEL_YES),
                )
            ],
            [
                _button(
                    _("⬅️ No, keep it"), Mine(appointment_id=appointment.id, action=MineAction.OPEN)
                )
            ],
        ]
    )
    await booking.show(query, bot, (text, markup), in_place=True)


async def pressed_cancel_yes(
    query: CallbackQuery,
    callback_data: Mine,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    now = engine.now()
    appointment = await _cancellable(callback_data, user, db, settings, now, callback_answer)
    if appointment is None:
        return
    rules = settings.appointment_rules
    zone = settings.zone_for(user.timezone)
    try:
        cancelled = await service.cancel(
            db,
            engine,
            appointment=appointment,
            by="client",
            rules=rules,
            now=now,
            reply=booking.reply_to(query),
        )
    except BookingError as error:
        if error.code == service.TOO_LATE:
            refuse(callback_answer, too_late_text(appointment, zone, rules))
        else:
            refuse(callback_answer, booking.gone_text())
        return
    await booking.confirm(engine, cancelled, service.CANCELLED)


def cancelled_text(cancelled: Appointment, zone: ZoneInfo, now: datetime) -> str:
    """The confirmation of the client's own cancellation (timed.py sends it, with the .ics)."""
    return "\n\n".join(
        [
            _("✖️ Your appointment is cancelled."),
            details(cancelled, zone, now),
            _(
                "The file below removes it from your phone's calendar. To book another time: /appointments"
            ),
        ]
    )


async def pressed_move(
    query: CallbackQuery,
    callback_data: Mine,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    now = engine.now()
    appointment = await _changeable(callback_data, user, db, settings, now, callback_answer)
    if appointment is None:
        return
    loaded = await booking.load(user, db, settings, engine, appointment.id, callback_answer)
    if loaded is None:
        return
    today = now.astimezone(loaded.zone)
    await booking.show(
        query, bot, booking.month_screen(loaded, today.year, today.month), in_place=True
    )


def create_router() -> Router:
    router = Router(name="appointments-mine")
    router.message.register(show_mine, Command("appointments", ignore_case=True))
    router.message.register(show_mine, MenuButton(Label.APPOINTMENTS))
    router.callback_query.register(pressed_open, Mine.filter(F.action == MineAction.OPEN))
    router.callback_query.register(pressed_cancel, Mine.filter(F.action == MineAction.CANCEL))
    router.callback_query.register(
        pressed_cancel_yes, Mine.filter(F.action == MineAction.CANCEL_YES)
    )
    router.callback_query.register(pressed_move, Mine.filter(F.action == MineAction.MOVE))
    return router
