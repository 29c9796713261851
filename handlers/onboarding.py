"""Joining through an invitation: /start <token> → consent (in the person's language) → linked."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import aiosqlite
from aiogram import Bot, F, Router, html
from aiogram.filters import CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.commands import CommandMenus
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_
from bot.menu import main_menu
from db import clients, invitations, privacy, users
from db.clients import LinkError
from db.clock import utcnow
from db.database import Database
from db.invitations import Invitation, Problem
from db.users import User
from handlers.client_card import OPEN_CARD, open_card_markup
from handlers.notices import Rendered, notify_in, own_client, renderer
from handlers.texts import officer_name
from handlers.ui import ON_MESSAGE, LanguageCode, Screen, refuse
from scheduler.context import Delivery
from scheduler.engine import Engine

JOINED = N_("✅ {name} accepted your invitation and agreed. They are in your caseload now.")
JOINED_AS = N_(
    "✅ The invitation for {name} was accepted by {telegram_name} (name in Telegram), who agreed. Check that this is the right person: they are in your caseload now."
)
DECLINED = N_("The invitation for {name} was declined.")
DECLINED_UNLABELLED = N_("An invitation you created was declined.")


class Onboarding(StatesGroup):
    consent = State()


class ConsentAction(StrEnum):
    AGREE = "agree"
    DECLINE = "decline"


class Consent(CallbackData, prefix="oc1"):
    """The answer to an invitation's consent screen.

    Prefixes carry a version, bumped when the fields change (docs/architecture.md,
    "Callback data"): a press on a button of an older version is refused, not misread.
    """

    action: ConsentAction


class ConsentLanguage(CallbackData, prefix="ol1"):
    """Reads the consent screen in another language."""

    code: LanguageCode


def consent_screen(officer: str) -> Screen:
    """The consent screen, in the current language."""
    return consent_text(officer), consent_buttons()


def consent_text(officer: str) -> str:
    return _(
        "<b>Your probation officer {officer} invites you to Jańa Jol.</b>\n\n"
        "If you agree, we store: your Telegram ID and first name, your language, your "
        "messages with your officer, and later your check-ins and appointments.\n"
        "Only your officer and the programme administrators see them.\n"
        "You can delete your data at any time with /delete_me.\n\n"
        "Do you agree?"
    ).format(officer=officer)


def consent_buttons() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ I agree"), callback_data=Consent(action=ConsentAction.AGREE))
    builder.button(text=_("✖ Decline"), callback_data=Consent(action=ConsentAction.DECLINE))
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=ConsentLanguage(code=code))
    builder.adjust(2, 3)
    return builder.as_markup()


# Why accepting failed (db.clients.accept_invitation) → what the person is told.
LINK_PROBLEMS = {"invalid": Problem.UNKNOWN, "expired": Problem.EXPIRED, "used": Problem.USED}


def problem_text(problem: Problem) -> str:
    if problem is Problem.USED:
        return _("This invitation has already been used. Ask your officer for a new one.")
    if problem is Problem.EXPIRED:
        return _("This invitation has expired. Ask your officer for a new one.")
    return _("This invitation link is not valid. Check the link or ask your officer for a new one.")


async def _officer_display(db: Database, caseworker_id: int) -> str:
    officer = await users.get(db, caseworker_id)
    return officer_name(officer.display_name if officer else None)


async def open_invitation(
    message: Message, command: CommandObject, user: User, db: Database, state: FSMContext
) -> None:
    await state.clear()
    if user.role.is_staff:
        await message.answer(
            _("This is an invitation for a client. Staff accounts cannot accept it."),
            reply_markup=main_menu(user),
        )
        return
    if user.is_linked_client:
        await message.answer(
            _("You are already connected with your probation officer."),
            reply_markup=main_menu(user),
        )
        return
    found = await invitations.find(db, command.args or "")
    if not isinstance(found, Invitation):
        await message.answer(problem_text(found), reply_markup=main_menu(user))
        return
    await state.set_state(Onboarding.consent)
    await state.set_data({"invitation_id": found.id})
    text, markup = consent_screen(await _officer_display(db, found.caseworker_id))
    await message.answer(text, reply_markup=markup)


async def _pending_invitation(state: FSMContext, db: Database) -> Invitation | Problem:
    invitation_id = (await state.get_data()).get("invitation_id")
    if await state.get_state() != Onboarding.consent.state or not isinstance(invitation_id, int):
        return Problem.UNKNOWN
    return await invitations.get_pending(db, invitation_id)


async def switch_language(
    query: CallbackQuery,
    message: Message,
    callback_data: ConsentLanguage,
    user: User,
    db: Database,
    i18n: I18n,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    invitation = await _pending_invitation(state, db)
    if not isinstance(invitation, Invitation):
        callback_answer.text = problem_text(invitation)
        return
    await users.set_language(db, user.telegram_id, callback_data.code)
    with i18n.use_locale(callback_data.code):
        text, markup = consent_screen(await _officer_display(db, invitation.caseworker_id))
        if message.html_text != text:
            await message.edit_text(text, reply_markup=markup)


async def agree(
    query: CallbackQuery,
    message: Message,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    engine: Engine,
    menus: CommandMenus,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    invitation = await _pending_invitation(state, db)
    if not isinstance(invitation, Invitation):
        await state.clear()
        refuse(callback_answer, problem_text(invitation))
        return

    async def tell_officer(conn: aiosqlite.Connection) -> None:
        await notify_in(
            conn,
            recipient_id=invitation.caseworker_id,
            code="client_joined",
            client=user.telegram_id,
        )

    try:
        caseworker_id = await clients.accept_invitation(
            db, invitation.id, user.telegram_id, query.from_user.first_name, then=tell_officer
        )
    except LinkError as exc:
        await state.clear()
        refuse(
            callback_answer,
            _("You are already connected with your probation officer.")
            if exc.code == "linked"
            else problem_text(LINK_PROBLEMS.get(exc.code, Problem.USED)),
        )
        return
    await state.clear()
    if user.language is None:  # keep the language the consent was read in
        await users.set_language(db, user.telegram_id, i18n.current_locale)
    linked = await users.get(db, user.telegram_id)
    assert linked is not None
    await message.edit_reply_markup(reply_markup=None)
    officer = await _officer_display(db, caseworker_id)
    await bot.send_message(
        user.telegram_id,
        _(
            "Thank you. You are now connected with your probation officer {officer}.\n\n"
            "Press «✉️ Message my officer» to write to them at any time."
        ).format(officer=officer),
        reply_markup=main_menu(linked),
    )
    engine.poke(utcnow())
    await menus.sync_user(bot, linked)  # the client commands, now that they have an officer


@renderer("client_joined")
async def client_joined(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    client = await own_client(delivery, values)
    if client is None:
        return None
    card = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
    if client.label is None:
        text = delivery.gettext(JOINED, name=html.quote(client.name))
    else:
        # Whoever holds the link can join: the caseworker sees who actually did.
        text = delivery.gettext(
            JOINED_AS,
            name=html.quote(client.label),
            telegram_name=html.quote(client.telegram_name or "—"),
        )
    return text, card


async def decline(
    query: CallbackQuery,
    message: Message,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    engine: Engine,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    invitation = await _pending_invitation(state, db)
    await state.clear()
    if not isinstance(invitation, Invitation):
        refuse(callback_answer, problem_text(invitation))
        return

    async def tell_officer(conn: aiosqlite.Connection) -> None:
        # The label is the caseworker's own note; the notice keeps it only until it is sent.
        await notify_in(
            conn,
            recipient_id=invitation.caseworker_id,
            code="invitation_declined",
            label=invitation.label,
        )

    await invitations.decline(db, invitation.id, then=tell_officer)
    engine.poke(utcnow())
    # A first contact keeps nothing, not even their language or this conversation. Someone
    # with a case (e.g. archived) or a staff past keeps it: only the decline is recorded.
    keeps = await privacy.has_history(db, user.telegram_id)
    if not keeps:
        await privacy.erase(db, user.telegram_id, caseworker_id=None)
    await message.edit_reply_markup(reply_markup=None)
    if keeps:
        text = _(
            "You declined. Only that is recorded; what the bot stored about you before is "
            "unchanged (/privacy explains it, /delete_me deletes it)."
        )
    else:
        text = _(
            "You declined. Nothing about you has been kept, only the fact that the invitation "
            "was declined. You can still read /help and /privacy."
        )
    await bot.send_message(user.telegram_id, text)


@renderer("invitation_declined")
async def invitation_declined(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    label = values.get("label")
    if label:
        return delivery.gettext(DECLINED, name=html.quote(str(label))), None
    return delivery.gettext(DECLINED_UNLABELLED), None


def create_router() -> Router:
    router = Router(name="onboarding")
    router.message.register(open_invitation, CommandStart(deep_link=True))
    router.callback_query.register(
        agree, Consent.filter(F.action == ConsentAction.AGREE), ON_MESSAGE
    )
    router.callback_query.register(
        decline, Consent.filter(F.action == ConsentAction.DECLINE), ON_MESSAGE
    )
    router.callback_query.register(
        switch_language, ConsentLanguage.filter(F.code.in_(LANGUAGES)), ON_MESSAGE
    )
    return router
