"""Per-person throttle on incoming updates: one account flooding the bot cannot use up
everyone's share of Telegram's 30 messages a second (or the database's time).

Each person's handled updates are counted in a sliding window (`limit` in `window`
seconds). Beyond it an update is dropped unhandled: no database work, no reply. Once per
window the person is told, in their language, to wait a few seconds (a button press is
answered with that text instead of a message). Registered early, before the person is
loaded, so a flood costs almost nothing; memory holds only people seen in the last window.

Staff get three times the limit. Caseworkers and admins legitimately act in bursts
(forwarding a client several documents or an album, paging through a caseload or the
problem reports) and are few and known; a dropped update in the middle of their work
costs a client. They are still limited: a stuck client app or a stolen phone on a staff
account must not be able to starve everyone else either. Their role is looked up only
when someone goes over the base limit, once per window.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n

from bot.i18n import N_, pick_language
from db import users
from db.database import Database
from db.users import Role

log = logging.getLogger(__name__)

NOTICE = N_("Too many messages at once; please wait a few seconds.")
STAFF_ROLES = frozenset({Role.CASEWORKER, Role.ADMIN})


@dataclass
class _Person:
    handled: deque[float]  # times of handled updates, oldest first
    told_at: float = -math.inf  # when the person was last told to wait
    staff: bool | None = None  # None: not looked up yet
    language: str | None = None
    lookup: asyncio.Task[None] | None = field(default=None, repr=False)


class ThrottleMiddleware(BaseMiddleware):
    def __init__(
        self,
        db: Database,
        i18n: I18n,
        *,
        limit: int = 20,
        staff_limit: int = 60,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        exempt: Callable[[Update], bool] | None = None,
    ) -> None:
        self.db = db
        self.exempt = exempt  # updates never dropped (a press of «I need help»)
        self.i18n = i18n
        self.limit = limit
        self.staff_limit = max(staff_limit, limit)
        self.window = window
        self._clock = clock
        self._people: dict[int, _Person] = {}
        self._next_sweep = clock() + window
        self.dropped = 0  # updates dropped since start (for tests and curiosity)

    def __len__(self) -> int:
        """People remembered."""
        return len(self._people)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        if from_user is None or from_user.is_bot:
            return await handler(event, data)
        if isinstance(event, Update) and (
            # Blocked/unblocked: rare, and dropping one would hide that a person is unreachable.
            event.my_chat_member is not None
            # A cry for help is never dropped, however fast someone presses.
            or (self.exempt is not None and self.exempt(event))
        ):
            return await handler(event, data)
        person = self._person(from_user.id)
        if self._take(person, self.limit):
            return await handler(event, data)
        if person.staff is None:
            await self._look_up(person, from_user)
        if person.staff and self._take(person, self.staff_limit):
            return await handler(event, data)
        self.dropped += 1
        now = self._clock()
        if now - person.told_at >= self.window:
            person.told_at = now
            await self._tell(data["bot"], event, data.get("event_chat"), person, from_user)
        return UNHANDLED

    def _person(self, user_id: int) -> _Person:
        now = self._clock()
        if now >= self._next_sweep:  # forget people idle for a whole window
            self._next_sweep = now + self.window
            self._people = {
                uid: p
                for uid, p in self._people.items()
                if (p.handled and now - p.handled[-1] < self.window)
                or now - p.told_at < self.window
            }
        person = self._people.get(user_id)
        if person is None:
            person = self._people[user_id] = _Person(handled=deque(maxlen=self.staff_limit))
        return person

    def _take(self, person: _Person, limit: int) -> bool:
        """Counts the update if the person has room under `limit` in the window."""
        now = self._clock()
        while person.handled and now - person.handled[0] >= self.window:
            person.handled.popleft()
        if len(person.handled) >= limit:
            return False
        person.handled.append(now)
        return True

    async def _look_up(self, person: _Person, from_user: TelegramUser) -> None:
        # One read per person however many of their updates arrive at once.
        if person.lookup is None:
            person.lookup = asyncio.ensure_future(self._read(person, from_user))
        try:
            await asyncio.shield(person.lookup)
        except Exception:
            person.lookup = None  # the next update tries again
            raise

    async def _read(self, person: _Person, from_user: TelegramUser) -> None:
        row = await users.get(self.db, from_user.id)
        person.staff = row is not None and row.role in STAFF_ROLES
        person.language = pick_language(
            row.language if row else None, from_user.language_code, self.i18n.default_locale
        )

    async def _tell(
        self,
        bot: Bot,
        event: TelegramObject,
        chat: Chat | None,
        person: _Person,
        from_user: TelegramUser,
    ) -> None:
        language = person.language or pick_language(
            None, from_user.language_code, self.i18n.default_locale
        )
        text = self.i18n.gettext(NOTICE, locale=language)
        query = event.callback_query if isinstance(event, Update) else None
        try:
            if query is not None:
                await bot.answer_callback_query(query.id, text=text)
            elif chat is not None:
                await bot.send_message(chat.id, text)
        except TelegramAPIError as exc:
            log.warning("Could not ask a person to slow down: %s", type(exc).__name__)
