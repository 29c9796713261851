"""Callback data and keyboards of the administrators' staff screens (handlers/staff.py).

Prefixes carry a version: changing a callback's fields bumps it, and buttons sent with the
old one get «This button is no longer active» (see handlers/client_card.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from db.clients import CaseworkerLoad, Client
from db.users import User
from handlers.ui import clip

CLIENTS_PAGE_SIZE = 20


class StaffCaseworker(CallbackData, prefix="sc1"):
    """A caseworker's clients, a page at a time. `edit`: turn the page in place."""

    caseworker_id: int
    page: int = 0
    edit: bool = False


class StaffClient(CallbackData, prefix="sk1"):
    """Choose whom to reassign this client to."""

    client_id: int


class StaffReassign(CallbackData, prefix="sr1"):
    client_id: int
    caseworker_id: int


def staff_keyboard(caseworkers: Sequence[tuple[User, int]]) -> InlineKeyboardMarkup:
    """One button per caseworker (with their active clients) opening their clients."""
    builder = InlineKeyboardBuilder()
    for member, active in caseworkers:
        builder.button(
            text=f"{clip(member.display_name or str(member.telegram_id), 30)} · {active}",
            callback_data=StaffCaseworker(caseworker_id=member.telegram_id),
        )
    builder.adjust(1)
    return builder.as_markup()


def clients_keyboard(
    caseworker_id: int, shown: Sequence[Client], page: int, pages: int
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for client in shown:
        builder.button(
            text=clip(client.name, 40), callback_data=StaffClient(client_id=client.telegram_id)
        )
    sizes = [1] * len(shown)
    if pages > 1:
        for target, label in (
            ((page - 1) % pages, "‹"),
            (page, f"{page + 1}/{pages}"),
            ((page + 1) % pages, "›"),
        ):
            builder.button(
                text=label,
                callback_data=StaffCaseworker(caseworker_id=caseworker_id, page=target, edit=True),
            )
        sizes.append(3)
    builder.adjust(*sizes)
    return builder.as_markup()


def new_caseworker_keyboard(
    client: Client, loads: Sequence[CaseworkerLoad]
) -> InlineKeyboardMarkup:
    """Every other caseworker, with their active clients."""
    builder = InlineKeyboardBuilder()
    for load in loads:
        if load.telegram_id != client.caseworker_id:
            builder.button(
                text=f"{clip(load.name, 30)} · {load.active}",
                callback_data=StaffReassign(
                    client_id=client.telegram_id, caseworker_id=load.telegram_id
                ),
            )
    builder.adjust(1)
    return builder.as_markup()


def reassign_markup(text: str, client_id: int) -> InlineKeyboardMarkup:
    """One button (already translated) choosing a new caseworker for the client."""
    builder = InlineKeyboardBuilder()
    builder.button(text=text, callback_data=StaffClient(client_id=client_id))
    return builder.as_markup()
