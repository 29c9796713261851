"""Everything the fake Telegram remembers, plus the "something changed" signal.

Shared by the HTTP method handlers (bot side) and :class:`FakeUser` (human side);
all access happens on one event loop, so no locking is needed.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .models import CallbackAnswer, JsonDict, Msg, StoredFile

# Update types Telegram sends when allowed_updates is empty/unset.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class UserRecord:
    """A simulated Telegram user and their private chat with the bot (chat id == user id)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    started: bool = False  # has sent the bot anything; until then the bot can't write first
    blocked: bool = False
    deactivated: bool = False
    reply_keyboard: JsonDict | None = None
    last_callback_answer: CallbackAnswer | None = None

    def as_user(self) -> JsonDict:
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        return user

    def as_chat(self) -> JsonDict:
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass
class ChatHistory:
    messages: dict[int, Msg] = field(default_factory=dict)  # insertion order == chat order
    last_message_id: int = 0


class State:
    def __init__(self, bot_user: JsonDict) -> None:
        self.bot_user = bot_user
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatHistory] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.callbacks: dict[str, int] = {}  # unanswered callback_query id -> user id
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        # Update queue as in getUpdates: kept until confirmed by a later offset.
        self.updates: list[JsonDict] = []
        self.allowed_updates: frozenset[str] = frozenset()
        self.fetched: dict[int, int] = {}  # update_id -> call_seq when first returned by getUpdates
        self.dropped: set[int] = set()  # filtered out by allowed_updates, never delivered
        # Update ids the bot reported as fully handled (tests/harness.py wires the bot's
        # signal); when a bot reports them, FakeUser waits for that instead of a quiet spell.
        self.handled: set[int] = set()
        self.tracks_handling = False
        # In process (tests/harness.py start_inproc): updates go straight to this instead of
        # waiting in the queue for getUpdates.
        self.deliver: Callable[[JsonDict], None] | None = None
        self.last_update_id = 0
        self.poll_generation = 0
        self.polls_started = 0
        self.closing = False
        # Bot activity (non-getUpdates calls), what FakeUser waits on.
        self.call_seq = 0
        self.in_flight = 0
        self.last_activity = 0.0  # event loop time
        self._update_ids = itertools.count(1)
        self._file_seq = itertools.count(1)
        self._waiters: list[asyncio.Future[None]] = []

    # -- change notification -------------------------------------------------

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool], within: float | None) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every notify); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while not predicate():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait([waiter], timeout=remaining)
            finally:
                if not waiter.done():
                    waiter.cancel()
        return True

    def call_started(self) -> None:
        self.call_seq += 1
        self.in_flight += 1
        self.last_activity = asyncio.get_running_loop().time()
        self.notify()

    def call_finished(self) -> None:
        self.in_flight -= 1
        self.last_activity = asyncio.get_running_loop().time()
        self.notify()

    # -- users, chats, messages ----------------------------------------------

    def chat(self, chat_id: int) -> ChatHistory:
        return self.chats.setdefault(chat_id, ChatHistory())

    def next_message_id(self, chat_id: int) -> int:
        # Private chats number messages per chat, shared by both sides.
        history = self.chat(chat_id)
        history.last_message_id += 1
        return history.last_message_id

    def find_message(self, chat_id: int, message_id: int) -> Msg | None:
        history = self.chats.get(chat_id)
        return None if history is None else history.messages.get(message_id)

    def add_message(self, msg: Msg) -> Msg:
        self.chat(msg.chat_id).messages[msg.message_id] = msg
        user = self.users.get(msg.chat_id)
        if msg.from_bot and user is not None and msg.reply_markup is not None:
            # Reply keyboards persist in the client until replaced or removed.
            if "keyboard" in msg.reply_markup:
                user.reply_keyboard = msg.reply_markup
            elif msg.reply_markup.get("remove_keyboard"):
                user.reply_keyboard = None
        self.refresh(msg)
        self.notify()
        return msg

    def remove_message(self, chat_id: int, message_id: int) -> None:
        del self.chat(chat_id).messages[message_id]
        self.notify()

    def refresh(self, msg: Msg) -> None:
        """Re-render ``msg.raw`` after creation or an edit."""
        msg.raw = self.render(msg)

    def render(self, msg: Msg, *, with_reply: bool = True) -> JsonDict:
        user = self.users[msg.chat_id]
        out: JsonDict = {
            "message_id": msg.message_id,
            "from": self.bot_user if msg.from_bot else user.as_user(),
            "chat": user.as_chat(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.forward_origin is not None:
            out["forward_origin"] = msg.forward_origin
        if msg.reply_to is not None and with_reply:
            replied = self.find_message(msg.chat_id, msg.reply_to)
            if replied is not None:
                out["reply_to_message"] = self.render(replied, with_reply=False)
        out.update(msg.media)
        if msg.text is not None:
            is_text = msg.kind == "text"
            out["text" if is_text else "caption"] = msg.text
            if msg.entities:
                out["entities" if is_text else "caption_entities"] = msg.entities
        # The API echoes only inline keyboards back in Message objects.
        if msg.reply_markup is not None and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        return out

    # -- files ---------------------------------------------------------------

    def store_file(
        self,
        data: bytes,
        *,
        folder: str,
        extension: str,
        filename: str | None,
        mime_type: str | None,
    ) -> StoredFile:
        seq = next(self._file_seq)
        stored = StoredFile(
            file_id=f"FAKE{folder[:3].upper()}{seq}-{secrets.token_hex(6)}",
            file_unique_id=f"U{seq}{secrets.token_hex(3)}",
            data=data,
            file_path=f"{folder}/file_{seq}{extension}",
            filename=filename,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    # -- updates -------------------------------------------------------------

    def mark_handled(self, update_id: int) -> None:
        self.handled.add(update_id)
        self.notify()

    def push_update(self, body: JsonDict) -> int:
        update_id = next(self._update_ids)
        self.last_update_id = update_id
        update = {"update_id": update_id, **body}
        if self.deliver is None:
            self.updates.append(update)
        else:
            self.fetched[update_id] = self.call_seq
            if self._allowed(update):
                self.deliver(update)
            else:
                self.dropped.add(update_id)
        self.notify()
        return update_id

    def confirm(self, offset: int) -> None:
        self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def _allowed(self, update: JsonDict) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _DEFAULT_EXCLUDED_UPDATES

    def prune_disallowed(self) -> None:
        """Telegram never stores updates the bot did not subscribe to; drop them."""
        kept = []
        for update in self.updates:
            if self._allowed(update):
                kept.append(update)
            else:
                self.dropped.add(update["update_id"])
        if len(kept) != len(self.updates):
            self.updates = kept
            self.notify()

    def take_updates(self, limit: int) -> list[JsonDict]:
        batch = self.updates[:limit]
        for update in batch:
            self.fetched.setdefault(update["update_id"], self.call_seq)
        if batch:
            self.notify()
        return batch


def now() -> int:
    return int(time.time())
