"""The progress message (edited at most every few seconds, at REMINDER priority: above
the broadcast's own sends so they never starve it, below alerts and replies) and the final
report (a notice stored with the state change)."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramAPIError

from core.priority import Priority, priority
from db import broadcasts, users
from db.broadcasts import State as BState
from db.clock import utcnow
from handlers.broadcast import texts as t
from handlers.notices import Rendered, renderer
from scheduler.broadcasts import BroadcastSender
from scheduler.context import Delivery
from scheduler.engine import Engine
from services import broadcasts as service

log = logging.getLogger(__name__)


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
