"""Bot API methods with the semantics and error descriptions of the real Telegram."""

from __future__ import annotations

import dataclasses
import mimetypes
import re
import struct
from collections.abc import Callable
from pathlib import PurePosixPath

from .html_check import HtmlParseError, parse_html
from .markup import validate_reply_markup
from .models import (
    ApiError,
    CallbackAnswer,
    JsonDict,
    Msg,
    StoredFile,
    UploadedFile,
    bad_request,
    forbidden,
)
from .params import Params, canonical_chat_id
from .state import State, UserRecord, now

# Calls that deliver a message: these count against the flood limit.
OUTGOING = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendLocation",
        "sendVenue",
        "copyMessage",
        "forwardMessage",
    }
)
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SIMPLE_SCOPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
# Accepted and recorded, with no behaviour to fake: bots commonly call them at startup.
_NOOP_METHODS = ("setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")

Handler = Callable[[Params], object]


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image we can recognise, None if it is not an image at all."""
    if not data.startswith(_IMAGE_MAGIC):
        return None
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 800, 600  # good enough for JPEG/GIF/WebP: nobody asserts on their size


class BotMethods:
    def __init__(self, state: State, *, strict_html: bool = True) -> None:
        self.state = state
        self.strict_html = strict_html
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageCaption": self.edit_message_caption,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "sendLocation": self.send_location,
            "sendVenue": self.send_venue,
            "sendChatAction": self.send_chat_action,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "getFile": self.get_file,
            "getChat": self.get_chat,
        }
        for name in _NOOP_METHODS:
            self.handlers[name] = lambda _p: True

    def names(self) -> list[str]:
        return [*self.handlers, "getUpdates"]

    async def call(self, method: str, params: Params) -> object:
        if method == "getUpdates":
            return await self.get_updates(params)
        return self.handlers[method](params)

    # -- common checks ---------------------------------------------------------

    def _chat(self, params: Params, key: str = "chat_id") -> UserRecord:
        user = self.state.users.get(canonical_chat_id(params, key))
        if user is None:
            raise bad_request("chat not found")
        return user

    def _recipient(self, params: Params, key: str = "chat_id") -> UserRecord:
        """A chat the bot may write to right now, or the 403 Telegram would answer."""
        user = self._chat(params, key)
        if user.deactivated:
            raise forbidden("user is deactivated")
        if user.blocked:
            raise forbidden("bot was blocked by the user")
        if not user.started:
            raise forbidden("bot can't initiate conversation with a user")
        return user

    def _formatted(
        self, params: Params, key: str, entities_key: str
    ) -> tuple[str, str, list[JsonDict]]:
        """(raw, plain text, entities) of a text or caption according to parse_mode."""
        raw = params.opt_str(key) or ""
        # Explicit entities win over parse_mode, as on Telegram.
        mode = "" if params.has(entities_key) else (params.opt_str("parse_mode") or "").lower()
        if mode == "html":
            try:
                plain, entities = parse_html(raw, strict_entities=self.strict_html)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc.reason}") from None
            return raw, plain, entities
        if mode in ("markdown", "markdownv2"):
            raise bad_request(
                "can't parse entities: FakeBotAPI implements only the HTML parse mode"
            )
        if mode:
            raise bad_request("unsupported parse_mode")
        given = params.opt_json(entities_key) or []
        if not isinstance(given, list) or not all(isinstance(e, dict) for e in given):
            raise bad_request(f"can't parse {entities_key} JSON object")
        return raw, raw, [dict(e) for e in given]

    @staticmethod
    def _check_text(plain: str, *, edit: bool) -> None:
        if not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > MAX_TEXT:
            # The same overflow is worded differently for edits.
            raise bad_request("MESSAGE_TOO_LONG" if edit else "message is too long")

    def _caption(self, params: Params) -> tuple[str | None, str | None, list[JsonDict]]:
        raw, plain, entities = self._formatted(params, "caption", "caption_entities")
        if len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        if not plain:
            return None, None, []
        return raw, plain, entities

    def _reply_to(self, params: Params, chat_id: int) -> int | None:
        reply = params.opt_json("reply_parameters")
        if isinstance(reply, dict):
            target, allow = reply.get("message_id"), bool(reply.get("allow_sending_without_reply"))
        else:
            target, allow = (
                params.opt_int("reply_to_message_id"),
                params.bool_("allow_sending_without_reply"),
            )
        if not isinstance(target, int):
            return None
        if self.state.find_message(chat_id, target) is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _draft(self, user: UserRecord, kind: str) -> Msg:
        """A bot message to ``user``; its id is assigned only on delivery, so errors waste none."""
        return Msg(message_id=0, chat_id=user.id, from_bot=True, kind=kind, date=now())

    def _deliver(self, params: Params, msg: Msg) -> JsonDict:
        msg.reply_markup = validate_reply_markup(params.opt_json("reply_markup"))
        msg.reply_to = self._reply_to(params, msg.chat_id)
        msg.message_id = self.state.next_message_id(msg.chat_id)
        return self.state.add_message(msg).raw

    def _upload(self, source: UploadedFile | str | None, *, param: str, folder: str) -> StoredFile:
        if source is None or source == "":
            raise bad_request(f"there is no {param} in the request")
        if isinstance(source, str):
            known = self.state.files.get(source)
            if known is not None:
                return known
            if source.startswith(("http://", "https://")):
                raise bad_request("failed to get HTTP URL content")  # the fake never fetches URLs
            raise bad_request("wrong file identifier/HTTP URL specified")
        if not source.data:
            raise bad_request("file must be non-empty")
        mime = (
            mimetypes.guess_type(source.filename)[0]
            or source.content_type
            or "application/octet-stream"
        )
        if folder == "photos" and _image_size(source.data) is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return self.state.store_file(
            source.data,
            folder=folder,
            extension=PurePosixPath(source.filename).suffix,
            filename=source.filename,
            mime_type=mime,
        )

    # -- getUpdates & webhook ----------------------------------------------------

    async def get_updates(self, params: Params) -> list[JsonDict]:
        state = self.state
        offset = params.opt_int("offset")
        limit = min(max(params.opt_int("limit") or 100, 1), 100)
        timeout = max(params.opt_int("timeout") or 0, 0)
        allowed = params.opt_json("allowed_updates")
        if isinstance(allowed, list):
            # Remembered until the next call that passes it, like Telegram does.
            state.allowed_updates = frozenset(str(kind) for kind in allowed)
        if offset is not None and offset > 0:
            state.confirm(offset)
        state.poll_generation += 1
        generation = state.poll_generation
        state.notify()  # a poll still waiting is now superseded (409 below)

        def ready() -> bool:
            if state.closing or generation != state.poll_generation:
                return True
            state.prune_disallowed()
            return bool(state.updates)

        await state.wait_until(ready, timeout)
        if generation != state.poll_generation:
            raise ApiError(409, CONFLICT)
        state.prune_disallowed()
        return state.take_updates(limit)

    def delete_webhook(self, params: Params) -> bool:
        if params.bool_("drop_pending_updates"):
            self.state.dropped.update(u["update_id"] for u in self.state.updates)
            self.state.updates.clear()
            self.state.notify()
        return True

    def get_webhook_info(self, _params: Params) -> JsonDict:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }

    def get_me(self, _params: Params) -> JsonDict:
        return {
            **self.state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # -- sending ---------------------------------------------------------------

    def send_message(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        if not params.has("text"):
            raise bad_request("message text is empty")
        msg = self._draft(user, "text")
        msg.html, msg.text, msg.entities = self._formatted(params, "text", "entities")
        self._check_text(msg.text, edit=False)
        preview = params.opt_json("link_preview_options")
        msg.link_preview_disabled = params.bool_("disable_web_page_preview") or (
            isinstance(preview, dict) and bool(preview.get("is_disabled"))
        )
        return self._deliver(params, msg)

    def _file_message(self, params: Params, user: UserRecord, kind: str, stored: StoredFile) -> Msg:
        msg = self._draft(user, kind)
        msg.html, msg.text, msg.entities = self._caption(params)
        msg.document, msg.filename = stored.data, stored.filename
        msg.mime_type, msg.file_id = stored.mime_type, stored.file_id
        return msg

    def send_document(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        stored = self._upload(params.opt_file("document"), param="document", folder="documents")
        msg = self._file_message(params, user, "document", stored)
        document: JsonDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.filename:
            document["file_name"] = stored.filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        document["file_size"] = len(stored.data)
        msg.media = {"document": document}
        return self._deliver(params, msg)

    def send_photo(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        stored = self._upload(params.opt_file("photo"), param="photo", folder="photos")
        msg = self._file_message(params, user, "photo", stored)
        width, height = _image_size(stored.data) or (800, 600)
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": len(stored.data),
        }
        msg.media = {"photo": [size]}
        return self._deliver(params, msg)

    def _point(self, params: Params) -> JsonDict:
        latitude, longitude = params.float_("latitude"), params.float_("longitude")
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise bad_request("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def send_location(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        point = self._point(params)
        msg = self._draft(user, "location")
        msg.media = {"location": point}
        msg.location = (point["latitude"], point["longitude"])
        return self._deliver(params, msg)

    def send_venue(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        point = self._point(params)
        msg = self._draft(user, "venue")
        msg.venue_title, msg.venue_address = params.str_("title"), params.str_("address")
        msg.media = {
            "venue": {"location": point, "title": msg.venue_title, "address": msg.venue_address}
        }
        msg.media["location"] = point  # Telegram fills both fields for venues
        msg.location = (point["latitude"], point["longitude"])
        return self._deliver(params, msg)

    def send_chat_action(self, params: Params) -> bool:
        user = self._recipient(params)
        action = params.opt_str("action") or ""
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.state.chat_actions.append((user.id, action))
        return True

    def _source(self, params: Params, missing: str) -> Msg:
        source_chat = self._chat(params, "from_chat_id")
        source = self.state.find_message(source_chat.id, params.int_("message_id"))
        if source is None:
            raise bad_request(missing)
        return source

    def copy_message(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        source = self._source(params, "message to copy not found")
        copy = dataclasses.replace(
            source,
            chat_id=user.id,
            from_bot=True,
            date=now(),
            edited=0,
            edit_date=None,
            copied_from=(source.chat_id, source.message_id),
            forwarded_from=None,
            forward_origin=None,
            raw={},
        )
        if source.kind != "text" and "caption" in params.data:
            copy.html, copy.text, copy.entities = self._caption(params)
        self._deliver(params, copy)
        return {"message_id": copy.message_id}

    def forward_message(self, params: Params) -> JsonDict:
        user = self._recipient(params)
        source = self._source(params, "message to forward not found")
        origin = source.forward_origin or {
            "type": "user",
            "sender_user": self.state.bot_user
            if source.from_bot
            else self.state.users[source.chat_id].as_user(),
            "date": source.date,
        }
        forward = dataclasses.replace(
            source,
            message_id=self.state.next_message_id(user.id),
            chat_id=user.id,
            from_bot=True,
            date=now(),
            reply_markup=None,
            edited=0,
            edit_date=None,
            reply_to=None,
            copied_from=None,
            forwarded_from=(source.chat_id, source.message_id),
            forward_origin=origin,
            raw={},
        )
        return self.state.add_message(forward).raw

    # -- editing & deleting ------------------------------------------------------

    def _editable(self, params: Params) -> Msg:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline mode is out of the fake's scope
        user = self._recipient(params)
        msg = self.state.find_message(user.id, params.int_("message_id"))
        if msg is None:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: Msg, **changes: object) -> JsonDict:
        current = {key: getattr(msg, key) for key in changes}
        if current == changes:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edited += 1
        msg.edit_date = now()
        self.state.refresh(msg)
        self.state.notify()
        return msg.raw

    def edit_message_text(self, params: Params) -> JsonDict:
        msg = self._editable(params)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        if not params.has("text"):
            raise bad_request("message text is empty")
        raw, plain, entities = self._formatted(params, "text", "entities")
        self._check_text(plain, edit=True)
        # Omitting reply_markup on an edit removes the inline keyboard, as on Telegram.
        markup = validate_reply_markup(params.opt_json("reply_markup"), inline_only=True)
        result = self._apply_edit(msg, text=plain, entities=entities, reply_markup=markup)
        msg.html = raw
        return result

    def edit_message_caption(self, params: Params) -> JsonDict:
        msg = self._editable(params)
        if msg.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        raw, caption, entities = self._caption(params)
        markup = validate_reply_markup(params.opt_json("reply_markup"), inline_only=True)
        result = self._apply_edit(msg, text=caption, entities=entities, reply_markup=markup)
        msg.html = raw
        return result

    def edit_message_reply_markup(self, params: Params) -> JsonDict:
        msg = self._editable(params)
        markup = validate_reply_markup(params.opt_json("reply_markup"), inline_only=True)
        return self._apply_edit(msg, reply_markup=markup)

    def delete_message(self, params: Params) -> bool:
        user = self._chat(params)
        message_id = params.int_("message_id")
        if self.state.find_message(user.id, message_id) is None:
            raise bad_request("message to delete not found")
        self.state.remove_message(user.id, message_id)
        return True

    # -- callbacks -------------------------------------------------------------------

    def answer_callback_query(self, params: Params) -> bool:
        query_id = params.opt_str("callback_query_id") or ""
        user_id = self.state.callbacks.get(query_id)
        if user_id is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.opt_str("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            callback_query_id=query_id,
            text=text,
            show_alert=params.bool_("show_alert"),
            url=params.opt_str("url"),
            cache_time=params.opt_int("cache_time") or 0,
        )
        del self.state.callbacks[query_id]  # a query can be answered only once
        self.state.callback_answers.append(answer)
        self.state.users[user_id].last_callback_answer = answer
        self.state.notify()
        return True

    # -- commands ----------------------------------------------------------------------

    def _commands_key(self, params: Params) -> tuple[str, str]:
        language = params.opt_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("LANG_CODE_INVALID")
        scope = params.opt_json("scope")
        if scope is None:
            return "default", language
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = scope["type"]
        if kind in _SIMPLE_SCOPES:
            return kind, language
        if kind in ("chat", "chat_administrators", "chat_member"):
            scope_params = Params(scope)
            chat = self._chat(scope_params)
            if kind == "chat_member":
                return f"chat_member:{chat.id}:{scope_params.int_('user_id')}", language
            return f"{kind}:{chat.id}", language
        raise bad_request("unsupported bot command scope type")

    def set_my_commands(self, params: Params) -> bool:
        key = self._commands_key(params)
        commands = params.opt_json("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        cleaned: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        if cleaned:
            self.state.commands[key] = cleaned
        else:
            self.state.commands.pop(key, None)  # an empty list is how Telegram deletes
        return True

    def get_my_commands(self, params: Params) -> list[JsonDict]:
        return list(self.state.commands.get(self._commands_key(params), []))

    def delete_my_commands(self, params: Params) -> bool:
        self.state.commands.pop(self._commands_key(params), None)
        return True

    # -- files & chats --------------------------------------------------------------------

    def get_file(self, params: Params) -> JsonDict:
        stored = self.state.files.get(params.opt_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.as_file_json()

    def get_chat(self, params: Params) -> JsonDict:
        user = self._chat(params)
        return {
            **user.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }
