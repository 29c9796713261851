"""What a handler gets with its item: the bot, the database, the engine's settings, the
person's language and zone, how late the item is, and a paced `send_message` to the item's
recipient."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import Message
from aiogram.utils.i18n import I18n

from core.dates import format_datetime, format_when
from core.text import N_
from db.database import Database
from db.scheduled import SENT_PARTS, ScheduledItem, note_sent_part
from scheduler.pacing import ChatPacer
from scheduler.settings import EngineSettings

if TYPE_CHECKING:
    from scheduler.engine import Engine

LATE_NOTE = N_("⏰ This message is late: it was planned for {time}.")


@dataclass
class Delivery:
    item: ScheduledItem
    bot: Bot
    db: Database
    i18n: I18n
    settings: EngineSettings
    engine: Engine
    now: datetime  # the engine's "now" for this item (UTC)
    language: str  # the recipient's language (saved choice, else DEFAULT_LANGUAGE)
    zone: ZoneInfo  # the recipient's time zone (their own, else TIMEZONE)
    pacer: ChatPacer = field(repr=False)
    pass_began_at: datetime | None = None  # the engine's pass that claimed it (None: outside one)
    sent_messages: int = 0

    @property
    def lateness(self) -> timedelta:
        """How long after its intended time the item is being handled (never negative)."""
        return max(timedelta(0), self.now - self.item.intended_at)

    @property
    def queued(self) -> bool:
        """Claimed at its first try by a pass that began in time (within
        SCHEDULER_LATE_AFTER_SECONDS of the item's due time) and has been working through
        the backlog since: any wait was the engine's own queue, not an outage or a bot that
        was down. The national morning (25,500 reminders at 09:00) takes Telegram's 30/s a
        quarter of an hour; a reminder handed over at 09:12 is on time for its reader, not
        "late, planned for 09:00"."""
        began = self.pass_began_at
        return (
            began is not None
            and began - self.item.due_at <= self.settings.late_after
            and self.item.attempts <= 1
        )

    @property
    def late(self) -> bool:
        """Later than SCHEDULER_LATE_AFTER_SECONDS, and not merely queued behind others
        (`queued`): the bot was down or Telegram failed. Send with `late_note()`, or drop."""
        return self.lateness > self.settings.late_after and not self.queued

    def gettext(self, message: str, **values: Any) -> str:
        """`message` in the recipient's language, formatted with `values`."""
        text = self.i18n.gettext(message, locale=self.language)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self.i18n.gettext(singular, plural, n, locale=self.language)
        return text.format(n=n, **values)

    def local_time(self, moment: datetime, fmt: str | None = None) -> str:
        """A moment in the recipient's language and zone: "today at 22:00", "tomorrow at
        10:30" or a date (core/dates.py), or with an explicit Babel pattern such as "HH:mm"."""
        if fmt is not None:
            return format_datetime(moment, self.language, self.zone, fmt)
        return format_when(moment, self.language, self.zone, self.now, self.gettext)

    def late_note(self) -> str:
        """'' when on time; else a line, in the recipient's language, saying when it was due."""
        if not self.late:
            return ""
        return self.gettext(LATE_NOTE, time=self.local_time(self.item.intended_at))

    async def pace(self) -> None:
        """Wait for this chat's next slot; call before any other send method on `bot`."""
        await self.pacer.before_send(self.item.recipient_id)

    def paced(self) -> None:
        """Record a send to this chat made after `pace()`."""
        self.sent_messages += 1
        self.pacer.after_send(self.item.recipient_id)

    async def send_message(self, text: str, **kwargs: Any) -> Message:
        """Send `text` (HTML) to the item's recipient, paced; errors propagate to the engine."""
        await self.pace()
        try:
            return await self.bot.send_message(self.item.recipient_id, text, **kwargs)
        finally:
            self.paced()

    async def once(self, part: str, send: Callable[[], Awaitable[object]]) -> None:
        """Send one part of an item made of several messages (a text, then a map pin or a
        file) at most once across the item's retries: when it went out, that is recorded
        before the next part is tried, so an outage between two parts makes the retry send
        only what is missing. The last part needs no `once` (the item is then marked sent).
        A kill -9 between a part's send and its record can still repeat that one part."""
        if part in self.item.payload.get(SENT_PARTS, []):
            return
        await send()
        await note_sent_part(self.db, self.item, part)

    async def copy_message(self, from_chat_id: int, message_id: int, **kwargs: Any) -> None:
        """Copy a message (any content) to the item's recipient, paced."""
        await self.pace()
        try:
            await self.bot.copy_message(self.item.recipient_id, from_chat_id, message_id, **kwargs)
        finally:
            self.paced()
