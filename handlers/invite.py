"""Caseworkers: /invite creates a single-use invitation (deep link + printable QR code)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import qrcode
from aiogram import Bot, Router, html
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import say_when
from bot.menu import Label, MenuButton, main_menu
from db import invitations
from db.database import Database
from db.invitations import Invitation
from db.users import User
from handlers.ui import ON_MESSAGE, Screen, clip, edit_or_send, refuse, refuse_inactive

MAX_LABEL = 64


class Inviting(StatesGroup):
    label = State()


# Prefixes carry a version, bumped when the fields change (docs/architecture.md, "Callback
# data"): a press on a button of an older version is refused, not misread.


class SkipLabel(CallbackData, prefix="iv1"):
    """Creates the invitation without a name."""


class InvitationList(CallbackData, prefix="il1"):
    """The caseworker's pending invitations."""


class InvitationRevoke(CallbackData, prefix="ir1"):
    """Revokes one of the caseworker's own pending invitations."""

    invitation_id: int


LIST_LIMIT = 20  # newest first; a caseworker rarely has this many links out


def qr_png(link: str) -> bytes:
    image = qrcode.make(link, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def ask_label_screen() -> Screen:
    text = _(
        "Who is this invitation for? Send a name or a case number: only you will see it. "
        "Or press «Skip»."
    )
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip"), callback_data=SkipLabel())
    builder.button(text=_("📋 My invitations"), callback_data=InvitationList())
    return text, builder.as_markup()


def invitations_screen(found: Sequence[Invitation], locale: str, zone: ZoneInfo) -> Screen:
    """Pending invitations (at most LIST_LIMIT of `found`) with their expiry and a Revoke
    button each."""
    if not found:
        return _("You have no pending invitations. Create one with /invite."), None
    lines = [_("<b>My invitations</b>")]
    builder = InlineKeyboardBuilder()
    for invitation in found[:LIST_LIMIT]:
        name = invitation.label or _("(no name)")
        until = say_when(invitation.expires_at, zone)
        lines.append(_("• {name}. Valid until {until}").format(name=html.quote(name), until=until))
        builder.button(
            text=_("✖ Revoke: {name}").format(name=clip(name, 30)),
            callback_data=InvitationRevoke(invitation_id=invitation.id),
        )
    if len(found) > LIST_LIMIT:
        lines.append("…")
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


async def ask_label(message: Message, state: FSMContext) -> None:
    await state.set_state(Inviting.label)
    text, markup = ask_label_screen()
    await message.answer(text, reply_markup=markup)


async def label_given(
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    state: FSMContext,
) -> None:
    label = " ".join((message.text or "").split())
    if not label:
        await message.answer(_("Please send the name or case number as text, or press «Skip»."))
        return
    if len(label) > MAX_LABEL:
        await message.answer(_("Please keep it under {limit} characters.").format(limit=MAX_LABEL))
        return
    await state.clear()
    await _create(message, user, db, bot, i18n, settings, label)


async def label_skipped(
    query: CallbackQuery,
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    if await state.get_state() != Inviting.label.state:
        refuse_inactive(callback_answer)  # already created, or /invite was left
        return
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    await _create(message, user, db, bot, i18n, settings, None)


async def _create(
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    label: str | None,
) -> None:
    token, invitation = await invitations.create(db, user.telegram_id, label)
    link = await create_start_link(bot, token)
    until = say_when(invitation.expires_at, settings.zone_for(user.timezone))
    if label:
        head = _("Invitation for {name}. Valid until {until}; it works once.").format(
            name=html.quote(label), until=until
        )
    else:
        head = _("Invitation. Valid until {until}; it works once.").format(until=until)
    advice = _(
        "Give the person this link or the QR code (it can be printed). When they open it "
        "and agree, they join your caseload and you are told."
    )
    caption = f"{head}\n\n{link}\n\n{advice}"
    await message.answer_photo(
        BufferedInputFile(qr_png(link), filename="invitation.png"),
        caption=caption,
        reply_markup=main_menu(user),
    )


async def list_view(user: User, db: Database, locale: str, settings: Settings) -> Screen:
    found = await invitations.pending_for(db, user.telegram_id, LIST_LIMIT + 1)
    return invitations_screen(found, locale, settings.zone_for(user.timezone))


async def show_invitations(
    query: CallbackQuery,
    message: Message,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    state: FSMContext,
) -> None:
    if await state.get_state() == Inviting.label.state:
        await state.clear()  # not creating one after all
        await message.edit_reply_markup(reply_markup=None)
    text, markup = await list_view(user, db, i18n.current_locale, settings)
    await message.answer(text, reply_markup=markup)


async def revoke(
    query: CallbackQuery,
    callback_data: InvitationRevoke,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    # Only the caseworker's own pending invitation: a forged or foreign id changes nothing.
    if not await invitations.revoke(db, callback_data.invitation_id, user.telegram_id):
        refuse(callback_answer, _("This invitation is no longer pending."))
        return
    callback_answer.text = _("Revoked: the link no longer works.")
    text, markup = await list_view(user, db, i18n.current_locale, settings)
    await edit_or_send(query, bot, text, markup)


def create_router() -> Router:
    router = Router(name="invite")
    router.message.register(ask_label, Command("invite", ignore_case=True))
    router.message.register(ask_label, MenuButton(Label.INVITE))
    router.message.register(label_given, StateFilter(Inviting.label))
    router.callback_query.register(label_skipped, SkipLabel.filter(), ON_MESSAGE)
    router.callback_query.register(show_invitations, InvitationList.filter(), ON_MESSAGE)
    router.callback_query.register(revoke, InvitationRevoke.filter())
    return router
