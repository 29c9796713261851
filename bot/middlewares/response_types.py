"""Keeps the reply types aiogram builds for each Bot API call, so they are built once.

aiogram checks every answer with `Response[method.__returning__]`, a pydantic generic
model it parametrises at each call. pydantic (2.13) caches such classes in a weak-value
dictionary only, so a class that nothing else holds is freed at the next garbage
collection and built again at the next call: some 20 ms of CPU each time, a cost that
grows with everything else the process allocates. Holding one reference per return type
(a few dozen at most) makes every call after the first a cache hit.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType


class KeepResponseTypes(BaseRequestMiddleware):
    def __init__(self) -> None:
        self.kept: dict[Any, type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self.kept:
            self.kept[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
