# `timeout=` here bounds waiting for the bot as a whole (and shapes the error
# message), which asyncio.timeout() around the call could not do.
# ruff: noqa: ASYNC109
"""A simulated human in a private chat with the bot.

Every action builds the Update a real client would cause, queues it for
getUpdates (in process: hands it to the dispatcher at once, see State.deliver)
and waits until the bot has reacted, then returns the bot's new messages in
this chat. A bot wired by tests/harness.py reports each update handled, so
"reacted" means handled with no request of its own still open; for a bot that
does not report (a child process), a quiet spell of ``quiet`` seconds.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections.abc import Callable

from .html_check import utf16_len
from .models import CallbackAnswer, JsonDict, Msg
from .state import ChatHistory, State, UserRecord, now

# 1x1 transparent PNG: the default photo a user sends.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_FAKE_OGG = b"OggS\x00\x02" + bytes(58)  # shaped like a voice note; nobody decodes it
_FAKE_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
# Reply keyboard buttons that make the client send something other than their text.
_SPECIAL_REPLY_BUTTONS = {
    "request_location": "it shares a location: use share_location(lat, lon)",
    "request_contact": "it shares a contact: use send_contact(phone)",
    "request_users": "it opens a user picker, which FakeUser does not simulate",
    "request_chat": "it opens a chat picker, which FakeUser does not simulate",
    "request_poll": "it opens a poll editor, which FakeUser does not simulate",
    "web_app": "it opens a web app, which FakeUser does not simulate",
}


class FakeUser:
    """Acts as user ``id`` in the private chat ``id``; created via ``FakeBotAPI.user()``."""

    def __init__(self, state: State, record: UserRecord) -> None:
        self._state = state
        self.record = record
        self.timeout = 20.0  # default max wait for the bot's reaction
        self.quiet = 0.15  # the reaction is over after this long without bot calls
        self._baseline = 0  # last message id in the chat before the latest action

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def _history(self) -> ChatHistory:
        return self._state.chat(self.id)

    # -- reading the chat --------------------------------------------------------

    @property
    def messages(self) -> list[Msg]:
        """Every current message of the chat, both sides, in order (edits applied, deletions gone)."""
        return list(self._history.messages.values())

    @property
    def bot_messages(self) -> list[Msg]:
        return [m for m in self.messages if m.from_bot]

    @property
    def last(self) -> Msg:
        """The latest bot message in this chat."""
        bot_messages = self.bot_messages
        if not bot_messages:
            raise AssertionError(f"the bot has sent nothing to user {self.id}")
        return bot_messages[-1]

    def _latest_inline(self) -> Msg | None:
        return next((m for m in reversed(self.bot_messages) if m.inline_buttons), None)

    def buttons(self) -> list[list[str]]:
        """Inline keyboard rows (visible texts) of the latest bot message that has one."""
        latest = self._latest_inline()
        return (
            [] if latest is None else [[text for text, _ in row] for row in latest.inline_buttons]
        )

    @property
    def reply_keyboard(self) -> JsonDict | None:
        """The reply keyboard currently shown under the input field (raw ReplyKeyboardMarkup), if any."""
        return self.record.reply_keyboard

    def reply_buttons(self) -> list[list[str]]:
        keyboard = self.record.reply_keyboard
        return (
            [] if keyboard is None else [[b["text"] for b in row] for row in keyboard["keyboard"]]
        )

    def all_buttons_texts(self) -> list[str]:
        """Texts of every button the user can see: inline keyboards (newest message first), then the reply keyboard."""
        texts = [text for m in reversed(self.bot_messages) for text in m.button_texts]
        return texts + [text for row in self.reply_buttons() for text in row]

    @property
    def last_callback_answer(self) -> CallbackAnswer | None:
        """The bot's answerCallbackQuery for the latest press (None if it has not answered)."""
        return self.record.last_callback_answer

    # -- account state -------------------------------------------------------------

    def _member_update(self, old: str, new: str) -> None:
        if not self.record.started:
            return  # no chat with the bot yet, so nothing to report
        bot = self._state.bot_user
        member: JsonDict = {"status": new, "user": bot}
        if new == "kicked":
            member["until_date"] = 0
        self._state.push_update(
            {
                "my_chat_member": {
                    "chat": self.record.as_chat(),
                    "from": self.record.as_user(),
                    "date": now(),
                    "old_chat_member": {
                        "status": old,
                        "user": bot,
                        **({"until_date": 0} if old == "kicked" else {}),
                    },
                    "new_chat_member": member,
                }
            }
        )

    def block_bot(self) -> None:
        """Block the bot: sends get 403 and the bot receives a my_chat_member update (if subscribed)."""
        self.record.blocked = True
        self._member_update("member", "kicked")

    def unblock_bot(self) -> None:
        self.record.blocked = False
        self._member_update("kicked", "member")

    def deactivate(self) -> None:
        """Delete the account: every further send gets 403 "user is deactivated"."""
        self.record.deactivated = True

    # -- actions -------------------------------------------------------------------

    def _mark(self) -> None:
        self._baseline = self._history.last_message_id

    def _new_message(self, kind: str) -> Msg:
        self._mark()
        msg = Msg(
            message_id=self._state.next_message_id(self.id),
            chat_id=self.id,
            from_bot=False,
            kind=kind,
            date=now(),
        )
        return msg

    async def _post(self, msg: Msg, within: float | None, quiet: float | None) -> list[Msg]:
        self._state.add_message(msg)
        return await self._dispatch({"message": msg.raw}, within, quiet)

    async def _dispatch(
        self, body: JsonDict, within: float | None, quiet: float | None
    ) -> list[Msg]:
        self.record.started = True
        update_id = self._state.push_update(body)
        await self._settle(
            update_id,
            self.timeout if within is None else within,
            self.quiet if quiet is None else quiet,
        )
        return self._new_bot_messages()

    async def _settle(self, update_id: int, within: float, quiet: float) -> None:
        state = self._state
        if state.tracks_handling:  # the bot says when it is done: no guessing from silence
            # Done: the bot finished the update and no request of its own is still open
            # (a reply the rate limiter holds back counts as open, see count_waiting_requests).
            def done() -> bool:
                finished = update_id in state.handled or update_id in state.dropped
                return finished and state.in_flight == 0

            if not await state.wait_until(done, within):
                raise AssertionError(f"the bot did not finish update {update_id} within {within}s")
            return
        # A bot that does not report (e.g. in a child process): its reaction is over once
        # it has been quiet for `quiet` seconds.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        taken = await state.wait_until(
            lambda: update_id in state.fetched or update_id in state.dropped, within
        )
        if not taken:
            raise AssertionError(
                f"the bot did not fetch update {update_id} within {within}s: "
                "is a dispatcher polling this FakeBotAPI?"
            )
        if update_id in state.dropped:
            return  # filtered out by allowed_updates: the bot will never react
        seen = state.fetched[update_id]
        if not await state.wait_until(lambda: state.call_seq > seen, deadline - loop.time()):
            return  # the bot stayed silent
        # A reaction may span several calls; it is over once the bot goes quiet.
        quiet_deadline = deadline + within
        while loop.time() < quiet_deadline:
            idle = loop.time() - state.last_activity
            if state.in_flight == 0 and idle >= quiet:
                return
            await asyncio.sleep(max(quiet - idle, 0.005))

    def _new_bot_messages(self) -> list[Msg]:
        return [m for m in self.bot_messages if m.message_id > self._baseline]

    async def send(
        self, text: str, *, timeout: float | None = None, quiet: float | None = None
    ) -> list[Msg]:
        """Type and send ``text``; a leading /command gets its bot_command entity like in real clients."""
        msg = self._new_message("text")
        msg.text = msg.html = text
        command = _COMMAND_RE.match(text)
        if command is not None:
            msg.entities = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        return await self._post(msg, timeout, quiet)

    async def command(
        self, name: str, args: str = "", *, timeout: float | None = None, quiet: float | None = None
    ) -> list[Msg]:
        text = f"/{name.removeprefix('/')}" + (f" {args}" if args else "")
        return await self.send(text, timeout=timeout, quiet=quiet)

    async def start(
        self,
        payload: str | None = None,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        """/start, optionally with a deep-link payload (t.me/bot?start=payload)."""
        return await self.command("start", payload or "", timeout=timeout, quiet=quiet)

    async def press(
        self, button_text: str, *, timeout: float | None = None, quiet: float | None = None
    ) -> list[Msg]:
        """Press the button with exactly this text: inline keyboards newest first, then the reply keyboard."""
        for msg in reversed(self.bot_messages):
            for row in (msg.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") != button_text:
                        continue
                    if "callback_data" in button:
                        return await self._callback(msg, button["callback_data"], timeout, quiet)
                    if "url" in button:
                        raise AssertionError(
                            f"button {button_text!r} is a URL button ({button['url']}): "
                            "pressing it opens a link and the bot gets no update"
                        )
                    kinds = sorted(set(button) - {"text"})
                    raise AssertionError(
                        f"button {button_text!r} is a {kinds} button; only callback buttons can be pressed"
                    )
        for row in (self.record.reply_keyboard or {}).get("keyboard", []):
            for button in row:
                if button["text"] != button_text:
                    continue
                for key, why in _SPECIAL_REPLY_BUTTONS.items():
                    if button.get(key):
                        raise AssertionError(
                            f"reply button {button_text!r} can't be pressed as text: {why}"
                        )
                return await self.send(button_text, timeout=timeout, quiet=quiet)
        raise AssertionError(
            f"no button {button_text!r}; visible buttons: {self.all_buttons_texts()}"
        )

    async def press_data(
        self,
        data: str,
        message_id: int | None = None,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
        inaccessible: bool = False,
    ) -> list[Msg]:
        """Send a callback query with arbitrary (forged/tampered) data, as a modified client could.

        `inaccessible`: as Telegram sends a press on a message older than about 48 hours,
        with only the message's chat and id (date 0): the bot can no longer edit it."""
        if message_id is None:
            target = self._latest_inline()
            if target is None:
                raise AssertionError("no bot message with an inline keyboard to press on")
        else:
            found = self._history.messages.get(message_id)
            if found is None or not found.from_bot:
                raise AssertionError(f"no bot message #{message_id} in chat {self.id}")
            target = found
        return await self._callback(target, data, timeout, quiet, inaccessible=inaccessible)

    async def _callback(
        self,
        msg: Msg,
        data: str,
        within: float | None,
        quiet: float | None,
        *,
        inaccessible: bool = False,
    ) -> list[Msg]:
        self._mark()
        query_id = str(secrets.randbits(62))
        self._state.callbacks[query_id] = self.id
        self.record.last_callback_answer = None
        query = {
            "id": query_id,
            "from": self.record.as_user(),
            "message": (
                {"chat": msg.raw["chat"], "message_id": msg.message_id, "date": 0}
                if inaccessible
                else msg.raw
            ),
            "chat_instance": str(self.id * 7919 % 10**12),  # stable per chat, like Telegram's
            "data": data,
        }
        return await self._dispatch({"callback_query": query}, within, quiet)

    async def share_location(
        self,
        latitude: float,
        longitude: float,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        msg = self._new_message("location")
        msg.location = (latitude, longitude)
        msg.media = {"location": {"latitude": latitude, "longitude": longitude}}
        return await self._post(msg, timeout, quiet)

    def _file_message(
        self,
        kind: str,
        content: bytes,
        *,
        folder: str,
        extension: str,
        filename: str | None,
        mime_type: str | None,
    ) -> tuple[Msg, JsonDict]:
        stored = self._state.store_file(
            content, folder=folder, extension=extension, filename=filename, mime_type=mime_type
        )
        msg = self._new_message(kind)
        msg.document, msg.filename, msg.mime_type, msg.file_id = (
            content,
            filename,
            mime_type,
            stored.file_id,
        )
        file_json: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(content),
        }
        return msg, file_json

    @staticmethod
    def _set_caption(msg: Msg, caption: str | None) -> None:
        if caption:
            msg.text = msg.html = caption

    async def send_document(
        self,
        content: bytes,
        filename: str,
        mime_type: str = "text/csv",
        caption: str | None = None,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        extension = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
        msg, document = self._file_message(
            "document",
            content,
            folder="documents",
            extension=extension,
            filename=filename,
            mime_type=mime_type,
        )
        msg.media = {"document": {"file_name": filename, "mime_type": mime_type, **document}}
        self._set_caption(msg, caption)
        return await self._post(msg, timeout, quiet)

    async def send_photo(
        self,
        content: bytes = TINY_PNG,
        caption: str | None = None,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        msg, size = self._file_message(
            "photo",
            content,
            folder="photos",
            extension=".jpg",
            filename=None,
            mime_type="image/jpeg",
        )
        msg.media = {"photo": [{**size, "width": 1, "height": 1}]}
        self._set_caption(msg, caption)
        return await self._post(msg, timeout, quiet)

    async def send_sticker(
        self,
        emoji: str = "\N{THUMBS UP SIGN}",
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        msg, sticker = self._file_message(
            "sticker",
            _FAKE_WEBP,
            folder="stickers",
            extension=".webp",
            filename=None,
            mime_type="image/webp",
        )
        msg.media = {
            "sticker": {
                **sticker,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
            }
        }
        return await self._post(msg, timeout, quiet)

    async def send_voice(
        self,
        content: bytes = _FAKE_OGG,
        duration: int = 1,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        msg, voice = self._file_message(
            "voice", content, folder="voice", extension=".oga", filename=None, mime_type="audio/ogg"
        )
        msg.media = {"voice": {**voice, "duration": duration, "mime_type": "audio/ogg"}}
        return await self._post(msg, timeout, quiet)

    async def send_contact(
        self,
        phone: str,
        first_name: str | None = None,
        *,
        timeout: float | None = None,
        quiet: float | None = None,
    ) -> list[Msg]:
        """Share a contact; by default the user's own (as a request_contact button does)."""
        msg = self._new_message("contact")
        msg.phone_number = phone
        contact: JsonDict = {
            "phone_number": phone,
            "first_name": first_name or self.record.first_name,
        }
        if first_name is None:
            contact["user_id"] = self.id
            if self.record.last_name:
                contact["last_name"] = self.record.last_name
        msg.media = {"contact": contact}
        return await self._post(msg, timeout, quiet)

    async def wait_for(self, predicate: Callable[[Msg], bool] | str, timeout: float = 5.0) -> Msg:
        """A bot message in this chat newer than the last action matching ``predicate`` (or containing the text).

        For messages the bot sends on its own (schedulers); messages already
        returned by the last action count too.
        """
        matches: Callable[[Msg], bool]
        if isinstance(predicate, str):
            needle = predicate
            matches = lambda m: m.text is not None and needle in m.text  # noqa: E731
        else:
            matches = predicate
        found: list[Msg] = []

        def check() -> bool:
            found[:] = [m for m in self._new_bot_messages() if matches(m)]
            return bool(found)

        if not await self._state.wait_until(check, timeout):
            raise AssertionError(
                f"no bot message matching {predicate!r} within {timeout}s; new bot messages: {self._new_bot_messages()}"
            )
        return found[0]
