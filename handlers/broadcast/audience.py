"""Composing, step 1: /broadcast and the audience (all my clients, by language, who missed
a check-in or a visit; administrators also all clients or chosen caseworkers')."""

from __future__ import annotations

from aiogram import Bot, html
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from db import broadcasts, users
from db.database import Database
from db.users import Role, User
from handlers.broadcast import texts as t
from handlers.broadcast.callbacks import BcAudience, BcDraft, BcPick, Composing, DraftAction
from handlers.ui import clip, edit_or_send, refuse, refuse_inactive
from services import broadcasts as service

LANGS = broadcasts.LANGUAGES


def audience_screen(user: User) -> tuple[str, InlineKeyboardMarkup]:
    b = InlineKeyboardBuilder()
    if user.role is Role.CASEWORKER:
        b.button(text=_("👥 All my clients"), callback_data=BcAudience(code=service.MINE))
    else:
        b.button(text=_("👥 All clients"), callback_data=BcAudience(code=service.ALL))
        b.button(text=_("🧑‍💼 Chosen caseworkers' clients"), callback_data=BcAudience(code="cws"))
    b.button(text=_("🌐 By language"), callback_data=BcAudience(code="lang"))
    b.button(text=_("⚠️ Missed a check-in or visit"), callback_data=BcAudience(code=service.MISSED))
    b.button(text=_("✖️ Cancel"), callback_data=BcDraft(action=DraftAction.CANCEL))
    b.adjust(1)
    return _(t.AUDIENCE_QUESTION), b.as_markup()


def describe_audience(audience: str, names: dict[int, str]) -> str:
    if audience == service.MINE:
        return _("all my clients")
    if audience == service.ALL:
        return _("all clients")
    if audience == service.MISSED:
        return _("clients who missed a check-in or a visit in the last 7 days")
    if audience.startswith(service.LANGUAGE):
        return _("clients whose language is {language}").format(
            language=t.LANGUAGE_NAMES.get(audience[len(service.LANGUAGE) :], "?")
        )
    ids = service.parse_caseworkers(audience)
    return _("clients of the caseworkers: {names}").format(
        names=", ".join(html.quote(names.get(i, f"#{i}")) for i in ids)
    )


async def start(message: Message, user: User, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Composing.audience)
    text, markup = audience_screen(user)
    await message.answer(text, reply_markup=markup)


async def pick_audience(
    query: CallbackQuery,
    callback_data: BcAudience,
    user: User,
    db: Database,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    code = callback_data.code
    admin = user.role is Role.ADMIN
    if code == "lang":
        b = InlineKeyboardBuilder()
        for lang in LANGS:
            b.button(text=t.LANGUAGE_NAMES[lang], callback_data=BcAudience(code=f"lang_{lang}"))
        b.adjust(3)
        await edit_or_send(query, bot, _("Clients with which language?"), b.as_markup())
        return
    if code in ("cws", service.ALL) and not admin:
        refuse(callback_answer, _("Only administrators can send to other caseworkers' clients."))
        return
    if code == "cws":
        await state.set_state(Composing.caseworkers)
        await state.update_data(bc_cws=[])
        await show_caseworkers(query, bot, [], await _staff_caseworkers(db))
        return
    if code.startswith("lang_"):
        code = service.LANGUAGE + code.removeprefix("lang_")
    allowed = {service.MINE, service.ALL, service.MISSED} | {f"lang:{x}" for x in LANGS}
    if code not in allowed or (code == service.MINE and admin):
        refuse_inactive(callback_answer)
        return
    await _ask_content(query, bot, state, code)


async def show_caseworkers(
    query: CallbackQuery, bot: Bot, chosen: list[int], staff: list[User]
) -> None:
    b = InlineKeyboardBuilder()
    for member in staff:
        mark = "✅" if member.telegram_id in chosen else "▫️"
        name = member.display_name or f"#{member.telegram_id}"
        b.button(
            text=clip(f"{mark} {name}", 32), callback_data=BcPick(caseworker=member.telegram_id)
        )
    if chosen:
        b.button(text=_("➡️ Next"), callback_data=BcAudience(code="cws_done"))
    b.button(text=_("✖️ Cancel"), callback_data=BcDraft(action=DraftAction.CANCEL))
    b.adjust(1)
    await edit_or_send(
        query, bot, _("Whose clients? Tap caseworkers to choose them."), b.as_markup()
    )


async def _staff_caseworkers(db: Database) -> list[User]:
    return [m for m in await users.staff(db) if m.role is Role.CASEWORKER]


async def toggle_caseworker(
    query: CallbackQuery,
    callback_data: BcPick,
    user: User,
    db: Database,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    if user.role is not Role.ADMIN:
        refuse_inactive(callback_answer)
        return
    staff = await _staff_caseworkers(db)
    if callback_data.caseworker not in {m.telegram_id for m in staff}:
        refuse_inactive(callback_answer)
        return
    data = await state.get_data()
    chosen = set(data.get("bc_cws", [])) ^ {callback_data.caseworker}
    await state.update_data(bc_cws=sorted(chosen))
    await show_caseworkers(query, bot, sorted(chosen), staff)


async def caseworkers_chosen(
    query: CallbackQuery, user: User, state: FSMContext, bot: Bot, callback_answer: CallbackAnswer
) -> None:
    chosen = (await state.get_data()).get("bc_cws", [])
    if user.role is not Role.ADMIN or not chosen:
        refuse_inactive(callback_answer)
        return
    code = service.CASEWORKERS + ",".join(str(i) for i in chosen)
    await _ask_content(query, bot, state, code)


async def _ask_content(query: CallbackQuery, bot: Bot, state: FSMContext, code: str) -> None:
    await state.set_state(Composing.content)
    await state.update_data(bc_audience=code, bc_versions={}, bc_urgent=False)
    await edit_or_send(query, bot, _(t.ASK_CONTENT), _cancel_markup())


def _cancel_markup() -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    b.button(text=_("✖️ Cancel"), callback_data=BcDraft(action=DraftAction.CANCEL))
    return b.as_markup()
