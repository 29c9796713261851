"""The per-person throttle on incoming updates, with a fake clock and a stand-in bot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Chat, TelegramObject, Update
from aiogram.types import User as TelegramUser

from bot.i18n import create_i18n
from bot.middlewares.throttle import ThrottleMiddleware
from db import users
from db.database import Database
from db.staff import add_caseworker

NOTICE = "Too many messages at once; please wait a few seconds."
NOTICE_KK = "Бір мезгілде тым көп хабарлама келді. Бірнеше секунд күте тұрыңыз."


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class StubBot:
    """Records what the throttle says; nothing else is called on it."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.answered: list[tuple[str, str]] = []

    async def send_message(self, chat_id: int, text: str) -> None:
        self.sent.append((chat_id, text))

    async def answer_callback_query(self, query_id: str, text: str) -> None:
        self.answered.append((query_id, text))


class Harness:
    def __init__(self, db: Database, **options: Any) -> None:
        self.clock = Clock()
        self.throttle = ThrottleMiddleware(db, create_i18n("kk"), clock=self.clock, **options)
        self.bot = StubBot()
        self.handled: list[int] = []

    async def handler(self, event: TelegramObject, data: dict[str, Any]) -> str:
        assert isinstance(event, Update)
        self.handled.append(event.update_id)
        return "handled"

    async def feed(self, user_id: int, kind: str = "message", language: str = "en") -> Any:
        person = {"id": user_id, "is_bot": False, "first_name": "T", "language_code": language}
        chat = {"id": user_id, "type": "private"}
        message = {"message_id": 1, "date": 0, "chat": chat, "from": person, "text": "hi"}
        bodies: dict[str, dict[str, Any]] = {
            "message": {"message": message},
            "callback_query": {
                "callback_query": {
                    "id": "q",
                    "from": person,
                    "chat_instance": "1",
                    "data": "x",
                    "message": message,
                }
            },
            "my_chat_member": {
                "my_chat_member": {
                    "chat": chat,
                    "from": person,
                    "date": 0,
                    "old_chat_member": {"status": "member", "user": person | {"is_bot": True}},
                    "new_chat_member": {
                        "status": "kicked",
                        "until_date": 0,
                        "user": person | {"is_bot": True},
                    },
                }
            },
        }
        update = Update.model_validate({"update_id": len(self.handled) + 1000, **bodies[kind]})
        data = {
            "bot": self.bot,
            "event_from_user": TelegramUser.model_validate(person),
            "event_chat": Chat.model_validate(chat),
        }
        return await self.throttle(self.handler, update, data)


async def test_beyond_twenty_in_ten_seconds_updates_are_dropped_and_the_person_told_once(
    db: Database,
) -> None:
    h = Harness(db)
    results = [await h.feed(1) for _ in range(60)]
    assert results.count("handled") == 20
    assert results[20:] == [UNHANDLED] * 40
    assert h.bot.sent == [(1, NOTICE)]  # once per window, not once per update
    assert h.throttle.dropped == 40
    assert await h.feed(2) == "handled"  # someone else is not affected


async def test_the_window_slides(db: Database) -> None:
    h = Harness(db)
    for _ in range(20):
        await h.feed(1)
        h.clock.now += 0.4  # 20 updates over 8 s
    assert await h.feed(1) is UNHANDLED
    h.clock.now += 2.1  # the first ones leave the window
    assert await h.feed(1) == "handled"
    h.clock.now += 10
    assert [await h.feed(1) for _ in range(20)] == ["handled"] * 20
    assert await h.feed(1) is UNHANDLED
    assert len(h.bot.sent) == 2  # told again in a new window


async def test_a_button_flood_is_answered_with_the_notice_in_the_persons_language(
    db: Database,
) -> None:
    await users.get_or_create(db, 3)
    await users.set_language(db, 3, "kk")
    h = Harness(db)
    for _ in range(25):
        await h.feed(3, "callback_query", language="en")
    assert h.bot.answered == [("q", NOTICE_KK)]
    assert h.bot.sent == []


async def test_staff_get_three_times_the_room_and_are_looked_up_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_caseworker(db, 4, "Officer", actor_id=None)
    h = Harness(db)
    reads = 0
    real_get = users.get

    async def counting_get(database: Database, telegram_id: int) -> users.User | None:
        nonlocal reads
        reads += 1
        return await real_get(database, telegram_id)

    monkeypatch.setattr(users, "get", counting_get)
    results = await asyncio.gather(*(h.feed(4) for _ in range(70)))
    assert results.count("handled") == 60
    assert reads == 1
    assert len(h.bot.sent) == 1


async def test_blocking_the_bot_is_never_dropped(db: Database) -> None:
    h = Harness(db)
    for _ in range(30):
        await h.feed(5)
    assert await h.feed(5, "my_chat_member") == "handled"


async def test_people_idle_for_a_window_are_forgotten(db: Database) -> None:
    h = Harness(db)
    for person in range(100, 200):
        await h.feed(person)
    assert len(h.throttle) == 100
    h.clock.now += 11
    await h.feed(1)
    assert len(h.throttle) == 1
