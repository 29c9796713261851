"""/broadcasts: past and running broadcasts with their figures; stop a running one;
administrators download the per-recipient outcome as CSV (ids and statuses only)."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiogram import Bot
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import current_locale, say_datetime
from db import broadcasts
from db.broadcasts import Figures
from db.broadcasts import State as BState
from db.clock import utcnow
from db.database import Database
from db.users import Role, User
from handlers.broadcast import texts as t
from handlers.broadcast.callbacks import BcManage, ManageAction
from handlers.ui import refuse, refuse_inactive
from scheduler.broadcasts import BroadcastSender
from services import broadcasts as service


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
    locale = current_locale()
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
                _(t.STOPPED).format(**t.values(found.id, figures, current_locale())),
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
