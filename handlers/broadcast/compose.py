"""Composing, steps 2-4: the content (copied as it is), versions per language, the
preview with recipients per language and those skipped, then Send now, Send at… or Cancel.
Everything is stored in one transaction by services/broadcasts.py."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import current_locale, say_when
from db import broadcasts, users
from db.broadcasts import Version
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.broadcast import texts as t
from handlers.broadcast.audience import describe_audience
from handlers.broadcast.callbacks import BcDraft, Composing, DraftAction
from handlers.ui import edit_or_send, refuse_inactive
from scheduler.broadcasts import BroadcastSender
from services import broadcasts as service
from services.broadcasts import AudienceNotAllowedError

LANGS = broadcasts.LANGUAGES


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
            n=t.number(figures.total, current_locale())
        ),
    ]
    for lang in LANGS:
        if lang not in figures.per_language:
            continue
        n, version = figures.per_language[lang]
        line = f"  {t.LANGUAGE_NAMES[lang]}: {t.number(n, current_locale())}"
        if version != lang:
            line += " " + _("(they get the version: {language})").format(
                language=t.LANGUAGE_NAMES[version]
            )
        lines.append(line)
    if figures.skipped:
        lines.append(
            _("Skipped (unreachable or blocked): {n}").format(
                n=t.number(figures.skipped, current_locale())
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
            id=broadcast_id, sent=0, total=t.number(figures.total, current_locale())
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
