"""Caseworkers: /hours sets working days and time; clients writing outside them get an auto-reply."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import get_day_names

from core.dates import weekday_names
from db import working_hours
from db.database import Database
from db.users import User
from db.working_hours import WorkingHours, parse_range
from handlers.ui import edit_or_send


def describe_hours(hours: WorkingHours, locale: str) -> str:
    days = weekday_names(hours.weekdays, locale)
    return f"{days}, {hours.opens:%H:%M}–{hours.closes:%H:%M}"


# Prefixes carry a version, bumped when the fields change (docs/architecture.md, "Callback
# data"): a press on a button of an older version is refused, not misread.


class HoursDay(CallbackData, prefix="hd1"):
    """Switches a working day on or off."""

    day: int  # 0 = Monday


class HoursTime(CallbackData, prefix="ht1"):
    """Asks for the working time."""


class HoursScreen(CallbackData, prefix="hs1"):
    """Shows the working hours again in place (the way back from the reception screen)."""


class OpenReception(CallbackData, prefix="ro1"):
    """Opens the reception hours screen (handlers/appointments/reception.py handles it:
    reception lies inside working hours, so it is reached from here)."""


class EditingHours(StatesGroup):
    time = State()


def hours_view(hours: WorkingHours, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "<b>Your working hours</b>: {hours}\n\nClients who write outside them get an automatic answer saying when you will reply. Tap a day to switch it on or off."
    ).format(hours=describe_hours(hours, locale) if hours.weekdays else _("no working days"))
    names = get_day_names("abbreviated", locale=locale)
    builder = InlineKeyboardBuilder()
    for day in range(7):
        mark = "✅" if day in hours.weekdays else "▫️"
        builder.button(text=f"{mark} {names[day]}", callback_data=HoursDay(day=day))
    builder.button(text=_("🕘 Change the time"), callback_data=HoursTime())
    builder.button(text=_("📅 Reception"), callback_data=OpenReception())
    builder.adjust(4, 3, 2)
    return text, builder.as_markup()


async def show_hours(message: Message, user: User, db: Database, i18n: I18n) -> None:
    text, markup = hours_view(await working_hours.get(db, user.telegram_id), i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def show_hours_again(
    query: CallbackQuery, user: User, db: Database, i18n: I18n, bot: Bot
) -> None:
    text, markup = hours_view(await working_hours.get(db, user.telegram_id), i18n.current_locale)
    await edit_or_send(query, bot, text, markup)


async def toggle_day(
    query: CallbackQuery, callback_data: HoursDay, user: User, db: Database, i18n: I18n, bot: Bot
) -> None:
    hours = await working_hours.get(db, user.telegram_id)
    days = hours.weekdays ^ {callback_data.day}
    updated = WorkingHours(frozenset(days), hours.opens, hours.closes)
    await working_hours.save(db, user.telegram_id, updated)
    text, markup = hours_view(updated, i18n.current_locale)
    await edit_or_send(query, bot, text, markup)


async def ask_time(query: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.set_state(EditingHours.time)
    await bot.send_message(query.from_user.id, _("Send the time as «09:00-18:00»."))


async def time_given(
    message: Message, user: User, db: Database, i18n: I18n, state: FSMContext
) -> None:
    parsed = parse_range(message.text or "")
    if parsed is None:
        await message.answer(_("I could not read that. Please send the time as «09:00-18:00»."))
        return
    await state.clear()
    hours = await working_hours.get(db, user.telegram_id)
    updated = WorkingHours(hours.weekdays, *parsed)
    await working_hours.save(db, user.telegram_id, updated)
    text, markup = hours_view(updated, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name="hours")
    router.message.register(show_hours, Command("hours", ignore_case=True))
    router.message.register(time_given, StateFilter(EditingHours.time))
    router.callback_query.register(toggle_day, HoursDay.filter((F.day >= 0) & (F.day <= 6)))
    router.callback_query.register(ask_time, HoursTime.filter())
    router.callback_query.register(show_hours_again, HoursScreen.filter())
    return router
