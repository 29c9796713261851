"""aiogram's HTTP session, sending a call's parameters as one JSON body.

aiogram sends every call as a form: each parameter is prepared, nested ones JSON-encoded
one by one, then the whole form is percent-encoded (`urllib.parse.quote`, character by
character in Python), which for a reply with a keyboard costs more CPU than anything
else the bot does with it. The Bot API takes `application/json` as well; a call that
uploads a file still goes as a multipart form, as aiogram builds it.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import FormData
from aiohttp.payload import BytesPayload


class JsonSession(AiohttpSession):
    def build_form_data(  # type: ignore[override]  # aiohttp takes a payload as well as a form
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | BytesPayload:
        files: dict[str, InputFile] = {}
        fields: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # left out, as aiogram's form leaves them
                continue
            fields[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        body = self.json_dumps(fields).encode()
        return BytesPayload(body, content_type="application/json")
