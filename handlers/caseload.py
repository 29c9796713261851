"""Caseworkers: their own clients (paged, those needing attention first) and each client's card."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import F, Router, html
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta

from bot.config import Settings
from bot.i18n import N_, format_datetime
from bot.menu import Label, MenuButton
from bot.roles import restrict, staff_only
from db import checkins, clients, messages
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.client_status import set_client_status
from handlers.texts import kind_name
from handlers.ui import chunks, clip
from scheduler.engine import Engine

PAGE_SIZE = 8
OPEN_CARD = N_("Open client card")


class CaseloadPage(CallbackData, prefix="cl"):
    page: int
    archived: bool = False


class ClientCard(CallbackData, prefix="cc"):
    client_id: int


class ScheduleMenu(CallbackData, prefix="sm"):
    """Opens the client's check-in schedule (handlers/checkins/staff.py)."""

    client_id: int


class ClientAction(CallbackData, prefix="ca"):
    client_id: int
    action: str  # history | archive | restore | write


def open_card_markup(text: str, client_id: int) -> InlineKeyboardMarkup:
    """One button opening a client's card (under notices and alerts about the client)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=text, callback_data=ClientCard(client_id=client_id))
    return builder.as_markup()


def _relative(moment: datetime | None, now: datetime, locale: str) -> str:
    if moment is None:
        return _("never")
    return str(format_timedelta(moment - now, add_direction=True, locale=locale))


def client_button_label(client: Client, now: datetime) -> str:
    marks = ""
    reasons = client.attention(now)
    if "help" in reasons:
        marks += "🆘 "
    elif "unreachable" in reasons:
        marks += "🚫 "
    elif "missed" in reasons:
        marks += "❗ "
    elif reasons:
        marks += "⚠️ "
    label = marks + clip(client.name, 32)
    if client.unread:
        label += f" · ✉️ {client.unread}"
    if client.checkins_done_30 or client.checkins_missed_30:
        label += f" · ✅{client.checkins_done_30} ❗{client.checkins_missed_30}"
    return label


def caseload_view(
    caseload: list[Client], page: int, archived: bool, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-len(caseload) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    attention = sum(1 for c in caseload if c.attention(now))
    if archived:
        text = _("<b>Archived clients</b>: {count}").format(count=len(caseload))
    elif not caseload:
        text = _("You have no clients yet. Press «➕ Invite a client» to invite someone.")
    else:
        text = _("<b>Your clients</b>: {count}. Needing attention: {attention}.").format(
            count=len(caseload), attention=attention
        )
        text += "\n" + _(
            "🆘 asked for help · ❗ missed a check-in · ⚠️ unread for over 4 hours · 🚫 not reachable in Telegram"
        )
    builder = InlineKeyboardBuilder()
    for client in caseload[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        builder.button(
            text=client_button_label(client, now),
            callback_data=ClientCard(client_id=client.telegram_id),
        )
    sizes = [1] * len(caseload[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
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
    return text, builder.as_markup()


def card_view(
    client: Client, now: datetime, locale: str, settings: Settings, record: checkins.Record
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"<b>{html.quote(client.name)}</b>"]
    if client.label and client.telegram_name:
        lines.append(_("Name in Telegram: {name}").format(name=html.quote(client.telegram_name)))
    lines.append(
        _("Connected: {date}").format(
            date=format_datetime(client.linked_at, locale, settings.zone, "medium")
        )
    )
    lines.append(
        _("Last contact: {when}").format(when=_relative(client.last_contact_at, now, locale))
    )
    if client.unread:
        lines.append(_("Unread messages: {count}").format(count=client.unread))
    lines.append(
        _("Check-ins in 30 days: ✅ {done} · ❗ {missed}. Last check-in: {when}").format(
            done=record.done,
            missed=record.missed,
            when=_relative(record.last_answered_at, now, locale),
        )
    )
    if client.last_checkin == "help":
        lines.append(_("🆘 At the last check-in the client asked for help."))
    if client.unreachable_since is not None:
        lines.append(
            _(
                "🚫 Telegram does not deliver to this client (blocked the bot or deleted the account) since {when}."
            ).format(
                when=format_datetime(client.unreachable_since, locale, settings.zone, "medium")
            )
        )
    if client.status == "archived":
        lines.append(_("🗄 Archived"))
    cid = client.telegram_id
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✍️ Write"), callback_data=ClientAction(client_id=cid, action="write"))
    builder.button(
        text=_("📜 History"), callback_data=ClientAction(client_id=cid, action="history")
    )
    builder.button(text=_("⏰ Check-ins"), callback_data=ScheduleMenu(client_id=cid))
    if client.status == "archived":
        builder.button(
            text=_("♻️ Restore"), callback_data=ClientAction(client_id=cid, action="restore")
        )
    else:
        builder.button(
            text=_("🗄 Archive"), callback_data=ClientAction(client_id=cid, action="archive")
        )
    builder.button(
        text=_("⬅️ Back to list"),
        callback_data=CaseloadPage(page=0, archived=client.status == "archived"),
    )
    builder.adjust(2, 2, 1)
    return "\n".join(lines), builder.as_markup()


async def render_card(
    client: Client, db: Database, locale: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    now = utcnow()
    record = await checkins.record(db, client.telegram_id, now - timedelta(days=30))
    return card_view(client, now, locale, settings, record)


async def show_caseload(message: Message, user: User, db: Database) -> None:
    caseload = await clients.caseload(db, user.telegram_id)
    text, markup = caseload_view(caseload, 0, False, utcnow())
    await message.answer(text, reply_markup=markup)


async def turn_page(
    query: CallbackQuery, callback_data: CaseloadPage, user: User, db: Database
) -> None:
    status = "archived" if callback_data.archived else "active"
    caseload = await clients.caseload(db, user.telegram_id, status)
    text, markup = caseload_view(caseload, callback_data.page, callback_data.archived, utcnow())
    await _show(query, text, markup)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    if isinstance(query.message, Message) and (
        query.message.html_text != text or query.message.reply_markup != markup
    ):
        await query.message.edit_text(text, reply_markup=markup)


async def owned_client(
    client_id: int, user: User, db: Database, callback_answer: CallbackAnswer
) -> Client | None:
    """The client if they are on the presser's caseload; otherwise the press is refused."""
    client = await clients.get_for_caseworker(db, client_id, user.telegram_id)
    if client is None:
        callback_answer.text = _("This client is not on your caseload.")
        callback_answer.show_alert = True
    return client


async def open_card(
    query: CallbackQuery,
    callback_data: ClientCard,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    text, markup = await render_card(client, db, i18n.current_locale, settings)
    await _show(query, text, markup)


async def show_history(
    query: CallbackQuery,
    callback_data: ClientAction,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None or not isinstance(query.message, Message):
        return
    history = await messages.history(db, client.telegram_id, user.telegram_id)
    await messages.mark_read(db, client.telegram_id, user.telegram_id)
    if not history:
        await query.message.answer(
            _("No messages with {name} yet.").format(name=html.quote(client.name))
        )
        return
    lines = [
        _("<b>Messages with {name}</b> (latest {count})").format(
            name=html.quote(client.name), count=len(history)
        )
    ]
    for item in history:
        when = format_datetime(item.created_at, i18n.current_locale, settings.zone, "short")
        arrow = "⬅️" if item.direction == "in" else "➡️"
        content = html.quote(clip(item.body, 300)) if item.body else f"[{kind_name(item.kind)}]"
        failed = " ⚠️ " + _("not delivered") if item.delivery == "failed" else ""
        lines.append(f"{arrow} <i>{when}</i>{failed}\n{content}")
    for part in chunks(lines):
        await query.message.answer(part)


async def archive_or_restore(
    query: CallbackQuery,
    callback_data: ClientAction,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    engine: Engine,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    status = "archived" if callback_data.action == "archive" else "active"
    await set_client_status(db, engine, settings, client.telegram_id, user.telegram_id, status)
    callback_answer.text = (
        _("Archived.") if status == "archived" else _("Restored to your caseload.")
    )
    fresh = await clients.get(db, client.telegram_id)
    if fresh is not None:
        text, markup = await render_card(fresh, db, i18n.current_locale, settings)
        await _show(query, text, markup)


def create_router() -> Router:
    router = Router(name="caseload")
    restrict(router, staff_only())
    router.message.register(show_caseload, Command("caseload", ignore_case=True))
    router.message.register(show_caseload, MenuButton(Label.CASELOAD))
    router.callback_query.register(turn_page, CaseloadPage.filter())
    router.callback_query.register(open_card, ClientCard.filter())
    router.callback_query.register(show_history, ClientAction.filter(F.action == "history"))
    router.callback_query.register(
        archive_or_restore, ClientAction.filter(F.action.in_({"archive", "restore"}))
    )
    return router
