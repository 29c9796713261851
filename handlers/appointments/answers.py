"""The answers a reminder (or an assigned visit) takes: «I'll be there», «I need to
reschedule», «I have a problem» (then transport, work, illness or something else).

Every press re-reads the appointment: only the client's own, still ahead, is answered.
Any answer acknowledges an assigned visit; any but «I'll be there» stores an alert to the
caseworker in the same transaction (services/appointments.py: answer), and the client is
told their officer was told only once that is stored (the «I need help» rule). Moving
itself is the booking flow's (BookMonth with `move`, handlers/appointments/booking.py).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import N_, say_when
from db import appointments
from db.appointments import Answer, Appointment
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.appointments.callbacks import BookMonth, ReminderReply, Reply
from handlers.checkins.need_help import route
from handlers.ui import refuse_inactive
from scheduler.engine import Engine
from services import appointments as service

COMING = N_("✅ I'll be there")
RESCHEDULE = N_("📅 I need to reschedule")
PROBLEM = N_("⚠️ I have a problem")
PROBLEMS = {
    Reply.TRANSPORT: N_("🚌 Transport"),
    Reply.WORK: N_("💼 Work"),
    Reply.ILLNESS: N_("🤒 Illness"),
    Reply.OTHER: N_("✍️ Something else"),
}
CHOOSE_NEW_TIME = N_("📅 Choose a new time")

Translate = Callable[[str], str]


def reply_buttons(translate: Translate, appointment_id: int) -> InlineKeyboardMarkup:
    """The buttons under a reminder or an assigned visit (also usable by other screens)."""
    builder = InlineKeyboardBuilder()
    for reply, label in (
        (Reply.COMING, COMING),
        (Reply.RESCHEDULE, RESCHEDULE),
        (Reply.PROBLEM, PROBLEM),
    ):
        builder.button(
            text=translate(label),
            callback_data=ReminderReply(appointment_id=appointment_id, reply=reply),
        )
    builder.adjust(1)
    return builder.as_markup()


def problem_buttons(translate: Translate, appointment_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for reply, label in PROBLEMS.items():
        builder.button(
            text=translate(label),
            callback_data=ReminderReply(appointment_id=appointment_id, reply=reply),
        )
    builder.adjust(2)
    return builder.as_markup()


def new_time_button(
    appointment: Appointment, now: datetime, zone: ZoneInfo
) -> InlineKeyboardMarkup:
    local = now.astimezone(zone)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_(CHOOSE_NEW_TIME),
        callback_data=BookMonth(year=local.year, month=local.month, move=appointment.id),
    )
    return builder.as_markup()


async def _drop_buttons(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        with suppress(TelegramBadRequest):  # already without buttons, or too old to edit
            await query.message.edit_reply_markup(reply_markup=None)


async def _told(db: Database, client_id: int) -> str:
    """Who the stored alert reaches, as the client is told (handlers/appointments/timed.py
    sends it to the officer, else to the administrators, like «I need help»)."""
    path = await route(db, client_id)
    if not path.recipients:
        return _(
            "We could not tell anyone in the bot right now. Please call your probation office."
        )
    if path.why is None:
        return _("Your officer has been told and will contact you.")
    return _(
        "Your officer cannot be reached in the bot right now, so the programme administrators have been told."
    )


async def replied(
    query: CallbackQuery,
    callback_data: ReminderReply,
    user: User,
    db: Database,
    engine: Engine,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    now = utcnow()
    appointment = await appointments.get(db, callback_data.appointment_id)
    if (
        appointment is None
        or appointment.client_id != user.telegram_id
        or not appointment.upcoming
        or appointment.starts_at <= now
    ):
        refuse_inactive(callback_answer)
        return
    zone = settings.zone_for(user.timezone)
    if callback_data.reply is Reply.PROBLEM:
        choices = problem_buttons(_, appointment.id)
        if isinstance(query.message, Message):
            with suppress(TelegramBadRequest):
                await query.message.edit_reply_markup(reply_markup=choices)
                return
        await bot.send_message(user.telegram_id, _("What gets in the way?"), reply_markup=choices)
        return
    given = Answer(callback_data.reply.value)
    if not await service.answer(db, engine, appointment=appointment, given=given, now=now):
        refuse_inactive(callback_answer)
        return
    await _drop_buttons(query)
    when = _("Time: {when}").format(when=say_when(appointment.starts_at, zone, now))
    if given is Answer.COMING:
        text = _("✅ Thank you! Your officer expects you.") + "\n" + when
        await bot.send_message(user.telegram_id, text)
        return
    text = await _told(db, user.telegram_id)
    markup: InlineKeyboardMarkup | None = None
    if given is Answer.RESCHEDULE:
        if appointment.starts_at - now >= settings.appointment_rules.cutoff:
            text += "\n\n" + _("You can also choose a new time yourself:")
            markup = new_time_button(appointment, now, zone)
        else:
            text += "\n\n" + _("It is too late to move it in the bot: your officer will help.")
    await bot.send_message(user.telegram_id, text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name="appointments-answers")
    router.callback_query.register(replied, ReminderReply.filter())
    return router
