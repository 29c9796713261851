"""Keyboards of the caseworker's side of messaging, built from already translated labels
(the engine renders them in the recipient's language)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.client_card import ClientCard
from handlers.messaging.callbacks import ClientMessages, MessagesAction


def relayed_from_client(reply: str, card: str, client_id: int) -> InlineKeyboardMarkup:
    """Under a client's message relayed to their officer: reply, or open the card (as a new
    message, so the relayed one stays)."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=reply, callback_data=ClientMessages(client_id=client_id, action=MessagesAction.WRITE)
    )
    builder.button(text=card, callback_data=ClientCard(client_id=client_id))
    return builder.as_markup()
