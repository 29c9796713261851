"""Delivering a stored message to the other side, through the engine.

A message is stored together with its engine item (kind `relay.message`, key
`relay:<message id>`) in one transaction; the handler that stored it then asks the engine
to deliver it at once (`Engine.deliver_now`) and tells the sender the outcome: delivered,
still trying (Telegram did not answer: the engine retries with backoff, and the sender is
told again when it is delivered or given up), or not delivered and why. A crash anywhere
after the commit loses nothing: the item is still pending.

At send time the delivery re-checks who may receive it (security review F1): a client's
message goes only to a current caseworker who still has the client; a caseworker's only
to their own active client. A client whose officer is gone is told, and so are the
administrators.

Text is sent as the header plus the escaped stored text; media are copied from the
original message (copyMessage), with the header as the caption when it fits; content
without a caption (location, sticker, contact...) follows a separate header message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from core.priority import Priority
from db import clients, messages, scheduled, users
from db.database import Database
from db.messages import Relayed
from db.scheduled import ScheduledItem, Status
from db.users import Role
from handlers.messaging.keyboards import relayed_from_client
from handlers.messaging.writing import WriteAgain
from handlers.notices import Rendered, notify, renderer
from handlers.staff_ui import reassign_markup
from handlers.texts import EMERGENCY, OFFICER_FALLBACK
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome

log = logging.getLogger(__name__)

RELAY = "relay.message"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_CAPTIONED = ("photo", "document", "voice", "video", "audio", "animation")

HEADER_FROM_CLIENT = N_("✉️ <b>{name}</b> · {time}")
HEADER_FROM_OFFICER = N_("✉️ Message from your probation officer {officer}:")
REPLY = N_("↩️ Reply")
CARD = N_("🗂 Card")
REASSIGN = N_("👥 Reassign")

DELIVERED_LATE_TO_OFFICER = N_(
    "✅ Your message has now been delivered to your officer. Sent: {time}."
)
DELIVERED_LATE_TO_CLIENT = N_("✅ Delivered now. To: {name}. Sent: {time}.")
FAILED_TO_OFFICER = N_(
    "❌ Your message could not be delivered to your officer in Telegram. Sent: {time}. It is saved, and your officer will see it in the bot."
)
FAILED_TO_CLIENT = N_(
    "❌ Not delivered. To: {name}. Sent: {time}. The message is saved in the history."
)
OFFICER_GONE = N_(
    "Your message could not be delivered: your probation officer no longer works with you in the bot. An administrator has been told and will connect you with a new officer."
)
CLIENT_WITHOUT_OFFICER = N_(
    "⚠️ {name} wrote to their probation officer, who is no longer a caseworker in the bot. Please reassign this client."
)

# Why a message was not delivered: a refusal by Telegram or a recipient no longer allowed.
GONE = ("officer_gone", "not_linked", "not_your_client")


class Result(StrEnum):
    DELIVERED = "delivered"
    TRYING = "trying"  # stored; Telegram did not answer; the engine keeps trying
    REFUSED = "refused"  # Telegram refuses (the recipient blocked the bot, deleted the account)
    GONE = "gone"  # the recipient may no longer receive it (officer removed, client moved)
    FAILED = "failed"  # anything else Telegram refused (a bad request)


def relay_key(message_id: int) -> str:
    return f"relay:{message_id}"


async def stored_from(db: Database, chat_id: int, message_id: int) -> Relayed | None:
    """The stored message this Telegram message became, if it was stored already (a replay)."""
    found = await messages.find_by_source(db, chat_id, message_id)
    return None if found is None else await messages.get_relayed(db, found)


async def store_and_deliver(
    db: Database,
    engine: Engine,
    *,
    client_id: int,
    caseworker_id: int,
    direction: str,
    kind: str,
    body: str | None,
    source_chat_id: int,
    source_message_id: int,
) -> Result:
    """Stores the message with its delivery item (one transaction), then delivers it now."""
    recipient = caseworker_id if direction == "in" else client_id
    async with db.transaction() as conn:
        message_id, _new = await messages.record_in(
            conn,
            client_id=client_id,
            caseworker_id=caseworker_id,
            direction=direction,
            kind=kind,
            body=body,
            source_chat_id=source_chat_id,
            source_message_id=source_message_id,
        )
        await scheduled.schedule_in(
            conn,
            kind=RELAY,
            recipient_id=recipient,
            due_at=engine.now(),
            now=engine.now(),
            payload={"message": message_id},
            dedupe_key=relay_key(message_id),
        )
    return await deliver_stored(db, engine, message_id)


async def deliver_stored(db: Database, engine: Engine, message_id: int) -> Result:
    """Delivers a stored message now (if still pending) and says what became of it."""
    state = await engine.deliver_now(relay_key(message_id))
    if state is not None and state.status is Status.SENT:
        return Result.DELIVERED
    if state is not None and state.status in (Status.FAILED, Status.DROPPED):
        reason = state.last_error or ""
        if reason.startswith("forbidden"):
            return Result.REFUSED
        return Result.GONE if reason in GONE else Result.FAILED
    if await messages.tell_sender_trying(db, message_id):
        return Result.TRYING
    # It finished between the two reads (the dispatcher had it): report what happened.
    stored = await messages.get_relayed(db, message_id)
    return Result.DELIVERED if stored and stored.delivery == "delivered" else Result.FAILED


# -- the engine kind -----------------------------------------------------------------------


async def _check_recipient(db: Database, message: Relayed, recipient_id: int) -> str | None:
    """None when `recipient_id` may receive the message now, else why not."""
    client = await clients.get(db, message.client_id)
    if message.direction == "in":
        officer = await users.get(db, recipient_id)
        if officer is None or officer.role is not Role.CASEWORKER:
            return "officer_gone"
        if client is None or client.status != "active" or client.caseworker_id != recipient_id:
            return "not_linked"
        return None
    sender = await users.get(db, message.caseworker_id)
    # (An archived client is still theirs: a caseworker may write a last word.)
    if (
        sender is None
        or sender.role is Role.CLIENT
        or client is None
        or client.caseworker_id != message.caseworker_id
    ):
        return "not_your_client"
    return None


def _header_and_buttons(
    delivery: Delivery, message: Relayed, client_name: str, officer: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    if message.direction == "in":
        header = delivery.gettext(
            HEADER_FROM_CLIENT,
            name=html.quote(client_name),
            time=delivery.local_time(message.created_at),
        )
        buttons = relayed_from_client(
            delivery.gettext(REPLY), delivery.gettext(CARD), message.client_id
        )
        return header, buttons
    name = html.quote(officer) if officer else delivery.gettext(OFFICER_FALLBACK)
    header = delivery.gettext(HEADER_FROM_OFFICER, officer=name)
    builder = InlineKeyboardBuilder()
    builder.button(text=delivery.gettext(REPLY), callback_data=WriteAgain())
    return header, builder.as_markup()


async def _copy(
    delivery: Delivery, message: Relayed, header: str, buttons: InlineKeyboardMarkup
) -> None:
    quoted = html.quote(message.body) if message.body else ""
    if message.kind == "text":
        combined = f"{header}\n\n{quoted}"
        if len(combined) <= TEXT_LIMIT:
            await delivery.send_message(combined, reply_markup=buttons)
            return
    chat, original = message.source_chat_id, message.source_message_id
    if chat is None or original is None:
        raise ValueError(f"message {message.id} has no original to copy")
    if message.kind in _CAPTIONED:
        caption = f"{header}\n\n{quoted}" if quoted else header
        if len(caption) <= CAPTION_LIMIT:
            await delivery.copy_message(
                chat,
                original,
                caption=caption,
                reply_markup=buttons,
            )
            return
    # The header does not fit with the content, or the content has no caption.
    await delivery.once("header", lambda: delivery.send_message(header, reply_markup=buttons))
    await delivery.copy_message(chat, original)


async def deliver(item: ScheduledItem, delivery: Delivery) -> Outcome:
    db = delivery.db
    message = await messages.get_relayed(db, int(item.payload.get("message", 0)))
    if message is None:
        return Drop("deleted")  # the person deleted their data meanwhile
    if message.delivery == "delivered":
        return Drop("delivered")
    why_not = await _check_recipient(db, message, item.recipient_id)
    if why_not == "not_linked" and await _redirect(delivery.engine, message, item.recipient_id):
        return Drop("reassigned")
    if why_not is not None:
        await _not_delivered(delivery.engine, message, why_not)
        return Drop(why_not)
    client = await clients.get(db, message.client_id)
    officer = await users.get(db, message.caseworker_id)
    header, buttons = _header_and_buttons(
        delivery,
        message,
        client.name if client else f"#{message.client_id}",
        officer.display_name if officer else None,
    )
    await _copy(delivery, message, header, buttons)
    await messages.mark_delivery(db, message.id, delivered=True)
    told = await messages.get_relayed(db, message.id)
    if told is not None and told.sender_told == "trying":
        await notify(delivery.engine, message.sender_id, "relay_delivered", message=message.id)
    return SENT


async def _redirect(engine: Engine, message: Relayed, recipient_id: int) -> bool:
    """A client's message waiting for an officer they were moved away from goes to their
    new officer (the history moved with them)."""
    client = await clients.get(engine.db, message.client_id)
    if message.direction != "in" or client is None or client.status != "active":
        return False
    officer = await users.get(engine.db, client.caseworker_id)
    if (
        officer is None
        or officer.role is not Role.CASEWORKER
        or officer.telegram_id == recipient_id
    ):
        return False
    await engine.schedule(
        RELAY,
        officer.telegram_id,
        engine.now(),
        {"message": message.id},
        dedupe_key=f"{relay_key(message.id)}:to:{officer.telegram_id}",
    )
    return True


async def _not_delivered(engine: Engine, message: Relayed, why: str) -> None:
    """Recorded as failed; the sender hears it only if they were told "still trying"
    (otherwise the reply to their message says it), the administrators when a client's
    officer is gone."""
    db = engine.db
    await messages.mark_delivery(db, message.id, delivered=False)
    if why == "officer_gone":
        for admin in await users.admins(db):
            await notify(
                engine,
                admin.telegram_id,
                "client_without_officer",
                dedupe_key=f"without-officer:{message.client_id}:{admin.telegram_id}:{message.caseworker_id}",
                client=message.client_id,
            )
    if message.sender_told == "trying":
        code = "officer_gone" if why == "officer_gone" else "relay_failed"
        await notify(engine, message.sender_id, code, message=message.id)


def failure_hook(engine: Engine) -> Any:
    async def failed(item: ScheduledItem, reason: str) -> None:
        message = await messages.get_relayed(engine.db, int(item.payload.get("message", 0)))
        if message is not None:
            await _not_delivered(engine, message, reason)

    return failed


# -- notices to the sender and the administrators -------------------------------------------


async def _message(delivery: Delivery, values: dict[str, Any]) -> Relayed | None:
    return await messages.get_relayed(delivery.db, int(values.get("message", 0)))


async def _client_name(delivery: Delivery, client_id: int) -> str:
    client = await clients.get(delivery.db, client_id)
    return html.quote(client.name if client else f"#{client_id}")


def _sent_at(delivery: Delivery, moment: datetime) -> str:
    return delivery.local_time(moment)


@renderer("relay_delivered")
async def delivered_late(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    message = await _message(delivery, values)
    if message is None:
        return None
    if message.direction == "in":
        return delivery.gettext(
            DELIVERED_LATE_TO_OFFICER, time=_sent_at(delivery, message.created_at)
        ), None
    return delivery.gettext(
        DELIVERED_LATE_TO_CLIENT,
        name=await _client_name(delivery, message.client_id),
        time=_sent_at(delivery, message.created_at),
    ), None


@renderer("relay_failed")
async def failed_late(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    message = await _message(delivery, values)
    if message is None:
        return None
    if message.direction == "in":
        text = delivery.gettext(FAILED_TO_OFFICER, time=_sent_at(delivery, message.created_at))
        return text + "\n" + delivery.gettext(EMERGENCY), None
    return delivery.gettext(
        FAILED_TO_CLIENT,
        name=await _client_name(delivery, message.client_id),
        time=_sent_at(delivery, message.created_at),
    ), None


@renderer("officer_gone")
async def officer_gone(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    return delivery.gettext(OFFICER_GONE) + "\n" + delivery.gettext(EMERGENCY), None


@renderer("client_without_officer")
async def client_without_officer(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client_id = int(values.get("client", 0))
    client = await clients.get(delivery.db, client_id)
    if client is None:
        return None
    return delivery.gettext(CLIENT_WITHOUT_OFFICER, name=html.quote(client.name)), reassign_markup(
        delivery.gettext(REASSIGN), client_id
    )


def register(engine: Engine) -> None:
    engine.register(RELAY, deliver, on_failed=failure_hook(engine), priority=Priority.ALERT)
