"""The client books an appointment with their caseworker, or moves one, as easily as on a
booking site: a month calendar where only the days with free times can be pressed, then
that day's free times, then one confirmation screen; the booking (or move) is confirmed
with the details, the map pin and an .ics file: an engine item stored with the booking and
sent at once from here (timed.py: `confirm`), so a refusal by Telegram delays it, never
loses it.

Every press re-reads everything: the client must still have an officer, the slots are
computed again from that officer's reception hours and appointments (a forged day or
moment finds nothing to book), and an appointment being moved must be the client's own,
upcoming and before the cutoff. The database decides between two clients confirming one
slot at the same instant (services/appointments.py: book); the one who lost is told that
the time was just taken and is shown the next free ones.

Presses also come from messages other features send (ap-timed's news after a day off
offers `BookSlot(at)`; a reminder's «I need to reschedule» opens `BookMonth(move=id)`):
a screen pressed from such a message comes as a new message, so the message stays; a
press on one of our own screens (recognised by a button only they carry: `BookNothing`,
`BookStart` or `Mine`) replaces it in place.

Days in the calendar are the client's local days; slots are offered on the caseworker's
(the same zone for nearly everyone in Kazakhstan), and times are shown in the client's zone.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from aiogram import Bot, Router, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, get_day_names

from bot.config import Settings
from bot.i18n import N_, format_datetime, say_when
from core.dates import TIME
from core.reception import AppointmentRules
from db import appointments, users
from db.appointments import Appointment, Origin, SlotTakenError
from db.database import Database
from db.users import User
from handlers.appointments.callbacks import (
    BookConfirm,
    BookDay,
    BookMonth,
    BookSlot,
    Mine,
    MineAction,
    pack_day,
    pack_moment,
    unpack_day,
    unpack_moment,
)
from handlers.ui import Screen, refuse, refuse_inactive
from scheduler.engine import Engine
from services import appointments as service
from services.appointments import BookingError, Office

NOT_LINKED = N_(
    "You are not connected with a probation officer yet. Ask your officer for an invitation link."
)
# Translators: a Babel/CLDR date pattern, not text: LLLL is the month's name (standing
# alone), y the year. The calendar's title: order them as your language does.
MONTH_TITLE = N_("LLLL y")
# Translators: a Babel/CLDR date pattern, not text: EEEE is the weekday's full name, d the
# day, MMMM the month name. A day's title in the calendar: order them as your language does.
DAY_TITLE = N_("EEEE, d MMMM")
NEXT_FREE = 6  # free times offered after a lost race
TIMES_PER_ROW = 4


class BookNothing(CallbackData, prefix="bx1"):
    """A calendar cell or title that books nothing (a day without free times, a weekday)."""

    what: Literal["day", "title"] = "title"


class BookStart(CallbackData, prefix="bo1"):
    """«➕ Book an appointment» on the client's own screens: the calendar of this month (or
    the nearest with free days), in place of the screen."""


# Buttons only our own screens carry: a press on a message with one replaces that message.
PREFIXES_OF_OUR_SCREENS = (
    f"{BookNothing.__prefix__}{BookNothing.__separator__}",
    f"{Mine.__prefix__}{Mine.__separator__}",
    BookStart.__prefix__,
)


def summary() -> str:
    """The .ics event's title, in the client's language (no names of people)."""
    return _("Appointment with your probation officer")


# -- what the client may book now ---------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    """One press's view: the client, their caseworker's free slots now, what is being moved."""

    user: User
    zone: ZoneInfo  # the client's
    now: datetime
    rules: AppointmentRules
    office: Office
    slots: list[datetime]  # free, from now + the cutoff to the horizon, in order
    moving: Appointment | None
    days: dict[date, list[datetime]] = field(default_factory=dict)  # by the client's day

    @property
    def move_id(self) -> int:
        return 0 if self.moving is None else self.moving.id


async def caseworker_office(db: Database, settings: Settings, caseworker_id: int) -> Office:
    """The caseworker's reception in their own zone."""
    caseworker = await users.get(db, caseworker_id)
    zone = settings.zone_for(None if caseworker is None else caseworker.timezone)
    return await service.office(db, caseworker_id, zone)


async def bookable(
    db: Database, rules: AppointmentRules, where: Office, now: datetime
) -> list[datetime]:
    """The caseworker's free slots a client may book: from now + the cutoff to the horizon."""
    horizon = now + timedelta(days=rules.horizon_days)
    first = now.astimezone(where.zone).date()
    last = horizon.astimezone(where.zone).date()
    free = await service.free_slots(db, where, first, last, now + rules.cutoff)
    return [slot for slot in free if slot <= horizon]


def changeable(appointment: Appointment, rules: AppointmentRules, now: datetime) -> bool:
    """Whether the client may still move or cancel it (before the cutoff)."""
    return appointment.upcoming and appointment.starts_at - now >= rules.cutoff


def too_late_text(appointment: Appointment, zone: ZoneInfo, rules: AppointmentRules) -> str:
    deadline = say_when(appointment.starts_at - rules.cutoff, zone)
    return _(
        "It is too late to change this appointment in the bot (changes were possible until: "
        "{when}). If you cannot come, write to your officer."
    ).format(when=deadline)


def gone_text() -> str:
    return _("This appointment was cancelled or changed meanwhile. See /appointments.")


async def load(
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    move: int,
    callback_answer: CallbackAnswer,
) -> Booking | None:
    """The booking as it stands at this press, or None (the press is answered with why)."""
    if not user.is_linked_client or user.caseworker_id is None:
        refuse(callback_answer, _(NOT_LINKED))
        return None
    now = engine.now()
    rules = settings.appointment_rules
    zone = settings.zone_for(user.timezone)
    moving = None
    if move:
        moving = await appointments.get(db, move)
        if moving is None or moving.client_id != user.telegram_id:
            refuse_inactive(callback_answer)
            return None
        if not moving.upcoming or moving.caseworker_id != user.caseworker_id:
            refuse(callback_answer, gone_text())
            return None
        if not changeable(moving, rules, now):
            refuse(callback_answer, too_late_text(moving, zone, rules))
            return None
    where = await caseworker_office(db, settings, user.caseworker_id)
    slots = await bookable(db, rules, where, now)
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        days.setdefault(slot.astimezone(zone).date(), []).append(slot)
    return Booking(user, zone, now, rules, where, slots, moving, days)


async def holds_too_many(db: Database, booking: Booking) -> bool:
    """A new booking (not a move) while the client holds the most upcoming ones allowed."""
    if booking.moving is not None:
        return False
    held = await appointments.upcoming_for_client(db, booking.user.telegram_id, booking.now)
    return len(held) >= booking.rules.max_upcoming


# -- screens ------------------------------------------------------------------------------


def _noop(text: str, what: Literal["day", "title"] = "title") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=BookNothing(what=what).pack())


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _mine_button(booking: Booking) -> InlineKeyboardButton:
    """Back to the appointment being moved, or to the list (Mine with id 0)."""
    return _button(
        _("📅 My appointments"), Mine(appointment_id=booking.move_id, action=MineAction.OPEN)
    )


def details(appointment: Appointment, zone: ZoneInfo, now: datetime | None = None) -> str:
    """When and where, for the confirmation and the list."""
    lines = [_("Time: {when}").format(when=f"<b>{say_when(appointment.starts_at, zone, now)}</b>")]
    if appointment.place:
        lines.append(_("Place: {place}").format(place=html.quote(appointment.place)))
    return "\n".join(lines)


def _moving_line(booking: Booking) -> str:
    if booking.moving is None:
        return ""
    when = say_when(booking.moving.starts_at, booking.zone, booking.now)
    return "\n\n" + _("You are moving your appointment. Its time now: {when}").format(when=when)


def _title(day: date, pattern: str) -> str:
    """A date with a Babel pattern (already translated), capitalised as a title."""
    text = str(format_date(day, pattern, locale=get_i18n().current_locale))
    return text[:1].upper() + text[1:]


def _shown_month(booking: Booking, year: int, month: int) -> tuple[int, int]:
    """The month asked for when it has free days; else the nearest later one that has, else
    the nearest earlier one (an empty month is never shown while another has free days)."""
    months = sorted({(day.year, day.month) for day in booking.days})
    later = [m for m in months if m >= (year, month)]
    return later[0] if later else months[-1]


def no_free_times_screen(booking: Booking) -> Screen:
    days = booking.rules.horizon_days
    text = _(
        "😕 Your officer has no free times for appointments in the next {n} day. Write to your "
        "officer, or look again later.",
        "😕 Your officer has no free times for appointments in the next {n} days. Write to your "
        "officer, or look again later.",
        days,
    ).format(n=days)
    return text, InlineKeyboardMarkup(inline_keyboard=[[_mine_button(booking)]])


def too_many_screen(booking: Booking) -> Screen:
    most = booking.rules.max_upcoming
    text = _(
        "You already have {n} upcoming appointment, the most you can hold. To book another "
        "time, move or cancel it.",
        "You already have {n} upcoming appointments, the most you can hold. To book another "
        "time, move or cancel one of them.",
        most,
    ).format(n=most)
    return text, InlineKeyboardMarkup(inline_keyboard=[[_mine_button(booking)]])


def month_screen(booking: Booking, year: int, month: int) -> Screen:
    """The calendar: only days with free times carry a number and can be pressed."""
    if not booking.days:
        return no_free_times_screen(booking)
    year, month = _shown_month(booking, year, month)
    locale = get_i18n().current_locale
    first = date(year, month, 1)
    names = get_day_names("short", locale=locale, context="stand-alone")
    rows: list[list[InlineKeyboardButton]] = [
        [_noop(_title(first, _(MONTH_TITLE)))],
        [_noop(str(names[weekday])) for weekday in range(7)],
    ]
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row = []
        for day in week:
            if day.month != month:
                row.append(_noop(" "))
            elif day in booking.days:
                row.append(_button(str(day.day), BookDay(day=pack_day(day), move=booking.move_id)))
            else:
                row.append(_noop("·", "day"))
        rows.append(row)
    months = sorted({(day.year, day.month) for day in booking.days})
    earlier = [m for m in months if m < (year, month)]
    later = [m for m in months if m > (year, month)]
    navigation = []
    if earlier:
        y, m = earlier[-1]
        label = _title(date(y, m, 1), "LLLL")
        navigation.append(_button(f"◀️ {label}", BookMonth(year=y, month=m, move=booking.move_id)))
    if later:
        y, m = later[0]
        label = _title(date(y, m, 1), "LLLL")
        navigation.append(_button(f"{label} ▶️", BookMonth(year=y, month=m, move=booking.move_id)))
    if navigation:
        rows.append(navigation)
    rows.append([_mine_button(booking)])
    text = _("🗓 Choose a day for your appointment: the days with free times show their number.")
    return text + _moving_line(booking), InlineKeyboardMarkup(inline_keyboard=rows)


def day_screen(booking: Booking, day: date) -> Screen:
    slots = booking.days[day]
    locale = get_i18n().current_locale
    rows: list[list[InlineKeyboardButton]] = [[_noop(_title(day, _(DAY_TITLE)))]]
    for start in range(0, len(slots), TIMES_PER_ROW):
        rows.append(
            [
                _button(
                    format_datetime(slot, locale, booking.zone, TIME),
                    BookSlot(at=pack_moment(slot), move=booking.move_id),
                )
                for slot in slots[start : start + TIMES_PER_ROW]
            ]
        )
    back = BookMonth(year=day.year, month=day.month, move=booking.move_id)
    rows.append([_button(_("◀️ Other days"), back), _mine_button(booking)])
    text = _("🗓 Choose a time.")
    return text + _moving_line(booking), InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_screen(booking: Booking, slot: datetime) -> Screen:
    day = slot.astimezone(booking.zone).date()
    if booking.moving is None:
        head = _("Please check and confirm your appointment:")
    else:
        head = _("Move your appointment to this time?")
    lines = [
        head,
        "",
        _("Time: {when}").format(when=f"<b>{say_when(slot, booking.zone, booking.now)}</b>"),
    ]
    place = booking.office.reception.place
    if place:
        lines.append(_("Place: {place}").format(place=html.quote(place)))
    if booking.moving is not None:
        when = say_when(booking.moving.starts_at, booking.zone, booking.now)
        lines.append(_("Its time now: {when}").format(when=when))
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("✅ Confirm"), BookConfirm(at=pack_moment(slot), move=booking.move_id))],
            [
                _button(_("◀️ Other times"), BookDay(day=pack_day(day), move=booking.move_id)),
                _mine_button(booking),
            ],
        ]
    )
    return "\n".join(lines), markup


def taken_screen(booking: Booking, head: str, wanted: datetime) -> Screen:
    """After a lost race (or a time no longer bookable): the next free times after the one
    wanted (or the first ones, when none is later)."""
    following = [slot for slot in booking.slots if slot > wanted][:NEXT_FREE]
    following = following or booking.slots[:NEXT_FREE]
    rows = [
        [
            _button(
                say_when(slot, booking.zone, booking.now),
                BookSlot(at=pack_moment(slot), move=booking.move_id),
            )
        ]
        for slot in following
    ]
    if following:
        text = head + "\n\n" + _("The next free times: press one to book it.")
        first = following[0].astimezone(booking.zone)
        rows.append(
            [
                _button(
                    _("🗓 Other days"),
                    BookMonth(year=first.year, month=first.month, move=booking.move_id),
                )
            ]
        )
    else:
        text = head + "\n\n" + _("There are no free times right now. Please write to your officer.")
    rows.append([_mine_button(booking)])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def just_taken(booking: Booking, wanted: datetime) -> Screen:
    head = _("😕 Sorry, someone has just booked this time. Please choose another one.")
    return taken_screen(booking, head, wanted)


def booked_text(
    appointment: Appointment, zone: ZoneInfo, rules: AppointmentRules, moved: bool
) -> str:
    head = _("✅ Your appointment is moved.") if moved else _("✅ You are booked.")
    deadline = say_when(appointment.starts_at - rules.cutoff, zone)
    if appointment.origin is Origin.ASSIGNED:
        change = _("You can move it in /appointments until: {when}").format(when=deadline)
    else:
        change = _("You can move or cancel it in /appointments until: {when}").format(when=deadline)
    return "\n\n".join(
        [
            head,
            details(appointment, zone),
            _("We will remind you before it. The file below adds it to your phone's calendar."),
            change,
        ]
    )


def calendar_caption(appointment: Appointment) -> str:
    """The .ics file's caption: a new event or its move (same UID, higher SEQUENCE), or its
    removal."""
    if appointment.upcoming:
        return _("📎 Open this file to add the appointment to your phone's calendar.")
    return _("📎 Open this file to remove the appointment from your phone's calendar.")


def reply_to(query: CallbackQuery) -> service.Reply:
    """The client's confirmation replaces the screen pressed, in the language it was in."""
    message = query.message
    screen = message.message_id if isinstance(message, Message) else None
    return service.Reply(screen=screen, language=get_i18n().current_locale)


async def confirm(engine: Engine, appointment: Appointment, event: str) -> None:
    """Sends the client's confirmation (stored with the change) now, in this task: the text
    in place of the pressed screen, the map pin, the .ics (timed.py: `confirm`). When
    Telegram refuses it, the engine sends it with its retries (then as a new message)."""
    await engine.deliver_now(service.confirm_key(appointment, event))


# -- showing a screen -----------------------------------------------------------------------


def is_our_screen(message: Message) -> bool:
    """A booking or appointments screen (replaced in place), not another feature's message."""
    markup = message.reply_markup
    if markup is None:
        return False
    return any(
        (button.callback_data or "").startswith(PREFIXES_OF_OUR_SCREENS)
        for row in markup.inline_keyboard
        for button in row
    )


async def show(
    query: CallbackQuery, bot: Bot, screen: Screen, *, in_place: bool | None = None
) -> None:
    """Replaces the pressed screen when it is ours (or `in_place`), else sends a new message."""
    text, markup = screen
    message = query.message
    if in_place is None:
        in_place = isinstance(message, Message) and is_our_screen(message)
    if in_place and isinstance(message, Message) and message.text is not None:
        if message.html_text == text and message.reply_markup == markup:
            return
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:  # not modified; else too old to edit: send anew
            if "not modified" in exc.message:
                return
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


# -- handlers -----------------------------------------------------------------------------


async def pressed_month(
    query: CallbackQuery,
    callback_data: BookMonth,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    booking = await load(user, db, settings, engine, callback_data.move, callback_answer)
    if booking is None:
        return
    if await holds_too_many(db, booking):
        await show(query, bot, too_many_screen(booking))
        return
    year, month = callback_data.year, callback_data.month
    if not (1 <= month <= 12 and 1 <= year <= 9999):
        today = booking.now.astimezone(booking.zone)
        year, month = today.year, today.month  # forged: the nearest month with free days
    await show(query, bot, month_screen(booking, year, month))


async def pressed_start(
    query: CallbackQuery,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    booking = await load(user, db, settings, engine, 0, callback_answer)
    if booking is None:
        return
    if await holds_too_many(db, booking):
        await show(query, bot, too_many_screen(booking), in_place=True)
        return
    today = booking.now.astimezone(booking.zone)
    await show(query, bot, month_screen(booking, today.year, today.month), in_place=True)


async def pressed_day(
    query: CallbackQuery,
    callback_data: BookDay,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    booking = await load(user, db, settings, engine, callback_data.move, callback_answer)
    if booking is None:
        return
    day = unpack_day(callback_data.day)
    if day is None or day not in booking.days:
        refuse(
            callback_answer,
            _("There are no free times on this day now. Please choose another day."),
        )
        if day is not None and isinstance(query.message, Message) and is_our_screen(query.message):
            await show(query, bot, month_screen(booking, day.year, day.month))
        return
    if await holds_too_many(db, booking):
        await show(query, bot, too_many_screen(booking))
        return
    await show(query, bot, day_screen(booking, day))


async def why_not(db: Database, booking: Booking, slot: datetime) -> Screen | str:
    """Why a moment is not among the free times: a screen offering the next free ones (just
    taken, or too close now), or the text refusing a moment never offered (forged, stale)."""
    not_offered = _("This time is not offered. Please choose one in the calendar.")
    if slot > booking.now + timedelta(days=booking.rules.horizon_days):
        return not_offered
    day = slot.astimezone(booking.office.zone).date()
    held = await appointments.taken_slots(
        db, booking.office.caseworker_id, slot, slot + timedelta(seconds=1)
    )
    if held:
        own = await appointments.upcoming_for_client(db, booking.user.telegram_id, booking.now)
        if any(
            a.starts_at == slot and a.caseworker_id == booking.office.caseworker_id for a in own
        ):
            return _("This is already the time of your appointment. See /appointments.")
        return just_taken(booking, slot)
    ever = await service.free_slots(
        db, booking.office, day, day, datetime.min.replace(tzinfo=slot.tzinfo)
    )
    if slot in ever and slot > booking.now:
        return taken_screen(
            booking,
            _("😕 This time is too close now to book it in the bot. Please choose another one."),
            slot,
        )
    return not_offered


async def pressed_slot(
    query: CallbackQuery,
    callback_data: BookSlot,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    booking = await load(user, db, settings, engine, callback_data.move, callback_answer)
    if booking is None:
        return
    if await holds_too_many(db, booking):
        await show(query, bot, too_many_screen(booking))
        return
    slot = await _still_offered(query, bot, db, booking, callback_data.at, callback_answer, None)
    if slot is not None:
        await show(query, bot, confirm_screen(booking, slot))


async def _still_offered(
    query: CallbackQuery,
    bot: Bot,
    db: Database,
    booking: Booking,
    at: int,
    callback_answer: CallbackAnswer,
    in_place: bool | None,
) -> datetime | None:
    """The pressed slot while it is offered; else the client is told why (a refusal, or the
    free times when it was taken or is too close now) and None."""
    slot = unpack_moment(at)
    if slot is None:
        refuse_inactive(callback_answer)
        return None
    if slot in booking.slots:
        return slot
    reason = await why_not(db, booking, slot)  # taken, too close, beyond the horizon, never offered
    if isinstance(reason, str):
        refuse(callback_answer, reason)
    else:
        await show(query, bot, reason, in_place=in_place)
    return None


async def pressed_confirm(
    query: CallbackQuery,
    callback_data: BookConfirm,
    user: User,
    db: Database,
    settings: Settings,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    booking = await load(user, db, settings, engine, callback_data.move, callback_answer)
    if booking is None:
        return
    slot = await _still_offered(query, bot, db, booking, callback_data.at, callback_answer, True)
    if slot is None:
        return
    reply = reply_to(query)
    try:
        if booking.moving is None:
            appointment = await service.book(
                db,
                engine,
                client_id=user.telegram_id,
                where=booking.office,
                starts_at=slot,
                rules=booking.rules,
                client_zone=booking.zone,
                quiet=settings.quiet,
                reply=reply,
            )
        else:
            appointment = await service.move(
                db,
                engine,
                appointment=booking.moving,
                where=booking.office,
                starts_at=slot,
                rules=booking.rules,
                client_zone=booking.zone,
                quiet=settings.quiet,
                reply=reply,
            )
    except SlotTakenError:
        await show(query, bot, await _after_race(db, engine, booking, slot), in_place=True)
        return
    except BookingError as error:
        if error.code == service.NOT_OFFERED:  # taken between our look and the service's
            await show(query, bot, await _after_race(db, engine, booking, slot), in_place=True)
        elif error.code == service.TOO_MANY:
            await show(query, bot, too_many_screen(booking), in_place=True)
        elif error.code == service.TOO_LATE and booking.moving is not None:
            refuse(callback_answer, too_late_text(booking.moving, booking.zone, booking.rules))
        else:
            refuse(callback_answer, gone_text())
        return
    await confirm(engine, appointment, service.BOOKED if booking.moving is None else service.MOVED)


async def _after_race(db: Database, engine: Engine, booking: Booking, wanted: datetime) -> Screen:
    """The screen of the client who lost the slot: the free times as they are now."""
    fresh = await bookable(db, booking.rules, booking.office, engine.now())
    return just_taken(
        Booking(
            booking.user,
            booking.zone,
            engine.now(),
            booking.rules,
            booking.office,
            fresh,
            booking.moving,
        ),
        wanted,
    )


async def pressed_nothing(
    query: CallbackQuery, callback_data: BookNothing, callback_answer: CallbackAnswer
) -> None:
    if callback_data.what == "day":
        callback_answer.text = _("No free times on this day.")


def create_router() -> Router:
    router = Router(name="appointments-booking")
    router.callback_query.register(pressed_start, BookStart.filter())
    router.callback_query.register(pressed_month, BookMonth.filter())
    router.callback_query.register(pressed_day, BookDay.filter())
    router.callback_query.register(pressed_slot, BookSlot.filter())
    router.callback_query.register(pressed_confirm, BookConfirm.filter())
    router.callback_query.register(pressed_nothing, BookNothing.filter())
    return router
