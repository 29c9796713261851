"""Caseworkers set a client's check-in schedule from the client card: pattern, time, window,
location, pause. Also what check-ins put on the card (registered at import).

Callback data, the draft kept between steps and the screens: schedule_ui.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import N_
from core.timecalc import parse_hhmm
from db import checkins, clients, users
from db.checkins import CheckinSchedule
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.checkins.planning import replan
from handlers.checkins.schedule_ui import (
    Pattern,
    ScheduleAction,
    ScheduleDay,
    ScheduleDraft,
    ScheduleMenu,
    ScheduleStep,
    days_keyboard,
    schedule_keyboard,
    schedule_text,
)
from handlers.client_card import (
    CardButton,
    CardContext,
    card_buttons,
    card_lines,
    owned_client,
    relative,
)
from handlers.ui import ON_MESSAGE, Screen, edit_or_send
from scheduler.engine import Engine

MAX_EVERY_N = 30
ASK_TIME = N_("At what time? Send it as «10:00» (the client's local time).")


class ScheduleInput(StatesGroup):
    time = State()
    every_n = State()
    window = State()


# -- on the client card --------------------------------------------------------------------


async def card_lines_of_checkins(card: CardContext) -> list[str]:
    record = await checkins.record(card.db, card.client.telegram_id, card.now - timedelta(days=30))
    lines = [
        _("Check-ins in 30 days: ✅ {done} · ❗ {missed}. Last check-in: {when}").format(
            done=record.done,
            missed=record.missed,
            when=relative(record.last_answered_at, card.now, card.locale),
        )
    ]
    if card.client.last_checkin == "help":
        lines.append(_("🆘 At the last check-in the client asked for help."))
    return lines


async def card_buttons_of_checkins(card: CardContext) -> list[CardButton]:
    return [CardButton(_("⏰ Check-ins"), ScheduleMenu(client_id=card.client.telegram_id))]


card_lines.register(30, card_lines_of_checkins)
card_buttons.register(30, card_buttons_of_checkins)


# -- the schedule screen -------------------------------------------------------------------


async def _zone(db: Database, settings: Settings, client: Client) -> ZoneInfo:
    person = await users.get(db, client.telegram_id)
    return settings.zone_for(person.timezone if person else None)


async def _screen(client: Client, db: Database, settings: Settings, i18n: I18n) -> Screen:
    schedule = await checkins.get_schedule(db, client.telegram_id)
    upcoming = None
    if schedule is not None:
        planned = await checkins.next_planned(db, client.telegram_id)
        upcoming = planned.opens_at if planned is not None else None
    zone = await _zone(db, settings, client)
    text = schedule_text(client, schedule, upcoming, zone, settings, i18n.current_locale)
    return text, schedule_keyboard(client.telegram_id, schedule)


async def show(
    query: CallbackQuery,
    callback_data: ScheduleMenu,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    await edit_or_send(query, bot, *await _screen(client, db, settings, i18n))


async def _save(
    schedule: CheckinSchedule, client: Client, db: Database, engine: Engine, settings: Settings
) -> None:
    await replan(db, engine, settings, schedule, await _zone(db, settings, client))


# -- one handler per button ----------------------------------------------------------------


async def choose_daily(
    query: CallbackQuery,
    message: Message,
    callback_data: ScheduleAction,
    user: User,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    await state.set_data(ScheduleDraft(client.telegram_id, Pattern.DAILY).to_data())
    await state.set_state(ScheduleInput.time)
    await message.answer(_(ASK_TIME))


async def choose_every_n(
    query: CallbackQuery,
    message: Message,
    callback_data: ScheduleAction,
    user: User,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    await state.set_data(ScheduleDraft(client.telegram_id, Pattern.EVERY_N_DAYS).to_data())
    await state.set_state(ScheduleInput.every_n)
    await message.answer(
        _("How many days apart? Send a number from 2 to {max}.").format(max=MAX_EVERY_N)
    )


async def choose_weekdays(
    query: CallbackQuery,
    callback_data: ScheduleAction,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    await state.set_data(ScheduleDraft(client.telegram_id, Pattern.WEEKDAYS).to_data())
    markup = days_keyboard(client.telegram_id, frozenset(), i18n.current_locale)
    await edit_or_send(query, bot, _("Choose the days, then press «Next»."), markup)


async def toggle_day(
    query: CallbackQuery,
    message: Message,
    callback_data: ScheduleDay,
    user: User,
    db: Database,
    i18n: I18n,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    draft = ScheduleDraft.from_data(await state.get_data())
    chosen = draft.weekdays if draft and draft.client_id == client.telegram_id else frozenset()
    chosen ^= {callback_data.day}
    await state.set_data(ScheduleDraft(client.telegram_id, Pattern.WEEKDAYS, chosen).to_data())
    await message.edit_reply_markup(
        reply_markup=days_keyboard(client.telegram_id, chosen, i18n.current_locale)
    )


async def days_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: ScheduleAction,
    user: User,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    draft = ScheduleDraft.from_data(await state.get_data())
    if draft is None or draft.client_id != client.telegram_id or not draft.weekdays:
        callback_answer.text = _("Choose at least one day.")
        return
    await state.set_state(ScheduleInput.time)
    await message.answer(_(ASK_TIME))


async def _existing(
    client_id: int, user: User, db: Database, callback_answer: CallbackAnswer
) -> tuple[Client, CheckinSchedule] | None:
    """The client and their schedule, for the buttons that change a schedule already set."""
    client = await owned_client(client_id, user, db, callback_answer)
    if client is None:
        return None
    schedule = await checkins.get_schedule(db, client.telegram_id)
    if schedule is None:
        callback_answer.text = _("Set a schedule first.")
        return None
    return client, schedule


async def ask_window(
    query: CallbackQuery,
    message: Message,
    callback_data: ScheduleAction,
    user: User,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    found = await _existing(callback_data.client_id, user, db, callback_answer)
    if found is None:
        return
    await state.set_data(ScheduleDraft(found[0].telegram_id).to_data())
    await state.set_state(ScheduleInput.window)
    await message.answer(
        _("How many hours may the client take to answer? Send a number from 1 to 72.")
    )


def _change(
    change: Callable[[CheckinSchedule], CheckinSchedule],
) -> Callable[..., Awaitable[None]]:
    """A button that changes the saved schedule at once and shows the screen again."""

    async def handler(
        query: CallbackQuery,
        callback_data: ScheduleAction,
        user: User,
        db: Database,
        engine: Engine,
        settings: Settings,
        i18n: I18n,
        bot: Bot,
        callback_answer: CallbackAnswer,
    ) -> None:
        found = await _existing(callback_data.client_id, user, db, callback_answer)
        if found is None:
            return
        client, schedule = found
        await _save(change(schedule), client, db, engine, settings)
        await edit_or_send(query, bot, *await _screen(client, db, settings, i18n))

    return handler


toggle_location = _change(lambda s: s.with_changes(request_location=not s.request_location))
pause = _change(lambda s: s.with_changes(paused=True))
resume = _change(lambda s: s.with_changes(paused=False))


# -- typed answers -------------------------------------------------------------------------


async def _input_client(
    message: Message, user: User, db: Database, state: FSMContext
) -> tuple[Client, ScheduleDraft] | None:
    draft = ScheduleDraft.from_data(await state.get_data())
    client = (
        await clients.get_for_caseworker(db, draft.client_id, user.telegram_id)
        if draft is not None
        else None
    )
    if client is None or draft is None:
        await state.clear()
        await message.answer(_("This client is not on your caseload."))
        return None
    return client, draft


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
    client, draft = found
    try:
        at = parse_hhmm(message.text or "")
    except ValueError:
        await message.answer(_("I could not read that. Please send the time as «10:00»."))
        return
    await state.clear()
    current = await checkins.get_schedule(db, client.telegram_id)
    today = utcnow().astimezone(await _zone(db, settings, client)).date()
    schedule = CheckinSchedule(
        client_id=client.telegram_id,
        pattern=draft.pattern.value,
        at_time=at,
        weekdays=draft.weekdays if draft.pattern is Pattern.WEEKDAYS else frozenset(),
        every_n=draft.every_n if draft.pattern is Pattern.EVERY_N_DAYS else 1,
        anchor_date=today,
        window_hours=current.window_hours if current else 12,
        request_location=current.request_location if current else False,
    )
    await _save(schedule, client, db, engine, settings)
    text, markup = await _screen(client, db, settings, i18n)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)


async def every_n_given(message: Message, user: User, db: Database, state: FSMContext) -> None:
    found = await _input_client(message, user, db, state)
    if found is None:
        return
    client, _draft = found
    text = (message.text or "").strip()
    if not text.isdigit() or not 2 <= int(text) <= MAX_EVERY_N:
        await message.answer(_("Please send a number from 2 to {max}.").format(max=MAX_EVERY_N))
        return
    draft = ScheduleDraft(client.telegram_id, Pattern.EVERY_N_DAYS, every_n=int(text))
    await state.set_data(draft.to_data())
    await state.set_state(ScheduleInput.time)
    await message.answer(_(ASK_TIME))


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
    client, _draft = found
    text = (message.text or "").strip()
    schedule = await checkins.get_schedule(db, client.telegram_id)
    if not text.isdigit() or not 1 <= int(text) <= 72:
        await message.answer(_("Please send a number from 1 to 72."))
        return
    await state.clear()
    if schedule is not None:
        await _save(schedule.with_changes(window_hours=int(text)), client, db, engine, settings)
    view, markup = await _screen(client, db, settings, i18n)
    await message.answer(_("Saved.") + "\n\n" + view, reply_markup=markup)


def create_router() -> Router:
    router = Router(name="checkins-staff")
    on = router.callback_query.register
    message = ON_MESSAGE
    on(show, ScheduleMenu.filter())
    on(choose_daily, ScheduleAction.filter(F.action == ScheduleStep.DAILY), message)
    on(choose_every_n, ScheduleAction.filter(F.action == ScheduleStep.EVERY_N), message)
    on(choose_weekdays, ScheduleAction.filter(F.action == ScheduleStep.WEEKDAYS))
    on(days_chosen, ScheduleAction.filter(F.action == ScheduleStep.NEXT), message)
    on(ask_window, ScheduleAction.filter(F.action == ScheduleStep.WINDOW), message)
    on(toggle_location, ScheduleAction.filter(F.action == ScheduleStep.LOCATION))
    on(pause, ScheduleAction.filter(F.action == ScheduleStep.PAUSE))
    on(resume, ScheduleAction.filter(F.action == ScheduleStep.RESUME))
    on(toggle_day, ScheduleDay.filter(F.day.in_(range(7))), message)
    router.message.register(time_given, StateFilter(ScheduleInput.time))
    router.message.register(every_n_given, StateFilter(ScheduleInput.every_n))
    router.message.register(window_given, StateFilter(ScheduleInput.window))
    return router
