"""Two-way messages: a client writes to their officer; the officer replies. Stored, then delivered."""

from __future__ import annotations

import logging
import time

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
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
from bot.menu import Label, MenuButton, main_menu
from bot.relay import body, content_kind, relay
from bot.roles import HasRole, restrict, staff_only
from db import clients, messages, users, working_hours
from db.clock import utcnow
from db.database import Database
from db.users import Role, User
from db.working_hours import WorkingHours
from handlers.caseload import ClientAction, ClientCard, owned_client
from handlers.texts import emergency_numbers, officer_name

log = logging.getLogger(__name__)

# Outside working hours a client gets one auto-reply per this many seconds, not one per message.
AUTO_REPLY_EVERY = 3600.0


class ClientMessage(StatesGroup):
    waiting = State()


class CaseworkerMessage(StatesGroup):
    waiting = State()


class WriteAgain(CallbackData, prefix="wa"):
    pass


class CancelWriting(CallbackData, prefix="cw"):
    pass


def _cancel_button() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖ Cancel"), callback_data=CancelWriting())
    return builder.as_markup()


def _unsupported() -> str:
    return _(
        "This kind of message cannot be passed on. Please send text, a photo, a document, a voice message or a location."
    )


class AutoReplies:
    """When each client last got the out-of-hours auto-reply (in memory: a restart may repeat one)."""

    def __init__(self) -> None:
        self._sent: dict[int, float] = {}

    def due(self, client_id: int) -> bool:
        now = time.monotonic()
        if now - self._sent.get(client_id, -AUTO_REPLY_EVERY) < AUTO_REPLY_EVERY:
            return False
        self._sent[client_id] = now
        return True


def describe_hours(hours: WorkingHours, locale: str) -> str:
    names = get_day_names("abbreviated", locale=locale)
    days = ", ".join(str(names[d]) for d in sorted(hours.weekdays))
    return f"{days} {hours.opens:%H:%M}–{hours.closes:%H:%M}"


async def _deliver(
    bot: Bot,
    db: Database,
    message: Message,
    to_chat: int,
    header: str,
    buttons: InlineKeyboardMarkup,
    stored_id: int,
) -> TelegramAPIError | None:
    """Relays a stored message and records the outcome; returns Telegram's refusal, if any."""
    try:
        await relay(bot, message, to_chat, header, buttons)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.warning("Message not delivered: %s", type(exc).__name__)
        await messages.mark_delivery(db, stored_id, delivered=False)
        return exc
    await messages.mark_delivery(db, stored_id, delivered=True)
    return None


# -- the client's side ------------------------------------------------------------------


async def start_client_message(message: Message, user: User, state: FSMContext) -> None:
    if not user.is_linked_client:
        await message.answer(
            _(
                "You are not connected with a probation officer yet. Ask your officer for an invitation link."
            ),
            reply_markup=main_menu(user),
        )
        return
    await state.set_state(ClientMessage.waiting)
    await message.answer(
        _(
            "Write your message to your officer. You can also send a photo, a document, a voice message or your location."
        ),
        reply_markup=_cancel_button(),
    )


async def write_again(query: CallbackQuery, user: User, state: FSMContext) -> None:
    if isinstance(query.message, Message):
        await start_client_message(query.message, user, state)


async def cancel_writing(
    query: CallbackQuery, user: User, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    await state.clear()
    callback_answer.text = _("Cancelled.")
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def client_sends(
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    state: FSMContext,
    auto_replies: AutoReplies,
) -> None:
    kind = content_kind(message)
    if kind is None:
        await message.answer(_unsupported())
        return
    await state.clear()
    if user.caseworker_id is None:  # unlinked meanwhile (reassigned to nobody, archived)
        await message.answer(
            _("You are not connected with a probation officer."), reply_markup=main_menu(user)
        )
        return
    client = await clients.get(db, user.telegram_id)
    caseworker = await users.get(db, user.caseworker_id)
    if client is None or caseworker is None:
        await message.answer(
            _("You are not connected with a probation officer."), reply_markup=main_menu(user)
        )
        return
    stored = await messages.record(
        db,
        client_id=client.telegram_id,
        caseworker_id=caseworker.telegram_id,
        direction="in",
        kind=kind,
        body=body(message),
    )
    zone = settings.zone_for(caseworker.timezone)
    with i18n.use_locale(caseworker.language or settings.default_language):
        header = _("✉️ <b>{name}</b> · {time}").format(
            name=html.quote(client.name),
            time=format_datetime(utcnow(), i18n.current_locale, zone, "short"),
        )
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("↩️ Reply"),
            callback_data=ClientAction(client_id=client.telegram_id, action="write"),
        )
        builder.button(text=_("🗂 Card"), callback_data=ClientCard(client_id=client.telegram_id))
        buttons = builder.as_markup()
    if (
        await _deliver(bot, db, message, caseworker.telegram_id, header, buttons, stored)
        is not None
    ):
        await message.answer(
            _(
                "Your officer cannot receive messages in Telegram right now. Your message is saved and they will see it in the bot."
            )
            + "\n"
            + emergency_numbers(),
            reply_markup=main_menu(user),
        )
        return
    again = InlineKeyboardBuilder()
    again.button(text=_("✉️ Write again"), callback_data=WriteAgain())
    await message.answer(_("✅ Delivered to your officer."), reply_markup=again.as_markup())
    await _auto_reply_if_closed(message, caseworker, db, settings, auto_replies, i18n)


async def _auto_reply_if_closed(
    message: Message,
    caseworker: User,
    db: Database,
    settings: Settings,
    auto_replies: AutoReplies,
    i18n: I18n,
) -> None:
    hours = await working_hours.get(db, caseworker.telegram_id)
    zone = settings.zone_for(caseworker.timezone)
    now = utcnow()
    if hours.is_open(now, zone) or not auto_replies.due(message.chat.id):
        return
    opening = hours.next_opening(now, zone)
    text = _("Your officer works {hours} and will answer in working time.").format(
        hours=describe_hours(hours, i18n.current_locale)
    )
    if opening is not None:
        text += " " + _("Next working time starts {when}.").format(
            when=format_datetime(opening, i18n.current_locale, zone, "EEEE d MMMM, HH:mm")
        )
    await message.answer(text + "\n" + emergency_numbers())


# -- the caseworker's side ---------------------------------------------------------------


async def start_caseworker_message(
    query: CallbackQuery,
    callback_data: ClientAction,
    user: User,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None or not isinstance(query.message, Message):
        return
    await state.set_state(CaseworkerMessage.waiting)
    await state.set_data({"client_id": client.telegram_id})
    await query.message.answer(
        _(
            "Write your message for {name}. Text, a photo, a document, a voice message or a location."
        ).format(name=html.quote(client.name)),
        reply_markup=_cancel_button(),
    )


async def caseworker_sends(
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    state: FSMContext,
) -> None:
    kind = content_kind(message)
    if kind is None:
        await message.answer(_unsupported())
        return
    client_id = (await state.get_data()).get("client_id")
    await state.clear()
    client = await clients.get_for_caseworker(db, int(client_id or 0), user.telegram_id)
    if client is None:
        await message.answer(
            _("This client is not on your caseload."), reply_markup=main_menu(user)
        )
        return
    recipient = await users.get(db, client.telegram_id)
    stored = await messages.record(
        db,
        client_id=client.telegram_id,
        caseworker_id=user.telegram_id,
        direction="out",
        kind=kind,
        body=body(message),
    )
    await messages.mark_read(db, client.telegram_id, user.telegram_id)  # answering means reading
    with i18n.use_locale((recipient.language if recipient else None) or settings.default_language):
        header = _("✉️ Message from your probation officer {officer}:").format(
            officer=officer_name(user.display_name)
        )
        builder = InlineKeyboardBuilder()
        builder.button(text=_("↩️ Reply"), callback_data=WriteAgain())
        buttons = builder.as_markup()
    name = html.quote(client.name)
    failure = await _deliver(bot, db, message, client.telegram_id, header, buttons, stored)
    if failure is not None:
        if isinstance(failure, TelegramForbiddenError):
            await clients.mark_unreachable(db, client.telegram_id)
        await message.answer(
            _(
                "⚠️ Not delivered: {name} has blocked the bot or deleted their Telegram account. The message is saved in the history."
            ).format(name=name),
            reply_markup=main_menu(user),
        )
        return
    await messages.mark_delivery(db, stored, delivered=True)
    await message.answer(
        _("✅ Delivered to {name}.").format(name=name), reply_markup=main_menu(user)
    )


def create_router() -> Router:
    router = Router(name="messaging")
    client_side = Router(name="messaging-client")
    restrict(client_side, HasRole(Role.CLIENT))
    client_side.message.register(start_client_message, Command("message"))
    client_side.message.register(start_client_message, MenuButton(Label.MESSAGE_OFFICER))
    client_side.message.register(client_sends, ClientMessage.waiting)
    client_side.callback_query.register(write_again, WriteAgain.filter())

    staff_side = Router(name="messaging-staff")
    restrict(staff_side, staff_only())
    staff_side.callback_query.register(
        start_caseworker_message, ClientAction.filter(F.action == "write")
    )
    staff_side.message.register(caseworker_sends, CaseworkerMessage.waiting)

    router.callback_query.register(cancel_writing, CancelWriting.filter())
    router.include_routers(client_side, staff_side)
    return router
