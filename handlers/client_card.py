"""The client card: one client's screen for their caseworker, and the registries through
which features put their buttons and lines on it.

The card knows no feature. A feature contributes from its own package, at import:

    async def checkin_lines(card: CardContext) -> list[str]: ...
    async def checkin_buttons(card: CardContext) -> list[CardButton]: ...

    card_lines.register(30, checkin_lines)
    card_buttons.register(30, checkin_buttons)

Lower orders come first (ties keep the order of registration). Buttons fill rows of two;
a `wide` button takes a row of its own. The card's own parts: the header lines (0), the
status lines (90), archive/restore (80).

Every button that names a client calls `owned_client`, the one check that the presser may
act on that client.

Callback data (here and in every staff-side feature) carries ids and a short prefix with a
version, e.g. "cc1". Changing a callback's fields bumps the version: buttons already sent
with the old one no longer parse, and the fallback router answers them «This button is no
longer active» instead of acting on data of the wrong shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from aiogram import Bot, F, Router, html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta

from bot.config import Settings
from bot.i18n import N_, say_date, say_datetime
from db import clients
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.client_status import set_client_status
from handlers.ui import clip, edit_or_send, refuse
from scheduler.engine import Engine

OPEN_CARD = N_("Open client card")


class ClientCard(CallbackData, prefix="cc1"):
    """Opens a client's card. `edit`: replace the pressed message (a list or another screen
    of the card); otherwise the card comes as a new message, so a relayed message, an
    alert or a digest under the button stays as it was."""

    client_id: int
    edit: bool = False


class CardAction(StrEnum):
    ARCHIVE = "archive"
    RESTORE = "restore"


class ClientAction(CallbackData, prefix="ca1"):
    client_id: int
    action: CardAction


@dataclass(frozen=True)
class CardContext:
    """What a contribution may look at: the client, who is looking, and how to say it."""

    client: Client
    viewer: User
    db: Database
    settings: Settings
    locale: str
    now: datetime


@dataclass(frozen=True)
class CardButton:
    text: str
    callback_data: CallbackData
    wide: bool = False  # a row of its own


T = TypeVar("T")
Contribution = Callable[[CardContext], Awaitable[Sequence[T]]]


class CardRegistry(Generic[T]):
    """Ordered contributions to the card (lines or buttons)."""

    def __init__(self) -> None:
        self._entries: list[tuple[int, Contribution[T]]] = []

    def register(self, order: int, contribution: Contribution[T]) -> Contribution[T]:
        """Adds a contribution (once: registering the same function again changes nothing)."""
        if all(known is not contribution for _order, known in self._entries):
            self._entries.append((order, contribution))
            self._entries.sort(key=lambda entry: entry[0])  # stable: ties keep their order
        return contribution

    def unregister(self, contribution: Contribution[T]) -> None:
        self._entries = [entry for entry in self._entries if entry[1] is not contribution]

    async def collect(self, card: CardContext) -> list[T]:
        found: list[T] = []
        for _order, contribution in self._entries:
            found.extend(await contribution(card))
        return found


card_lines: CardRegistry[str] = CardRegistry()
card_buttons: CardRegistry[CardButton] = CardRegistry()


def open_card_markup(text: str, client_id: int) -> InlineKeyboardMarkup:
    """One button opening a client's card (under notices and alerts about the client)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=text, callback_data=ClientCard(client_id=client_id))
    return builder.as_markup()


def client_cards_markup(named: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per client (id, name) opening their card, a row each (under a digest)."""
    builder = InlineKeyboardBuilder()
    for client_id, name in named:
        builder.button(text=clip(name, 40), callback_data=ClientCard(client_id=client_id))
    builder.adjust(1)
    return builder.as_markup()


def card_keyboard(buttons: Sequence[CardButton]) -> InlineKeyboardMarkup:
    """Two buttons a row, in order; a wide button alone on its row."""
    builder = InlineKeyboardBuilder()
    sizes: list[int] = []
    pending = 0
    for button in buttons:
        builder.button(text=button.text, callback_data=button.callback_data)
        if button.wide:
            if pending:
                sizes.append(pending)
            sizes.append(1)
            pending = 0
        else:
            pending += 1
            if pending == 2:
                sizes.append(2)
                pending = 0
    if pending:
        sizes.append(pending)
    builder.adjust(*sizes)
    return builder.as_markup()


def relative(moment: datetime | None, now: datetime, locale: str) -> str:
    if moment is None:
        return _("never")
    return str(format_timedelta(moment - now, add_direction=True, locale=locale))


async def render_card(
    client: Client, viewer: User, db: Database, locale: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    card = CardContext(client, viewer, db, settings, locale, utcnow())
    lines = await card_lines.collect(card)
    return "\n".join(lines), card_keyboard(await card_buttons.collect(card))


# -- the card's own parts ------------------------------------------------------------------


async def _header(card: CardContext) -> list[str]:
    client, locale = card.client, card.locale
    lines = [f"<b>{html.quote(client.name)}</b>"]
    if client.label and client.telegram_name:
        lines.append(_("Name in Telegram: {name}").format(name=html.quote(client.telegram_name)))
    lines.append(
        _("Connected: {date}").format(
            date=say_date(client.linked_at.astimezone(card.settings.zone).date())
        )
    )
    lines.append(
        _("Last contact: {when}").format(when=relative(client.last_contact_at, card.now, locale))
    )
    return lines


async def _status(card: CardContext) -> list[str]:
    client = card.client
    lines = []
    if client.unreachable_since is not None:
        lines.append(
            _(
                "🚫 Telegram does not deliver to this client (blocked the bot or deleted the account) since {when}."
            ).format(when=say_datetime(client.unreachable_since, card.settings.zone))
        )
    if client.status == "archived":
        lines.append(_("🗄 Archived"))
    return lines


async def _archive_button(card: CardContext) -> list[CardButton]:
    cid = card.client.telegram_id
    if card.client.status == "archived":
        return [CardButton(_("♻️ Restore"), ClientAction(client_id=cid, action=CardAction.RESTORE))]
    return [CardButton(_("🗄 Archive"), ClientAction(client_id=cid, action=CardAction.ARCHIVE))]


card_lines.register(0, _header)
card_lines.register(90, _status)
card_buttons.register(80, _archive_button)


# -- handlers ------------------------------------------------------------------------------


async def owned_client(
    client_id: int, user: User, db: Database, callback_answer: CallbackAnswer
) -> Client | None:
    """The client if they are on the presser's caseload; otherwise the press is refused."""
    client = await clients.get_for_caseworker(db, client_id, user.telegram_id)
    if client is None:
        refuse(callback_answer, _("This client is not on your caseload."))
    return client


async def open_card(
    query: CallbackQuery,
    callback_data: ClientCard,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is None:
        return
    text, markup = await render_card(client, user, db, i18n.current_locale, settings)
    if callback_data.edit:
        await edit_or_send(query, bot, text, markup)
    else:
        await bot.send_message(query.from_user.id, text, reply_markup=markup)


def _set_status(status: str) -> Callable[..., Awaitable[None]]:
    """Archive or restore from the card; the card is shown again."""

    async def handler(
        query: CallbackQuery,
        callback_data: ClientAction,
        user: User,
        db: Database,
        i18n: I18n,
        settings: Settings,
        engine: Engine,
        bot: Bot,
        callback_answer: CallbackAnswer,
    ) -> None:
        client = await owned_client(callback_data.client_id, user, db, callback_answer)
        if client is None:
            return
        await set_client_status(db, engine, settings, client.telegram_id, user.telegram_id, status)
        callback_answer.text = (
            _("Archived.") if status == "archived" else _("Restored to your caseload.")
        )
        fresh = await clients.get(db, client.telegram_id)
        if fresh is not None:
            text, markup = await render_card(fresh, user, db, i18n.current_locale, settings)
            await edit_or_send(query, bot, text, markup)

    return handler


archive = _set_status("archived")
restore = _set_status("active")


def create_router() -> Router:
    router = Router(name="client-card")
    router.callback_query.register(open_card, ClientCard.filter())
    router.callback_query.register(archive, ClientAction.filter(F.action == CardAction.ARCHIVE))
    router.callback_query.register(restore, ClientAction.filter(F.action == CardAction.RESTORE))
    return router
