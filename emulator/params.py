"""Reading Bot API call parameters the way Telegram accepts them.

Telegram takes parameters as a query string, urlencoded form, multipart form
(files) or a JSON body. In form encodings everything is a string and objects
are JSON-encoded (aiogram always sends multipart), so values are decoded here
by field name, and :class:`Params` getters accept both spellings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from .models import ApiError, JsonDict, UploadedFile, bad_request

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "scope",
        "commands",
        "allowed_updates",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "cache_time",
        "duration",
        "width",
        "height",
        "live_period",
        "heading",
        "proximity_alert_radius",
    }
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_FIELDS = frozenset(
    {
        "disable_web_page_preview",
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "has_spoiler",
        "show_caption_above_media",
        "disable_content_type_detection",
        "allow_paid_broadcast",
    }
)


def decode_field(key: str, value: str) -> object:
    """Best-effort typing of a form value; undecodable values stay strings for the handler to reject."""
    try:
        if key in _JSON_FIELDS:
            return json.loads(value)
        if key in _INT_FIELDS:
            return int(value)
        if key in _FLOAT_FIELDS:
            return float(value)
    except ValueError:
        return value
    if key in _BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


async def read_params(request: web.Request) -> JsonDict:
    """All parameters of a call, decoded; uploaded files appear as :class:`UploadedFile`."""
    params: JsonDict = {key: decode_field(key, value) for key, value in request.query.items()}
    files: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise bad_request("can't parse JSON body") from exc
        if not isinstance(body, dict):
            raise bad_request("JSON body must be an object")
        params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
            elif isinstance(value, str):
                params[key] = decode_field(key, value)
    return attach_files(params, files)


def attach_files(params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
    """Put file parts in place of their parameters.

    aiogram sends `document=attach://<key>` plus a file part named <key>;
    curl-style clients name the file part after the parameter directly.
    """
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            attached = files.pop(value.removeprefix("attach://"), None)
            if attached is not None:
                params[key] = attached
    params.update(files)
    return params


class Params:
    """Typed access to decoded call parameters, raising Telegram-like 400s."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self.data = data

    def has(self, key: str) -> bool:
        return self.data.get(key) not in (None, "")

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise bad_request(f'field "{key}" must be of type String')

    def str_(self, key: str) -> str:
        value = self.opt_str(key)
        if not value:
            raise bad_request(f"{key} is empty")
        return value

    def opt_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{key}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise bad_request(f'field "{key}" must be of type Integer')

    def int_(self, key: str) -> int:
        value = self.opt_int(key)
        if value is None:
            raise bad_request(f"{key} is empty")
        return value

    def opt_float(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad_request(f'field "{key}" must be a Number')

    def float_(self, key: str) -> float:
        value = self.opt_float(key)
        if value is None:
            raise bad_request(f"{key} is empty")
        return value

    def bool_(self, key: str) -> bool:
        value = self.data.get(key)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def opt_json(self, key: str) -> object:
        value = self.data.get(key)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                decoded: object = json.loads(value)
            except ValueError as exc:
                raise bad_request(f"can't parse {key} JSON object") from exc
            return decoded
        return value

    def opt_file(self, key: str) -> UploadedFile | str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, UploadedFile | str):
            return value
        raise bad_request(f"wrong type of {key}")


def canonical_chat_id(params: Params, key: str = "chat_id") -> int:
    """Private chats only: a numeric id; anything else (e.g. "@channel") is an unknown chat."""
    value = params.data.get(key)
    if value is None or value == "":
        raise bad_request(f"{key} is empty")
    try:
        return params.int_(key)
    except ApiError:
        raise bad_request("chat not found") from None
