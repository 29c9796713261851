"""The client's side of check-ins: the reminder's buttons, /checkin at any time, an optional location."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Final, Literal

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import say_when, translations_of
from bot.menu import Label, MenuButton, main_menu
from db import checkins, clients
from db.checkins import Checkin
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.checkins.need_help import ask_for_help
from handlers.checkins.planning import describe
from handlers.texts import emergency_numbers
from handlers.ui import ON_MESSAGE, refuse_inactive
from scheduler.engine import Engine

OK: Final = "ok"
HELP: Final = "help"


class CheckinAnswer(CallbackData, prefix="ci1"):
    """A check-in reminder's buttons (sent by handlers/checkins/timed.py).

    Reminders stay in chats for days: changing the fields means bumping the prefix's
    version (docs/architecture.md, "Callback data"), so an old press is refused, not misread.
    `answer` is a Literal rather than a StrEnum because timed.py builds it with plain strings.
    """

    checkin_id: int
    answer: Literal["ok", "help"]


class CheckinAnswerV0(CheckinAnswer, prefix="ci"):
    """Reminders sent before the prefix had a version, same fields: still answered, so that
    «🆘 I need help» pressed on one is never refused. Can go once such reminders are old."""


class LocationConsent(CallbackData, prefix="lc1"):
    """Whether the client agrees to share their location with check-ins."""

    allow: bool


def location_consent_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, I agree"), callback_data=LocationConsent(allow=True))
    builder.button(text=_("No"), callback_data=LocationConsent(allow=False))
    return builder.as_markup()


def share_location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📍 Share my location"), request_location=True)],
            [KeyboardButton(text=_("Skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


class SharingLocation(StatesGroup):
    waiting = State()


async def schedule_summary(db: Database, user: User, settings: Settings, i18n: I18n) -> str:
    """The client's schedule and next check-in, in words (after a check-in and in /help)."""
    schedule = await checkins.get_schedule(db, user.telegram_id)
    text = _("Your check-ins: {schedule}.").format(schedule=describe(schedule, i18n.current_locale))
    upcoming = await checkins.next_planned(db, user.telegram_id)
    if upcoming is not None:
        when = say_when(upcoming.opens_at, settings.zone_for(user.timezone))
        text += "\n" + _("Next: {when}.").format(when=when)
    return text


async def _confirm(
    message: Message,
    checkin: Checkin,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
) -> None:
    when = say_when(checkin.answered_at or utcnow(), settings.zone_for(user.timezone))
    if checkin.planned_at is None:
        head = _("✅ Thank you! An extra check-in is recorded ({time}).").format(time=when)
    else:
        head = _("✅ Thank you! Your check-in is recorded ({time}).").format(time=when)
    await message.answer(
        head + "\n\n" + await schedule_summary(db, user, settings, i18n),
        reply_markup=main_menu(user),
    )
    await _maybe_ask_location(message, checkin, user, db, state)


async def _maybe_ask_location(
    message: Message, checkin: Checkin, user: User, db: Database, state: FSMContext
) -> None:
    schedule = await checkins.get_schedule(db, user.telegram_id)
    if schedule is None or not schedule.request_location:
        return
    consent = await checkins.location_consent(db, user.telegram_id)
    await state.set_data({"checkin_id": checkin.id})
    if consent is None:
        await message.answer(
            _(
                "Your officer asks you to share your location when you check in. It is seen only by your officer. Do you agree?"
            ),
            reply_markup=location_consent_keyboard(),
        )
    elif consent:
        await _ask_location(message, state)


async def _ask_location(message: Message, state: FSMContext) -> None:
    await state.set_state(SharingLocation.waiting)
    await message.answer(
        _("Press «📍 Share my location» below."), reply_markup=share_location_keyboard()
    )


async def _own_reminder(
    message: Message, callback_data: CheckinAnswer, user: User, db: Database
) -> bool:
    """The reminder is this client's: its buttons go (a second press finds none)."""
    checkin = await checkins.get(db, callback_data.checkin_id)
    if checkin is None or checkin.client_id != user.telegram_id:
        return False
    await message.edit_reply_markup(reply_markup=None)
    return True


async def answer_fine(
    query: CallbackQuery,
    message: Message,
    callback_data: CheckinAnswer,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    event_update: Update,
) -> None:
    if not await _own_reminder(message, callback_data, user, db):
        refuse_inactive(callback_answer)
        return
    key = f"u{event_update.update_id}"
    recorded = await checkins.answer(db, user.telegram_id, "done", utcnow(), key)
    await _confirm(message, recorded, user, db, settings, i18n, state)


async def answer_help(
    query: CallbackQuery,
    callback_data: CheckinAnswer,
    user: User,
    db: Database,
    engine: Engine,
    bot: Bot,
    callback_answer: CallbackAnswer,
    event_update: Update,
) -> None:
    """Works on a reminder of any age: one older than about 48 hours arrives without an
    editable message, and a person asking for help is never turned away for that."""
    checkin = await checkins.get(db, callback_data.checkin_id)
    if checkin is None or checkin.client_id != user.telegram_id:
        refuse_inactive(callback_answer)
        return
    if isinstance(query.message, Message):
        with suppress(TelegramBadRequest):  # already without buttons, or too old to edit
            await query.message.edit_reply_markup(reply_markup=None)
    await ask_for_help(bot, user, db, engine, event_update.update_id)


async def check_in_now(
    message: Message,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
    event_update: Update,
) -> None:
    if not user.is_linked_client:
        await message.answer(
            _(
                "You are not connected with a probation officer yet. Ask your officer for an invitation link."
            ),
            reply_markup=main_menu(user),
        )
        return
    key = f"u{event_update.update_id}"
    recorded = await checkins.answer(db, user.telegram_id, "done", utcnow(), key)
    await _confirm(message, recorded, user, db, settings, i18n, state)


async def help_now(
    message: Message, user: User, db: Database, engine: Engine, bot: Bot, event_update: Update
) -> None:
    if await clients.get(db, user.telegram_id) is None:  # never linked: nobody to alert
        await message.answer(emergency_numbers(), reply_markup=main_menu(user))
        return
    await ask_for_help(bot, user, db, engine, event_update.update_id)


async def consent_given(
    query: CallbackQuery,
    message: Message,
    callback_data: LocationConsent,
    user: User,
    db: Database,
    state: FSMContext,
) -> None:
    await checkins.set_location_consent(db, user.telegram_id, callback_data.allow)
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.allow:
        await _ask_location(message, state)
    else:
        await state.clear()
        await message.answer(
            _("Understood: your location will not be asked."), reply_markup=main_menu(user)
        )


async def location_shared(message: Message, user: User, db: Database, state: FSMContext) -> None:
    checkin_id = (await state.get_data()).get("checkin_id")
    await state.clear()
    if message.location is not None and isinstance(checkin_id, int):
        found = await checkins.get(db, checkin_id)
        if found is not None and found.client_id == user.telegram_id:
            await checkins.set_location(
                db, checkin_id, message.location.latitude, message.location.longitude
            )
            await message.answer(
                _("📍 Thank you, your location is added to the check-in."),
                reply_markup=main_menu(user),
            )
            return
    await message.answer(_("No location added."), reply_markup=main_menu(user))


def is_help_request(i18n: I18n) -> Callable[[Update], bool]:
    """Recognises an update asking for help (the menu button in any language, or a
    reminder's help button), for the throttle, which must never drop one."""
    labels = translations_of(i18n, Label.HELP_NOW)
    prefixes = tuple(f.__prefix__ + f.__separator__ for f in (CheckinAnswer, CheckinAnswerV0))
    suffix = CheckinAnswer.__separator__ + HELP

    def check(update: Update) -> bool:
        if update.message is not None:
            return update.message.text in labels
        query = update.callback_query
        data = query.data or "" if query is not None else ""
        return data.startswith(prefixes) and data.endswith(suffix)

    return check


def create_router() -> Router:
    router = Router(name="checkins-client")
    router.message.register(check_in_now, Command("checkin", ignore_case=True))
    router.message.register(check_in_now, MenuButton(Label.CHECKIN))
    router.message.register(help_now, MenuButton(Label.HELP_NOW))
    router.message.register(
        location_shared,
        StateFilter(SharingLocation.waiting),
        MagicData(F.event.location | F.event.text),
    )
    for factory in (CheckinAnswer, CheckinAnswerV0):
        router.callback_query.register(answer_fine, factory.filter(F.answer == OK), ON_MESSAGE)
        router.callback_query.register(answer_help, factory.filter(F.answer == HELP))
    router.callback_query.register(consent_given, LocationConsent.filter(), ON_MESSAGE)
    return router
