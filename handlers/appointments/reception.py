"""Caseworkers: reception hours, reached from /hours («📅 Reception»): the weekdays (working
days only), the time from–to (inside working hours), the slot length, the place (an
address and an optional map pin), one-off extra slots and days off.

Reception lies inside working hours (one model of the week, db/working_hours.py): a day
that is not a working day cannot be switched on, and a time outside working hours is
refused. A day off over booked appointments asks first, then cancels them through
services.appointments.add_day_off (which tells each client) and says how many.

The callback factories of these screens are used here only, so they live here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from enum import StrEnum

from aiogram import Bot, F, Router, html
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import get_day_names

from bot.config import Settings
from bot.i18n import say_weekdays, translations_of
from bot.menu import Label
from core.reception import SLOT_LENGTHS, Reception
from core.timecalc import local_instant, parse_hhmm
from db import appointments
from db import working_hours as working_hours_db
from db.clock import utcnow
from db.database import Database
from db.users import User
from db.working_hours import WorkingHours, parse_range
from handlers.appointments.callbacks import pack_day, pack_moment, unpack_day, unpack_moment
from handlers.appointments.staff_ui import day_bounds, hhmm, short_day, today, zone_of
from handlers.hours import HoursScreen, OpenReception
from handlers.ui import ON_MESSAGE, Screen, clip, edit_or_send, refuse, refuse_inactive
from scheduler.engine import Engine
from services import appointments as service

PLACE_LIMIT = 200  # characters of the address
PICKER_DAYS = 14  # days on one page of the day picker


class Step(StrEnum):
    TIME = "time"  # asks for «10:00-13:00»
    ADDRESS = "address"  # asks for the address
    PIN = "pin"  # asks for a location
    PIN_CLEAR = "pin_clear"
    LIST = "list"  # upcoming days off and extra slots, to remove


class ReceptionAction(CallbackData, prefix="ra1"):
    step: Step


class ReceptionWeekday(CallbackData, prefix="rw1"):
    day: int  # Monday = 0


class ReceptionLength(CallbackData, prefix="rl1"):
    minutes: int


class Kind(StrEnum):
    EXTRA = "extra"  # a one-off extra slot
    OFF = "off"  # a day off


class ReceptionDays(CallbackData, prefix="rd1"):
    """The day picker for an extra slot or a day off, from local day `start` (0: today)."""

    kind: Kind
    start: int = 0


class ReceptionPick(CallbackData, prefix="rp1"):
    """A day picked: for an extra slot, asks for the time; for a day off, adds it (or asks
    first when appointments are booked on it: `sure`)."""

    kind: Kind
    day: int
    sure: bool = False


class ReceptionRemove(CallbackData, prefix="rx1"):
    """Removes an upcoming day off (`value`: the day) or extra slot (`value`: its start)."""

    kind: Kind
    value: int


class ReceptionInput(StatesGroup):
    time = State()
    address = State()
    pin = State()
    extra_time = State()  # data: {"day": YYYYMMDD}


def _leaves(message: Message, i18n: I18n) -> bool:
    """A command or a main-menu button typed instead of the answer asked for: the question
    is dropped and the update goes on to the handler it was meant for."""
    text = message.text or ""
    if text.startswith("/"):
        return True
    labels = (value for name, value in vars(Label).items() if not name.startswith("_"))
    return any(text in translations_of(i18n, label) for label in labels)


async def _leave_if_elsewhere(message: Message, i18n: I18n, state: FSMContext) -> None:
    if _leaves(message, i18n):
        await state.clear()
        raise SkipHandler


# -- the screen ----------------------------------------------------------------------------


def _minutes(starts: time, ends: time) -> int:
    return (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)


def _slot_label(minutes: int) -> str:
    return _("{minutes} min").format(minutes=minutes)


def reception_view(reception: Reception, week: WorkingHours, locale: str) -> Screen:
    days = reception.days(week)
    lines = [_("<b>Reception hours</b>: when clients can book a visit with you.")]
    lines.append(
        _("Days: {days}").format(days=say_weekdays(days) if days else _("none yet: tap the days"))
    )
    lines.append(
        _("Time: {starts}–{ends}").format(
            starts=f"{reception.starts:%H:%M}", ends=f"{reception.ends:%H:%M}"
        )
    )
    lines.append(_("One visit: {length}").format(length=_slot_label(reception.slot_minutes)))
    lines.append(
        _("Address: {place}").format(
            place=html.quote(reception.place) if reception.place else _("not set")
        )
    )
    lines.append(_("Map pin: set") if reception.latitude is not None else _("Map pin: none"))
    working = (
        f"{say_weekdays(week.weekdays)}, {week.opens:%H:%M}–{week.closes:%H:%M}"
        if week.weekdays
        else _("no working days")
    )
    lines.append(
        "\n"
        + _(
            "Reception lies inside your working hours ({hours}): only working days can be on."
        ).format(hours=working)
    )
    if days and reception.window(week) is None:
        lines.append(_("⚠️ The reception time is outside your working hours: no slots are offered."))
    names = get_day_names("abbreviated", locale=locale)
    builder = InlineKeyboardBuilder()
    for day in range(7):
        on = day in reception.weekdays
        mark = ("✅" if on else "▫️") if day in week.weekdays else "🚫"
        builder.button(text=f"{mark} {names[day]}", callback_data=ReceptionWeekday(day=day))
    for minutes in SLOT_LENGTHS:
        mark = "✅ " if minutes == reception.slot_minutes else ""
        builder.button(
            text=mark + _slot_label(minutes), callback_data=ReceptionLength(minutes=minutes)
        )
    builder.button(text=_("🕘 Reception time"), callback_data=ReceptionAction(step=Step.TIME))
    builder.button(text=_("🏢 Address"), callback_data=ReceptionAction(step=Step.ADDRESS))
    builder.button(text=_("📍 Map pin"), callback_data=ReceptionAction(step=Step.PIN))
    sizes = [4, 3, len(SLOT_LENGTHS), 1, 2]
    if reception.latitude is not None:
        builder.button(
            text=_("🗑 Remove the map pin"), callback_data=ReceptionAction(step=Step.PIN_CLEAR)
        )
        sizes.append(1)
    builder.button(text=_("➕ Extra slot"), callback_data=ReceptionDays(kind=Kind.EXTRA))
    builder.button(text=_("🏖 Day off"), callback_data=ReceptionDays(kind=Kind.OFF))
    builder.button(
        text=_("🗓 Days off and extra slots"), callback_data=ReceptionAction(step=Step.LIST)
    )
    builder.button(text=_("⬅️ Working hours"), callback_data=HoursScreen())
    sizes += [2, 1, 1]
    builder.adjust(*sizes)
    return "\n".join(lines), builder.as_markup()


async def _screen(db: Database, user: User, locale: str) -> Screen:
    reception = await appointments.get_reception(db, user.telegram_id)
    week = await working_hours_db.get(db, user.telegram_id)
    return reception_view(reception, week, locale)


def _back_markup() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("⬅️ Reception hours"), callback_data=OpenReception())
    return builder.as_markup()


async def show(
    query: CallbackQuery, user: User, db: Database, i18n: I18n, bot: Bot, state: FSMContext
) -> None:
    await state.clear()
    await edit_or_send(query, bot, *await _screen(db, user, i18n.current_locale))


async def _save(db: Database, user: User, reception: Reception) -> None:
    await appointments.save_reception(db, user.telegram_id, reception)


async def toggle_weekday(
    query: CallbackQuery,
    callback_data: ReceptionWeekday,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    week = await working_hours_db.get(db, user.telegram_id)
    if callback_data.day not in week.weekdays:
        refuse(
            callback_answer,
            _(
                "This is not one of your working days. Reception can only be on working days: add it in /hours first."
            ),
        )
        return
    reception = await appointments.get_reception(db, user.telegram_id)
    weekdays = frozenset(reception.weekdays ^ {callback_data.day})
    await _save(db, user, replace(reception, weekdays=weekdays))
    await edit_or_send(query, bot, *await _screen(db, user, i18n.current_locale))


async def choose_length(
    query: CallbackQuery,
    callback_data: ReceptionLength,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    reception = await appointments.get_reception(db, user.telegram_id)
    if _minutes(reception.starts, reception.ends) < callback_data.minutes:
        refuse(callback_answer, _("A visit this long does not fit in the reception time."))
        return
    await _save(db, user, replace(reception, slot_minutes=callback_data.minutes))
    await edit_or_send(query, bot, *await _screen(db, user, i18n.current_locale))


async def ask_time(
    query: CallbackQuery, message: Message, user: User, db: Database, state: FSMContext
) -> None:
    week = await working_hours_db.get(db, user.telegram_id)
    await state.set_state(ReceptionInput.time)
    await message.answer(
        _(
            "Send the reception time as «10:00-13:00». It must lie inside your working hours: {opens}–{closes}."
        ).format(opens=f"{week.opens:%H:%M}", closes=f"{week.closes:%H:%M}")
    )


async def time_given(
    message: Message, user: User, db: Database, i18n: I18n, state: FSMContext
) -> None:
    await _leave_if_elsewhere(message, i18n, state)
    parsed = parse_range(message.text or "")
    if parsed is None:
        await message.answer(_("I could not read that. Please send the time as «10:00-13:00»."))
        return
    starts, ends = parsed
    week = await working_hours_db.get(db, user.telegram_id)
    if starts < week.opens or ends > week.closes:
        await message.answer(
            _(
                "This is outside your working hours ({opens}–{closes}). Send a time inside them, or change your working hours in /hours first."
            ).format(opens=f"{week.opens:%H:%M}", closes=f"{week.closes:%H:%M}")
        )
        return
    reception = await appointments.get_reception(db, user.telegram_id)
    if _minutes(starts, ends) < reception.slot_minutes:
        await message.answer(
            _("This is shorter than one visit ({length}). Send a longer time.").format(
                length=_slot_label(reception.slot_minutes)
            )
        )
        return
    await state.clear()
    await _save(db, user, replace(reception, starts=starts, ends=ends))
    text, markup = await _screen(db, user, i18n.current_locale)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)


async def ask_address(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.set_state(ReceptionInput.address)
    await message.answer(
        _(
            "Send the address where you receive clients, as they should read it (up to {limit} characters), e.g. «Abai Ave 10, office 5, 2nd floor»."
        ).format(limit=PLACE_LIMIT)
    )


async def address_given(
    message: Message, user: User, db: Database, i18n: I18n, state: FSMContext
) -> None:
    await _leave_if_elsewhere(message, i18n, state)
    place = " ".join((message.text or "").split())
    if not place:
        await message.answer(_("Please send the address as text."))
        return
    if len(place) > PLACE_LIMIT:
        await message.answer(
            _("This is too long. Please keep it within {limit} characters.").format(
                limit=PLACE_LIMIT
            )
        )
        return
    await state.clear()
    reception = await appointments.get_reception(db, user.telegram_id)
    await _save(db, user, replace(reception, place=place))
    text, markup = await _screen(db, user, i18n.current_locale)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)


async def ask_pin(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.set_state(ReceptionInput.pin)
    await message.answer(
        _("Send the place on the map: 📎 → Location, then move the pin to the entrance.")
    )


async def pin_given(
    message: Message, user: User, db: Database, i18n: I18n, state: FSMContext
) -> None:
    await _leave_if_elsewhere(message, i18n, state)
    if message.location is None:
        await message.answer(_("Please send a location: 📎 → Location."))
        return
    await state.clear()
    reception = await appointments.get_reception(db, user.telegram_id)
    await _save(
        db,
        user,
        replace(
            reception,
            latitude=message.location.latitude,
            longitude=message.location.longitude,
        ),
    )
    text, markup = await _screen(db, user, i18n.current_locale)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)


async def clear_pin(query: CallbackQuery, user: User, db: Database, i18n: I18n, bot: Bot) -> None:
    reception = await appointments.get_reception(db, user.telegram_id)
    await _save(db, user, replace(reception, latitude=None, longitude=None))
    await edit_or_send(query, bot, *await _screen(db, user, i18n.current_locale))


# -- extra slots and days off ------------------------------------------------------------


def _picker(
    kind: Kind,
    start: date,
    first: date,
    last: date,
    week: WorkingHours,
    off: set[date],
    locale: str,
) -> Screen:
    if kind is Kind.EXTRA:
        text = _("<b>Extra slot</b>: choose the day (working days only).")
    else:
        text = _(
            "<b>Day off</b>: choose the day. Visits booked on it are cancelled and the clients are told."
        )
    builder = InlineKeyboardBuilder()
    shown = 0
    day = start
    end = min(start + timedelta(days=PICKER_DAYS - 1), last)
    while day <= end:
        if day.weekday() in week.weekdays and not (kind is Kind.EXTRA and day in off):
            mark = "🏖 " if day in off else ""
            builder.button(
                text=mark + short_day(day, locale),
                callback_data=ReceptionPick(kind=kind, day=pack_day(day)),
            )
            shown += 1
        day += timedelta(days=1)
    if not shown:
        text += "\n" + _("No working days here.")
    sizes = [3] * (shown // 3) + ([shown % 3] if shown % 3 else [])
    nav = 0
    if start > first:
        earlier = max(first, start - timedelta(days=PICKER_DAYS))
        builder.button(text="‹", callback_data=ReceptionDays(kind=kind, start=pack_day(earlier)))
        nav += 1
    if end < last:
        builder.button(
            text="›",
            callback_data=ReceptionDays(kind=kind, start=pack_day(end + timedelta(days=1))),
        )
        nav += 1
    if nav:
        sizes.append(nav)
    builder.button(text=_("⬅️ Reception hours"), callback_data=OpenReception())
    sizes.append(1)
    builder.adjust(*sizes)
    return text, builder.as_markup()


def _range(settings: Settings, user: User) -> tuple[date, date]:
    """The days the picker offers: today to the booking horizon."""
    first = today(zone_of(settings, user), utcnow())
    return first, first + timedelta(days=settings.appointment_rules.horizon_days)


async def show_days(
    query: CallbackQuery,
    callback_data: ReceptionDays,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    state: FSMContext,
) -> None:
    await state.clear()
    first, last = _range(settings, user)
    start = unpack_day(callback_data.start) if callback_data.start else first
    start = min(max(start or first, first), last)
    week = await working_hours_db.get(db, user.telegram_id)
    off = set(await appointments.days_off(db, user.telegram_id, first))
    screen = _picker(callback_data.kind, start, first, last, week, off, i18n.current_locale)
    await edit_or_send(query, bot, *screen)


def _picked_day(
    callback_data: ReceptionPick, settings: Settings, user: User, callback_answer: CallbackAnswer
) -> date | None:
    first, last = _range(settings, user)
    day = unpack_day(callback_data.day)
    if day is None or not first <= day <= last:
        refuse_inactive(callback_answer)
        return None
    return day


async def pick_extra_day(
    query: CallbackQuery,
    message: Message,
    callback_data: ReceptionPick,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    day = _picked_day(callback_data, settings, user, callback_answer)
    if day is None:
        return
    week = await working_hours_db.get(db, user.telegram_id)
    await state.set_state(ReceptionInput.extra_time)
    await state.set_data({"day": pack_day(day)})
    await message.answer(
        _(
            "Day: {day}. Send the start time of the extra slot as «15:00» (inside your working hours: {opens}–{closes})."
        ).format(
            day=short_day(day, i18n.current_locale),
            opens=f"{week.opens:%H:%M}",
            closes=f"{week.closes:%H:%M}",
        )
    )


async def extra_time_given(
    message: Message,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
) -> None:
    await _leave_if_elsewhere(message, i18n, state)
    day = unpack_day(int((await state.get_data()).get("day", 0)))
    if day is None:
        await state.clear()
        await message.answer(_("Please start again from the reception hours."))
        return
    try:
        at = parse_hhmm(message.text or "")
    except ValueError:
        await message.answer(_("I could not read that. Please send the time as «15:00»."))
        return
    zone = zone_of(settings, user)
    where = await service.office(db, user.telegram_id, zone)
    starts_at = local_instant(day, at, zone)
    if not service.valid_extra_slot(where, starts_at):
        week = where.week
        await message.answer(
            _(
                "A visit at this time would not fit in your working hours ({opens}–{closes}). Send another time."
            ).format(opens=f"{week.opens:%H:%M}", closes=f"{week.closes:%H:%M}")
        )
        return
    if starts_at <= utcnow():
        await message.answer(_("This time has passed. Send a later time."))
        return
    await state.clear()
    added = await appointments.add_extra_slot(db, user.telegram_id, starts_at)
    said = _("Extra slot added: {day}, {time}.") if added else _("This slot is already there.")
    text, markup = await _screen(db, user, i18n.current_locale)
    heading = said.format(day=short_day(day, i18n.current_locale), time=hhmm(starts_at, zone))
    await message.answer(heading + "\n\n" + text, reply_markup=markup)


async def pick_day_off(
    query: CallbackQuery,
    callback_data: ReceptionPick,
    user: User,
    db: Database,
    engine: Engine,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    day = _picked_day(callback_data, settings, user, callback_answer)
    if day is None:
        return
    zone = zone_of(settings, user)
    locale = i18n.current_locale
    if not callback_data.sure:
        since, until = day_bounds(day, zone)
        booked = await appointments.taken_slots(db, user.telegram_id, max(since, utcnow()), until)
        if booked:
            builder = InlineKeyboardBuilder()
            builder.button(
                text=_("✅ Yes, a day off"),
                callback_data=ReceptionPick(kind=Kind.OFF, day=callback_data.day, sure=True),
            )
            builder.button(text=_("⬅️ Back"), callback_data=ReceptionDays(kind=Kind.OFF))
            builder.adjust(1)
            text = _(
                "{day}: {count} visit is booked. It will be cancelled and the client told and offered other times. Make it a day off?",
                "{day}: {count} visits are booked. They will be cancelled and the clients told and offered other times. Make it a day off?",
                len(booked),
            ).format(day=short_day(day, locale), count=len(booked))
            await edit_or_send(query, bot, text, builder.as_markup())
            return
    cancelled = await service.add_day_off(
        db, engine, caseworker_id=user.telegram_id, day=day, zone=zone
    )
    said = _("Day off added: {day}.").format(day=short_day(day, locale))
    if cancelled:
        said += " " + _(
            "{count} visit cancelled; the client is told.",
            "{count} visits cancelled; the clients are told.",
            len(cancelled),
        ).format(count=len(cancelled))
    callback_answer.text = clip(said, 190)
    text, markup = await _screen(db, user, locale)
    await edit_or_send(query, bot, said + "\n\n" + text, markup)


async def show_list(
    query: CallbackQuery, user: User, db: Database, settings: Settings, i18n: I18n, bot: Bot
) -> None:
    await edit_or_send(query, bot, *await _list_screen(db, user, settings, i18n.current_locale))


async def _list_screen(db: Database, user: User, settings: Settings, locale: str) -> Screen:
    zone = zone_of(settings, user)
    now = utcnow()
    off = await appointments.days_off(db, user.telegram_id, today(zone, now))
    extra = await appointments.extra_slots(db, user.telegram_id, now)
    builder = InlineKeyboardBuilder()
    if not off and not extra:
        text = _("No upcoming days off or extra slots.")
    else:
        text = _("<b>Upcoming days off and extra slots</b>. Tap one to remove it.")
    shown = 0
    for day in off[:20]:
        builder.button(
            text="✖ 🏖 " + short_day(day, locale),
            callback_data=ReceptionRemove(kind=Kind.OFF, value=pack_day(day)),
        )
        shown += 1
    for moment in extra[:20]:
        local_day = moment.astimezone(zone).date()
        builder.button(
            text=f"✖ ➕ {short_day(local_day, locale)}, {hhmm(moment, zone)}",
            callback_data=ReceptionRemove(kind=Kind.EXTRA, value=pack_moment(moment)),
        )
        shown += 1
    builder.button(text=_("⬅️ Reception hours"), callback_data=OpenReception())
    builder.adjust(*([2] * (shown // 2) + ([1] if shown % 2 else []) + [1]))
    return text, builder.as_markup()


async def remove(
    query: CallbackQuery,
    callback_data: ReceptionRemove,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    if callback_data.kind is Kind.OFF:
        day = unpack_day(callback_data.value)
        removed = day is not None and await appointments.remove_day_off(db, user.telegram_id, day)
    else:
        moment = unpack_moment(callback_data.value)
        removed = moment is not None and await appointments.remove_extra_slot(
            db, user.telegram_id, moment
        )
    if not removed:
        refuse_inactive(callback_answer)
        return
    callback_answer.text = _("Removed.")
    await edit_or_send(query, bot, *await _list_screen(db, user, settings, i18n.current_locale))


def create_router() -> Router:
    router = Router(name="appointments-reception")
    on = router.callback_query.register
    on(show, OpenReception.filter())
    on(toggle_weekday, ReceptionWeekday.filter(F.day.in_(range(7))))
    on(choose_length, ReceptionLength.filter(F.minutes.in_(SLOT_LENGTHS)))
    on(ask_time, ReceptionAction.filter(F.step == Step.TIME), ON_MESSAGE)
    on(ask_address, ReceptionAction.filter(F.step == Step.ADDRESS), ON_MESSAGE)
    on(ask_pin, ReceptionAction.filter(F.step == Step.PIN), ON_MESSAGE)
    on(clear_pin, ReceptionAction.filter(F.step == Step.PIN_CLEAR))
    on(show_list, ReceptionAction.filter(F.step == Step.LIST))
    on(show_days, ReceptionDays.filter())
    on(pick_extra_day, ReceptionPick.filter(F.kind == Kind.EXTRA), ON_MESSAGE)
    on(pick_day_off, ReceptionPick.filter(F.kind == Kind.OFF))
    on(remove, ReceptionRemove.filter())
    router.message.register(time_given, StateFilter(ReceptionInput.time))
    router.message.register(address_given, StateFilter(ReceptionInput.address))
    router.message.register(pin_given, StateFilter(ReceptionInput.pin))
    router.message.register(extra_time_given, StateFilter(ReceptionInput.extra_time))
    return router
