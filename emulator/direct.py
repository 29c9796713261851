# aiogram's session interface takes `timeout=` parameters; nothing waits on a network here.
# ruff: noqa: ASYNC109
"""The fake Bot API without HTTP: an aiogram session that calls the fake in process.

In the style of aiogram's own ``MockedSession`` (aiogram's tests/mocked_bot.py): each
request is recorded and its answer goes through aiogram's real ``check_response``, so a
refusal raises the same TelegramBadRequest, TelegramForbiddenError or TelegramRetryAfter
as over the network. Unlike MockedSession, answers are not queued by the test: they come
from the fake's state, so a sent message gets its id, lands in the chat, and is checked
(HTML, lengths, 403 for a user who blocked the bot) exactly as over HTTP.

Parameters are prepared as AiohttpSession prepares its form (``prepare_value``), and decoded
by the fake's own form decoder, so what the fake sees is what an HTTP request would carry.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientResponseError, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .models import ApiError, JsonDict, UploadedFile
from .params import attach_files, decode_field

if TYPE_CHECKING:
    from .server import FakeBotAPI

# The server address the bot is configured with (settings accept plain HTTP on localhost
# only). Nothing connects to it: port 9 is "discard", and nothing listens there.
IN_PROCESS_URL = "http://127.0.0.1:9"


class DirectSession(BaseSession):
    def __init__(self, api: FakeBotAPI) -> None:
        super().__init__(api=TelegramAPIServer.from_base(api.base_url or IN_PROCESS_URL))
        self.fake = api

    async def _params(self, bot: Bot, method: TelegramMethod[Any]) -> JsonDict:
        files: dict[str, InputFile] = {}
        params: JsonDict = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:  # AiohttpSession leaves out empty fields too
                params[key] = decode_field(key, prepared)
        uploads: dict[str, UploadedFile] = {}
        for key, file in files.items():
            data = b"".join([chunk async for chunk in file.read(bot)])
            uploads[key] = UploadedFile(file.filename or key, "application/octet-stream", data)
        return attach_files(params, uploads)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        name = self.fake.canonical_method(method.__api_method__)
        if bot.token != self.fake.token:
            status, content = 401, json.dumps(ApiError(401, "Unauthorized").payload())
        elif name is None:
            status, content = 404, json.dumps(ApiError(404, "Not Found").payload())
        else:
            answer = await self.fake.answer(name, await self._params(bot, method))
            if answer.dropped:  # what aiohttp reports when the server hangs up
                raise TelegramNetworkError(
                    method=method, message="ServerDisconnectedError: Server disconnected"
                )
            status = answer.status
            content = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        response = self.check_response(bot=bot, method=method, status_code=status, content=content)
        return cast(TelegramType, response.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """A file download (``bot.download``), as the fake's /file/ endpoint serves it."""
        prefix = f"/file/bot{self.fake.token}/"
        path = URL(url).path
        stored = self.fake.state.file_by_path(path.removeprefix(prefix))
        if stored is None or not path.startswith(prefix):
            if raise_for_status:  # aiohttp's error for a 404, token-bearing URL and all
                info = RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
                raise ClientResponseError(info, (), status=404, message="Not Found")
            return
        for start in range(0, len(stored.data), chunk_size):
            yield stored.data[start : start + chunk_size]

    async def close(self) -> None:
        return None
