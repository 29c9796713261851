"""Caseworkers: their own clients, paged, those needing attention first.

Each client's card is handlers/client_card.py; this module adds only the card's way back
to the list. Callback prefixes carry a version (see handlers/client_card.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.menu import Label, MenuButton
from db import clients
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.client_card import CardButton, CardContext, ClientCard, card_buttons
from handlers.ui import clip, edit_or_send, paginate


class CaseloadPage(CallbackData, prefix="cl1"):
    page: int
    archived: bool = False


def client_button_label(
    client: Client, now: datetime, ack_within: timedelta = clients.ACK_ATTENTION_AFTER
) -> str:
    marks = ""
    reasons = client.attention(now, ack_within)
    if "help" in reasons:
        marks += "🆘 "
    elif "unreachable" in reasons:
        marks += "🚫 "
    elif "missed" in reasons:
        marks += "❗ "
    elif "no_show" in reasons:
        marks += "❌ "
    elif reasons:
        marks += "⚠️ "
    label = marks + clip(client.name, 32)
    if client.unread:
        label += f" · ✉️ {client.unread}"
    if client.checkins_done_30 or client.checkins_missed_30:
        label += f" · ✅{client.checkins_done_30} ❗{client.checkins_missed_30}"
    return label


def caseload_keyboard(
    shown: list[Client],
    page: int,
    pages: int,
    archived: bool,
    now: datetime,
    ack_within: timedelta = clients.ACK_ATTENTION_AFTER,
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for client in shown:
        builder.button(
            text=client_button_label(client, now, ack_within),
            callback_data=ClientCard(client_id=client.telegram_id, edit=True),
        )
    sizes = [1] * len(shown)
    if pages > 1:
        builder.button(
            text="‹", callback_data=CaseloadPage(page=(page - 1) % pages, archived=archived)
        )
        builder.button(
            text=f"{page + 1}/{pages}", callback_data=CaseloadPage(page=page, archived=archived)
        )
        builder.button(
            text="›", callback_data=CaseloadPage(page=(page + 1) % pages, archived=archived)
        )
        sizes.append(3)
    builder.button(
        text=_("⬅️ Active clients") if archived else _("🗄 Archived"),
        callback_data=CaseloadPage(page=0, archived=not archived),
    )
    sizes.append(1)
    builder.adjust(*sizes)
    return builder.as_markup()


def caseload_view(
    caseload: list[Client],
    page: int,
    archived: bool,
    now: datetime,
    ack_within: timedelta = clients.ACK_ATTENTION_AFTER,
) -> tuple[str, InlineKeyboardMarkup]:
    shown, page, pages = paginate(caseload, page)
    attention = sum(1 for c in caseload if c.attention(now, ack_within))
    if archived:
        text = _("<b>Archived clients</b>: {count}").format(count=len(caseload))
    elif not caseload:
        text = _("You have no clients yet. Press «➕ Invite a client» to invite someone.")
    else:
        text = _("<b>Your clients</b>: {count}. Needing attention: {attention}.").format(
            count=len(caseload), attention=attention
        )
        text += "\n" + _(
            "🆘 asked for help · ❗ missed a check-in · ❌ missed a visit · ⚠️ unread for over 4 hours or a visit not acknowledged · 🚫 not reachable in Telegram"
        )
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    return text, caseload_keyboard(list(shown), page, pages, archived, now, ack_within)


async def show_caseload(message: Message, user: User, db: Database, settings: Settings) -> None:
    ack_within = settings.appointment_rules.ack_within
    caseload = await clients.caseload(db, user.telegram_id, ack_within=ack_within)
    text, markup = caseload_view(caseload, 0, False, utcnow(), ack_within)
    await message.answer(text, reply_markup=markup)


async def turn_page(
    query: CallbackQuery,
    callback_data: CaseloadPage,
    user: User,
    db: Database,
    settings: Settings,
    bot: Bot,
) -> None:
    status = "archived" if callback_data.archived else "active"
    ack_within = settings.appointment_rules.ack_within
    caseload = await clients.caseload(db, user.telegram_id, status, ack_within=ack_within)
    text, markup = caseload_view(
        caseload, callback_data.page, callback_data.archived, utcnow(), ack_within
    )
    await edit_or_send(query, bot, text, markup)


async def back_to_list(card: CardContext) -> list[CardButton]:
    archived = card.client.status == "archived"
    return [CardButton(_("⬅️ Back to list"), CaseloadPage(page=0, archived=archived), wide=True)]


card_buttons.register(100, back_to_list)


def create_router() -> Router:
    router = Router(name="caseload")
    router.message.register(show_caseload, Command("caseload", ignore_case=True))
    router.message.register(show_caseload, MenuButton(Label.CASELOAD))
    router.callback_query.register(turn_page, CaseloadPage.filter())
    return router
