"""Broadcasts (caseworkers and administrators): /broadcast composes one, /broadcasts lists them.

Composing (FSM, stored in SQLite): the audience (all my clients, by language, who missed a
check-in or a visit in 7 days; administrators also all clients or chosen caseworkers'),
then the content (the sender's own message, copied to each recipient as it is), then
optionally a version per other language and which one is main, then a preview with the
recipient count per language and those skipped (unreachable), the urgent switch, Send now,
Send at…, Cancel. `services/broadcasts.py` enforces the scope (a caseworker reaches only
their own active clients, whatever a button says) and stores everything in one
transaction; `scheduler/broadcasts.py` delivers. This module also renders the progress
message (edited at most every few seconds, at REMINDER priority: above the broadcast's own
sends so they never starve it, below alerts and replies, which matter more than a counter)
and the final report (a notice stored with the state change).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from bot.config import Settings
from bot.i18n import say_datetime, say_when
from core.priority import Priority, priority
from db import broadcasts, users
from db.broadcasts import Figures, Version
from db.broadcasts import State as BState
from db.clock import utcnow
from db.database import Database
from db.users import Role, User
from handlers.broadcast import texts as t
from handlers.notices import Rendered, renderer
from handlers.ui import ON_MESSAGE, LanguageCode, clip, edit_or_send, refuse, refuse_inactive
from scheduler.broadcasts import BroadcastSender
from scheduler.context import Delivery
from scheduler.engine import Engine
from services import broadcasts as service
from services.broadcasts import AudienceNotAllowedError

log = logging.getLogger(__name__)

LANGS = broadcasts.LANGUAGES


class Composing(StatesGroup):
    audience = State()
    caseworkers = State()
    content = State()
    version = State()
    preview = State()
    when = State()


class BcAudience(CallbackData, prefix="bca1"):
    code: Annotated[
        str, Field(max_length=8)
    ]  # mine | all | missed | lang | lang_kk | cws | cws_done


class BcPick(CallbackData, prefix="bcp1"):
    caseworker: int


class DraftAction(StrEnum):
    ADD = "add"
    MAIN = "main"
    URGENT = "urg"
    NOW = "now"
    AT = "at"
    CANCEL = "x"


class BcDraft(CallbackData, prefix="bcd1"):
    action: DraftAction
    lang: LanguageCode = ""


class ManageAction(StrEnum):
    STOP = "stop"
    CSV = "csv"


class BcManage(CallbackData, prefix="bcm1"):
    action: ManageAction
    id: int


# -- audience -----------------------------------------------------------------------------------


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


# -- content --------------------------------------------------------------------------------------


def _copyable(message: Message) -> bool:
    return any(
        (
            message.text,
            message.photo,
            message.document,
            message.voice,
            message.location,
            message.video,
            message.audio,
        )
    )


async def content_given(
    message: Message,
    user: User,
    db: Database,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    if not _copyable(message) or (message.text or "").startswith("/"):
        await message.answer(_(t.UNSUPPORTED))
        return
    data = await state.get_data()
    versions: dict[str, list[int]] = dict(data.get("bc_versions", {}))
    language = data.get("bc_adding") or i18n.current_locale
    if language not in LANGS:
        language = settings.default_language
    versions[language] = [message.chat.id, message.message_id]
    main = data.get("bc_main") or language
    await state.update_data(bc_versions=versions, bc_main=main, bc_adding=None)
    await state.set_state(Composing.preview)
    text, markup = await preview_screen(db, user, await state.get_data(), settings)
    await message.answer(text, reply_markup=markup)


async def preview_screen(
    db: Database, user: User, data: dict[str, Any], settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    audience = str(data["bc_audience"])
    versions: dict[str, list[int]] = data.get("bc_versions", {})
    main = str(data.get("bc_main"))
    urgent = bool(data.get("bc_urgent"))
    now = utcnow()
    people = await service.audience_recipients(db, user, audience, now, settings.default_language)
    planned = service.plan(
        people,
        versions=set(versions),
        main_language=main,
        urgent=urgent,
        send_at=now,
        rules=settings,
        default_language=settings.default_language,
    )
    figures = service.preview(planned)
    names = {m.telegram_id: m.display_name or f"#{m.telegram_id}" for m in await users.staff(db)}
    lines = [
        _("📣 <b>Broadcast preview</b>"),
        _("Audience: {audience}").format(audience=describe_audience(audience, names)),
        ngettext("It goes to {n} client", "It goes to {n} clients", figures.total).format(
            n=t.number(figures.total, _locale())
        ),
    ]
    for lang in LANGS:
        if lang not in figures.per_language:
            continue
        n, version = figures.per_language[lang]
        line = f"  {t.LANGUAGE_NAMES[lang]}: {t.number(n, _locale())}"
        if version != lang:
            line += " " + _("(they get the version: {language})").format(
                language=t.LANGUAGE_NAMES[version]
            )
        lines.append(line)
    if figures.skipped:
        lines.append(
            _("Skipped (unreachable or blocked): {n}").format(
                n=t.number(figures.skipped, _locale())
            )
        )
    shown = [
        t.LANGUAGE_NAMES[lang] + (" ⭐" if lang == main else "")
        for lang in LANGS
        if lang in versions
    ]
    lines.append(_("Versions: {versions}").format(versions=", ".join(shown)))
    if urgent:
        lines.append(_("🚨 Urgent: delivered at once, even at night."))
    elif settings.quiet is not None:
        lines.append(
            _("Delivered outside quiet hours ({hours}).").format(hours=str(settings.quiet))
        )
    if not figures.total:
        lines.append("")
        lines.append(_(t.NOBODY))
    b = InlineKeyboardBuilder()
    for lang in LANGS:
        if lang not in versions:
            b.button(
                text=_("➕ {language} version").format(language=t.LANGUAGE_NAMES[lang]),
                callback_data=BcDraft(action=DraftAction.ADD, lang=lang),
            )
    for lang in LANGS:
        if lang in versions and lang != main:
            b.button(
                text=_("⭐ Main: {language}").format(language=t.LANGUAGE_NAMES[lang]),
                callback_data=BcDraft(action=DraftAction.MAIN, lang=lang),
            )
    b.button(
        text=_("🚨 Urgent: on") if urgent else _("🔕 Urgent: off"),
        callback_data=BcDraft(action=DraftAction.URGENT),
    )
    if figures.total:
        b.button(text=_("📤 Send now"), callback_data=BcDraft(action=DraftAction.NOW))
        b.button(text=_("🕘 Send at…"), callback_data=BcDraft(action=DraftAction.AT))
    b.button(text=_("✖️ Cancel"), callback_data=BcDraft(action=DraftAction.CANCEL))
    b.adjust(1)
    return "\n".join(lines), b.as_markup()


def _locale() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale


async def draft_action(
    query: CallbackQuery,
    callback_data: BcDraft,
    message: Message,
    user: User,
    db: Database,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
    broadcaster: BroadcastSender,
    callback_answer: CallbackAnswer,
) -> None:
    action = callback_data.action
    data = await state.get_data()
    if action is DraftAction.CANCEL:
        await state.clear()
        await edit_or_send(query, bot, _(t.CANCELLED_DRAFT), None)
        return
    if await state.get_state() != Composing.preview.state or "bc_audience" not in data:
        refuse_inactive(callback_answer)
        return
    versions: dict[str, list[int]] = data.get("bc_versions", {})
    if action is DraftAction.ADD and callback_data.lang in LANGS:
        await state.update_data(bc_adding=callback_data.lang)
        await state.set_state(Composing.version)
        await bot.send_message(
            user.telegram_id,
            _(t.ASK_VERSION).format(language=t.LANGUAGE_NAMES[callback_data.lang]),
        )
        return
    if action is DraftAction.MAIN and callback_data.lang in versions:
        await state.update_data(bc_main=callback_data.lang)
    elif action is DraftAction.URGENT:
        await state.update_data(bc_urgent=not data.get("bc_urgent"))
    elif action is DraftAction.AT:
        await state.set_state(Composing.when)
        await bot.send_message(user.telegram_id, _(t.ASK_TIME))
        return
    elif action is DraftAction.NOW:
        await _store(message, user, db, state, bot, settings, broadcaster, None)
        return
    else:
        refuse_inactive(callback_answer)
        return
    text, markup = await preview_screen(db, user, await state.get_data(), settings)
    await edit_or_send(query, bot, text, markup)


async def _store(
    message: Message,
    user: User,
    db: Database,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
    broadcaster: BroadcastSender,
    send_at: datetime | None,
) -> None:
    data = await state.get_data()
    versions = [
        Version(lang, int(src[0]), int(src[1]))
        for lang, src in dict(data.get("bc_versions", {})).items()
        if lang in LANGS
    ]
    if not versions:
        await state.clear()
        return
    now = utcnow()
    try:
        broadcast_id, figures = await service.create(
            db,
            broadcaster,
            author=user,
            audience=str(data["bc_audience"]),
            versions=versions,
            main_language=str(data.get("bc_main") or versions[0].language),
            urgent=bool(data.get("bc_urgent")),
            send_at=send_at,
            now=now,
            rules=settings,
            default_language=settings.default_language,
            progress=(message.chat.id, message.message_id),
        )
    except AudienceNotAllowedError:
        await state.clear()
        await message.answer(_("Only administrators can send to other caseworkers' clients."))
        return
    await state.clear()
    if send_at is None:
        text = _(t.PROGRESS).format(
            id=broadcast_id, sent=0, total=t.number(figures.total, _locale())
        )
    else:
        zone = settings.zone_for(user.timezone)
        text = _(t.SCHEDULED).format(id=broadcast_id, when=say_when(send_at, zone))
    try:
        await message.edit_text(text, reply_markup=None)
    except TelegramAPIError:
        sent = await message.answer(text)
        await broadcasts.set_progress_message(db, broadcast_id, sent.chat.id, sent.message_id)


_TIME = re.compile(r"^\s*(?:(\d{1,2})[./](\d{1,2})(?:[./](\d{4}))?\s+)?(\d{1,2})[:.](\d{2})\s*$")


def parse_when(text: str, now: datetime, zone: Any) -> datetime | None:
    """«18:30» (today, else tomorrow) or «25.12 10:00» / «25.12.2026 10:00», in `zone`."""
    match = _TIME.match(text)
    if match is None:
        return None
    day, month, year, hour, minute = match.groups()
    local_now = now.astimezone(zone)
    try:
        if day is None:
            moment = local_now.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
            if moment <= local_now:
                moment += timedelta(days=1)
        else:
            moment = local_now.replace(
                year=int(year) if year else local_now.year,
                month=int(month),
                day=int(day),
                hour=int(hour),
                minute=int(minute),
                second=0,
                microsecond=0,
            )
            if moment <= local_now and not year:
                moment = moment.replace(year=moment.year + 1)
    except ValueError:
        return None
    if moment <= local_now or moment - local_now > timedelta(days=366):
        return None
    return moment.astimezone(now.tzinfo)


async def time_given(
    message: Message,
    user: User,
    db: Database,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
    broadcaster: BroadcastSender,
) -> None:
    zone = settings.zone_for(user.timezone)
    when = parse_when(message.text or "", utcnow(), zone)
    if when is None:
        await message.answer(_(t.BAD_TIME))
        return
    sent = await message.answer(_("Saving…"))
    await _store(sent, user, db, state, bot, settings, broadcaster, when)


# -- the list, cancel, CSV ------------------------------------------------------------------------


def _state_name(state: BState) -> str:
    return {
        BState.DRAFT: _("draft"),
        BState.SCHEDULED: _("scheduled"),
        BState.SENDING: _("sending"),
        BState.DONE: _("finished"),
        BState.CANCELLED: _("cancelled"),
    }[state]


def _line(b: broadcasts.Broadcast, figures: Figures, zone: Any, locale: str) -> str:
    head = _("#{id} · {state} · {when}").format(
        id=b.id, state=_state_name(b.state), when=say_datetime(b.send_at, zone)
    )
    body = _("sent {sent} of {total}").format(**t.values(b.id, figures, locale))
    return f"<b>{head}</b>\n{body}{t.figures_line(figures, locale, _)}"


async def listing(message: Message, user: User, db: Database, settings: Settings) -> None:
    admin = user.role is Role.ADMIN
    found = await broadcasts.listing(db, None if admin else user.telegram_id)
    if not found:
        await message.answer(_("No broadcasts yet. Start one with /broadcast."))
        return
    zone = settings.zone_for(user.timezone)
    locale = _locale()
    lines = [_("📣 <b>Broadcasts</b>")]
    b = InlineKeyboardBuilder()
    for item in found:
        lines.append(_line(item, await broadcasts.figures(db, item.id), zone, locale))
        if item.state in (BState.SCHEDULED, BState.SENDING):
            b.button(
                text=_("✖️ Cancel #{id}").format(id=item.id),
                callback_data=BcManage(action=ManageAction.STOP, id=item.id),
            )
        if admin:
            b.button(
                text=_("📄 CSV #{id}").format(id=item.id),
                callback_data=BcManage(action=ManageAction.CSV, id=item.id),
            )
    b.adjust(2)
    await message.answer("\n\n".join(lines), reply_markup=b.as_markup())


async def manage(
    query: CallbackQuery,
    callback_data: BcManage,
    user: User,
    db: Database,
    bot: Bot,
    broadcaster: BroadcastSender,
    callback_answer: CallbackAnswer,
) -> None:
    found = await service.may_manage(db, user, callback_data.id)
    if found is None:
        refuse_inactive(callback_answer)
        return
    if callback_data.action is ManageAction.STOP:
        if await service.cancel(db, broadcaster, user, found.id, utcnow()):
            figures = await broadcasts.figures(db, found.id)
            callback_answer.text = _("Cancelled.")
            await bot.send_message(
                user.telegram_id,
                _(t.STOPPED).format(**t.values(found.id, figures, _locale())),
            )
        else:
            refuse(callback_answer, _("This broadcast is already over."))
        return
    if user.role is not Role.ADMIN:
        refuse_inactive(callback_answer)
        return
    rows = await broadcasts.outcome_rows(db, found.id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["broadcast_id", "client_id", "version", "status", "error", "attempts", "sent_at"]
    )
    for r in rows:
        writer.writerow(
            [
                found.id,
                r["client_id"],
                r["language"],
                r["status"],
                r["error"],
                r["attempts"],
                r["sent_at"],
            ]
        )
    await bot.send_document(
        user.telegram_id,
        BufferedInputFile(out.getvalue().encode("utf-8"), filename=f"broadcast-{found.id}.csv"),
    )


# -- progress and the final report --------------------------------------------------------------


def wire(sender: BroadcastSender, engine: Engine, default_language: str) -> None:
    """Hooks: unreachable clients reported, progress edited, the final report stored."""
    sender.on_unreachable(engine.notify_unreachable)
    sender.on_finished(service.finished_hook(engine))
    db, bot, i18n = engine.db, engine.bot, engine.i18n

    async def progress(broadcast_id: int) -> None:
        found = await broadcasts.get(db, broadcast_id)
        if found is not None and found.state is BState.DONE:
            engine.poke(utcnow())  # the final report (a notice) was stored with the state
        if found is None or found.progress_chat_id is None or found.progress_message_id is None:
            return
        if found.state not in (BState.SENDING, BState.DONE):
            return
        author = await users.get(db, found.sender_id)
        locale = (author.language if author else None) or default_language
        figures = await broadcasts.figures(db, broadcast_id)

        def tr(msg: str) -> str:
            return str(i18n.gettext(msg, locale=locale))

        head = t.FINAL if found.state is BState.DONE else t.PROGRESS
        text = tr(head).format(**t.values(broadcast_id, figures, locale))
        text += t.figures_line(figures, locale, tr)
        try:
            with priority(Priority.REMINDER):
                await bot.edit_message_text(
                    text=text,
                    chat_id=found.progress_chat_id,
                    message_id=found.progress_message_id,
                )
        except TelegramAPIError as exc:  # not modified, deleted by the sender...
            log.debug("Broadcast %d: progress not edited (%s)", broadcast_id, type(exc).__name__)

    sender.on_progress(progress)


@renderer(service.BROADCAST_DONE)
async def broadcast_done(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
    broadcast_id = int(values.get("broadcast", 0))
    found = await broadcasts.get(delivery.db, broadcast_id)
    if found is None or found.sender_id != delivery.item.recipient_id:
        return None
    figures = await broadcasts.figures(delivery.db, broadcast_id)
    locale = delivery.language

    def tr(msg: str) -> str:
        return str(delivery.i18n.gettext(msg, locale=locale))

    text = tr(t.FINAL).format(**t.values(broadcast_id, figures, locale))
    text += t.figures_line(figures, locale, tr)
    return text + "\n" + tr("The figures: /broadcasts"), None


def create_router() -> Router:
    """Caseworkers and administrators (placed in the staff audience)."""
    router = Router(name="broadcast")
    router.message.register(start, Command("broadcast", ignore_case=True))
    router.message.register(listing, Command("broadcasts", ignore_case=True))
    router.callback_query.register(
        pick_audience, BcAudience.filter(F.code != "cws_done"), StateFilter(Composing.audience)
    )
    router.callback_query.register(
        caseworkers_chosen,
        BcAudience.filter(F.code == "cws_done"),
        StateFilter(Composing.caseworkers),
    )
    router.callback_query.register(
        toggle_caseworker, BcPick.filter(), StateFilter(Composing.caseworkers)
    )
    router.callback_query.register(draft_action, BcDraft.filter(), ON_MESSAGE)
    router.callback_query.register(manage, BcManage.filter())
    router.message.register(content_given, StateFilter(Composing.content, Composing.version))
    router.message.register(time_given, StateFilter(Composing.when))
    return router
