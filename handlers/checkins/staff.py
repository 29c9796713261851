"""Caseworkers set a client's check-in schedule from the client card: pattern, time, window, location, pause."""

from __future__ import annotations

from aiogram import Router, html
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
from bot.i18n import format_datetime
from bot.roles import HasRole, restrict
from core.timecalc import parse_hhmm
from db import checkins, clients, users
from db.checkins import CheckinSchedule
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import Role, User
from handlers.caseload import ClientCard, ScheduleMenu, owned_client
from handlers.checkins.planning import describe, replan
from scheduler.engine import Engine

MAX_EVERY_N = 30


class ScheduleAction(CallbackData, prefix="sa"):
    client_id: int
    action: str  # daily | weekdays | every_n | window | location | pause | resume | time


class ScheduleDay(CallbackData, prefix="sd"):
    client_id: int
    day: int


class ScheduleInput(StatesGroup):
    time = State()
    every_n = State()
    window = State()


async def _view(
    client: Client, db: Database, settings: Settings, i18n: I18n
) -> tuple[str, InlineKeyboardMarkup]:
    schedule = await checkins.get_schedule(db, client.telegram_id)
    lines = [
        _("⏰ <b>Check-ins for {name}</b>").format(name=html.quote(client.name)),
        _("Schedule: {schedule}").format(schedule=describe(schedule, i18n.current_locale)),
    ]
    if schedule is not None:
        lines.append(_("Window to answer: {hours} h").format(hours=schedule.window_hours))
        lines.append(
            _("Location asked: yes") if schedule.request_location else _("Location asked: no")
        )
        upcoming = await checkins.next_planned(db, client.telegram_id)
        if upcoming is not None:
            person = await users.get(db, client.telegram_id)
            zone = settings.zone_for(person.timezone if person else None)
            lines.append(
                _("Next: {when}.").format(
                    when=format_datetime(
                        upcoming.opens_at, i18n.current_locale, zone, "EEEE d MMMM, HH:mm"
                    )
                )
            )
    lines.append(_("Times are the client's local time."))
    if settings.quiet is not None:
        lines.append(
            _("Nothing is sent between {start} and {end}: a check-in then moves to {end}.").format(
                start=f"{settings.quiet.start:%H:%M}", end=f"{settings.quiet.end:%H:%M}"
            )
        )
    cid = client.telegram_id
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("📅 Every day"), callback_data=ScheduleAction(client_id=cid, action="daily")
    )
    builder.button(
        text=_("🗓 Chosen weekdays"), callback_data=ScheduleAction(client_id=cid, action="weekdays")
    )
    builder.button(
        text=_("🔁 Every N days"), callback_data=ScheduleAction(client_id=cid, action="every_n")
    )
    sizes = [3]
    if schedule is not None:
        builder.button(
            text=_("⏱ Window"), callback_data=ScheduleAction(client_id=cid, action="window")
        )
        builder.button(
            text=_("📍 Location: on") if schedule.request_location else _("📍 Location: off"),
            callback_data=ScheduleAction(client_id=cid, action="location"),
        )
        if schedule.paused:
            builder.button(
                text=_("▶️ Resume"), callback_data=ScheduleAction(client_id=cid, action="resume")
            )
        else:
            builder.button(
                text=_("⏸ Pause"), callback_data=ScheduleAction(client_id=cid, action="pause")
            )
        sizes.append(3)
    builder.button(text=_("⬅️ Back to card"), callback_data=ClientCard(client_id=cid))
    sizes.append(1)
    builder.adjust(*sizes)
    return "\n".join(lines), builder.as_markup()


async def show(
    query: CallbackQuery,
    callback_data: ScheduleMenu,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None or not isinstance(query.message, Message):
        return
    text, markup = await _view(client, db, settings, i18n)
    await query.message.edit_text(text, reply_markup=markup)


async def _save(
    schedule: CheckinSchedule, client: Client, db: Database, engine: Engine, settings: Settings
) -> None:
    person = await users.get(db, client.telegram_id)
    await replan(
        db, engine, settings, schedule, settings.zone_for(person.timezone if person else None)
    )


async def act(
    query: CallbackQuery,
    callback_data: ScheduleAction,
    user: User,
    db: Database,
    engine: Engine,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None or not isinstance(query.message, Message):
        return
    schedule = await checkins.get_schedule(db, client.telegram_id)
    action = callback_data.action
    if action in {"daily", "every_n", "weekdays", "window"}:
        await state.set_data({"client_id": client.telegram_id, "pattern": action, "weekdays": []})
    if action == "daily":
        await state.set_state(ScheduleInput.time)
        await query.message.answer(_("At what time? Send it as «10:00» (the client's local time)."))
        return
    if action == "every_n":
        await state.set_state(ScheduleInput.every_n)
        await query.message.answer(
            _("Every how many days? Send a number from 2 to {max}.").format(max=MAX_EVERY_N)
        )
        return
    if action == "weekdays":
        await query.message.edit_text(
            _("Choose the days, then press «Next»."),
            reply_markup=_days(client.telegram_id, set(), i18n.current_locale),
        )
        return
    if action == "time":  # after choosing weekdays
        data = await state.get_data()
        if data.get("client_id") != client.telegram_id or not data.get("weekdays"):
            callback_answer.text = _("Choose at least one day.")
            return
        await state.set_state(ScheduleInput.time)
        await query.message.answer(_("At what time? Send it as «10:00» (the client's local time)."))
        return
    if schedule is None:
        callback_answer.text = _("Set a schedule first.")
        return
    if action == "window":
        await state.set_state(ScheduleInput.window)
        await query.message.answer(
            _("How many hours may the client take to answer? Send a number from 1 to 72.")
        )
        return
    if action == "location":
        schedule = schedule.with_changes(request_location=not schedule.request_location)
    elif action in {"pause", "resume"}:
        schedule = schedule.with_changes(paused=action == "pause")
    else:
        return
    await _save(schedule, client, db, engine, settings)
    text, markup = await _view(client, db, settings, i18n)
    await query.message.edit_text(text, reply_markup=markup)


def _days(client_id: int, chosen: set[int], locale: str) -> InlineKeyboardMarkup:
    names = get_day_names("abbreviated", locale=locale)
    builder = InlineKeyboardBuilder()
    for day in range(7):
        mark = "✅" if day in chosen else "▫️"
        builder.button(
            text=f"{mark} {names[day]}", callback_data=ScheduleDay(client_id=client_id, day=day)
        )
    builder.button(
        text=_("Next ➡️"), callback_data=ScheduleAction(client_id=client_id, action="time")
    )
    builder.adjust(4, 3, 1)
    return builder.as_markup()


async def toggle_day(
    query: CallbackQuery,
    callback_data: ScheduleDay,
    user: User,
    db: Database,
    i18n: I18n,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None or not isinstance(query.message, Message) or not 0 <= callback_data.day <= 6:
        return
    data = await state.get_data()
    chosen = set(data.get("weekdays", [])) if data.get("client_id") == client.telegram_id else set()
    chosen ^= {callback_data.day}
    await state.set_data(
        {"client_id": client.telegram_id, "pattern": "weekdays", "weekdays": sorted(chosen)}
    )
    await query.message.edit_reply_markup(
        reply_markup=_days(client.telegram_id, chosen, i18n.current_locale)
    )


async def _input_client(
    message: Message, user: User, db: Database, state: FSMContext
) -> tuple[Client, dict[str, object]] | None:
    data = await state.get_data()
    client_id = data.get("client_id")
    client = (
        await clients.get_for_caseworker(db, int(client_id), user.telegram_id)
        if isinstance(client_id, int)
        else None
    )
    if client is None:
        await state.clear()
        await message.answer(_("This client is not on your caseload."))
        return None
    return client, data


async def time_given(
    message: Message,
    user: User,
    db: Database,
    engine: Engine,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
) -> None:
    found = await _input_client(message, user, db, state)
    if found is None:
        return
    client, data = found
    try:
        at = parse_hhmm(message.text or "")
    except ValueError:
        await message.answer(_("I could not read that. Please send the time as «10:00»."))
        return
    await state.clear()
    current = await checkins.get_schedule(db, client.telegram_id)
    person = await users.get(db, client.telegram_id)
    today = utcnow().astimezone(settings.zone_for(person.timezone if person else None)).date()
    weekdays = data.get("weekdays")
    schedule = CheckinSchedule(
        client_id=client.telegram_id,
        pattern=str(data.get("pattern", "daily")),
        at_time=at,
        weekdays=frozenset(int(d) for d in weekdays) if isinstance(weekdays, list) else frozenset(),
        every_n=int(str(data.get("every_n", 1))),
        anchor_date=today,
        window_hours=current.window_hours if current else 12,
        request_location=current.request_location if current else False,
    )
    await _save(schedule, client, db, engine, settings)
    text, markup = await _view(client, db, settings, i18n)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)


async def every_n_given(message: Message, user: User, db: Database, state: FSMContext) -> None:
    found = await _input_client(message, user, db, state)
    if found is None:
        return
    _client, data = found
    text = (message.text or "").strip()
    if not text.isdigit() or not 2 <= int(text) <= MAX_EVERY_N:
        await message.answer(_("Please send a number from 2 to {max}.").format(max=MAX_EVERY_N))
        return
    await state.set_data({**data, "pattern": "every_n_days", "every_n": int(text)})
    await state.set_state(ScheduleInput.time)
    await message.answer(_("At what time? Send it as «10:00» (the client's local time)."))


async def window_given(
    message: Message,
    user: User,
    db: Database,
    engine: Engine,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
) -> None:
    found = await _input_client(message, user, db, state)
    if found is None:
        return
    client, _data = found
    text = (message.text or "").strip()
    schedule = await checkins.get_schedule(db, client.telegram_id)
    if not text.isdigit() or not 1 <= int(text) <= 72:
        await message.answer(_("Please send a number from 1 to 72."))
        return
    await state.clear()
    if schedule is not None:
        await _save(schedule.with_changes(window_hours=int(text)), client, db, engine, settings)
    view, markup = await _view(client, db, settings, i18n)
    await message.answer(_("Saved.") + "\n\n" + view, reply_markup=markup)


def create_router() -> Router:
    router = Router(name="checkins-staff")
    restrict(router, HasRole(Role.CASEWORKER))
    router.callback_query.register(show, ScheduleMenu.filter())
    router.callback_query.register(act, ScheduleAction.filter())
    router.callback_query.register(toggle_day, ScheduleDay.filter())
    router.message.register(time_given, StateFilter(ScheduleInput.time))
    router.message.register(every_n_given, StateFilter(ScheduleInput.every_n))
    router.message.register(window_given, StateFilter(ScheduleInput.window))
    return router
