"""LeanDispatcher passes events down the routers exactly as aiogram's Dispatcher does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.types import Message, TelegramObject, Update

from bot.dispatch import LeanDispatcher

BOT = Bot("123456:TEST")  # the handlers below never call Telegram
PERSON = {"id": 42, "is_bot": False, "first_name": "T"}
CHAT = {"id": 42, "type": "private"}

Trace = list[tuple[str, ...]]


def seen(trace: Trace, where: str, data: dict[str, Any]) -> None:
    """What a handler or middleware saw: where it ran, the router and the extra data."""
    router = data.get("event_router")
    extra = sorted(k for k in data if k.startswith("x_"))
    trace.append((where, router.name if router else "-", *extra))


def build(dispatcher: Dispatcher, trace: Trace) -> Dispatcher:
    """Root filters adding data, outer and inner middlewares, skipped handlers, nesting."""

    def middleware(name: str) -> Any:
        async def call(
            handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
            event: TelegramObject,
            data: dict[str, Any],
        ) -> Any:
            seen(trace, name, data)
            data[f"x_{name}"] = True
            result = await handler(event, data)
            trace.append((f"{name} after", str(result)))
            return result

        return call

    def handler(name: str) -> Any:
        async def call(message: Message, **data: Any) -> str:
            seen(trace, name, data)
            if message.text == f"skip {name}":
                raise SkipHandler
            return name

        return call

    async def adds(message: Message) -> dict[str, Any] | bool:
        return {"x_filter": message.text} if message.text != "closed" else False

    closed = Router(name="closed")
    closed.message.filter(F.text == "never")
    closed.message.register(handler("closed"))

    parent = Router(name="parent")
    parent.message.filter(adds)
    parent.message.register(handler("parent"), F.text.in_({"parent", "skip parent"}))
    child = Router(name="child")
    child.message.register(handler("child"), F.text.startswith("child"))
    child.message.register(handler("child2"), F.text.in_({"child", "skip child2"}))
    grandchild = Router(name="grandchild")
    grandchild.message.outer_middleware(middleware("outer_grandchild"))
    grandchild.message.middleware(middleware("inner_grandchild"))
    grandchild.message.register(handler("grandchild"), F.text.contains("grand"))
    child.include_router(grandchild)
    parent.include_router(child)

    sibling = Router(name="sibling")
    sibling.message.register(handler("sibling"), F.text != "nothing")

    dispatcher.message.middleware(middleware("inner_dp"))
    dispatcher.message.outer_middleware(middleware("outer_dp"))
    dispatcher.update.outer_middleware(middleware("update"))
    dispatcher.include_routers(closed, parent, sibling)
    return dispatcher


TEXTS = [
    "parent",
    "skip parent",
    "child",
    "skip child2",
    "child x",
    "grand",
    "skip grandchild",
    "closed",
    "elsewhere",
    "nothing",
]


@pytest.mark.parametrize("text", TEXTS)
async def test_the_same_routers_handlers_data_and_result_as_aiogram(text: str) -> None:
    update = Update.model_validate(
        {
            "update_id": 1,
            "message": {"message_id": 1, "date": 0, "chat": CHAT, "from": PERSON, "text": text},
        }
    )
    results: list[Any] = []
    traces: list[Trace] = []
    for kind in (Dispatcher, LeanDispatcher):
        trace: Trace = []
        results.append(await build(kind(name="dp"), trace).feed_update(BOT, update))
        traces.append(trace)
    assert traces[0] == traces[1]
    assert results[0] is results[1] or results[0] == results[1]
    assert traces[1]  # something ran: the comparison is not of two empty runs


async def test_what_each_case_reaches() -> None:
    """The tree above does what it is meant to (so the comparison covers each path)."""
    outcomes = {}
    for text in TEXTS:
        update = Update.model_validate(
            {
                "update_id": 1,
                "message": {"message_id": 1, "date": 0, "chat": CHAT, "from": PERSON, "text": text},
            }
        )
        trace: Trace = []
        outcomes[text] = await build(LeanDispatcher(), trace).feed_update(BOT, update)
    assert outcomes == {
        "parent": "parent",
        "skip parent": "sibling",  # skipped, then nothing else in parent's tree matches
        "child": "child",
        "skip child2": "sibling",  # child2 matches it and skips
        "child x": "child",
        "grand": "grandchild",
        "skip grandchild": "sibling",
        "closed": "sibling",  # parent's filter refuses it
        "elsewhere": "sibling",
        "nothing": UNHANDLED,
    }
