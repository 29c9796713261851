"""The engine runs each item's handler with its kind's place in the outgoing budget."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot

from bot.i18n import create_i18n
from core.priority import Priority, sending_priority
from db import scheduled, users
from db.database import Database
from db.scheduled import ScheduledItem
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Outcome
from scheduler.settings import EngineSettings

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


async def test_each_kind_runs_with_its_priority(db: Database) -> None:
    seen: dict[str, Priority] = {}

    async def record(item: ScheduledItem, delivery: Delivery) -> Outcome:
        seen[item.kind] = sending_priority.get()
        return SENT

    bot = Bot("123456:TEST")  # never called: the handlers send nothing
    engine = Engine(
        db=db, bot=bot, i18n=create_i18n("en"), settings=EngineSettings(), clock=lambda: T0
    )
    engine.register("test.alert", record, priority=Priority.ALERT)
    engine.register("test.news", record, priority=Priority.BROADCAST)
    engine.register("test.default", record)
    await users.get_or_create(db, 5)
    for kind in ("test.alert", "test.news", "test.default"):
        await scheduled.schedule(db, kind=kind, recipient_id=5, due_at=T0, now=T0)
    await engine.run_due(now=T0)
    await bot.session.close()
    assert seen == {
        "test.alert": Priority.ALERT,
        "test.news": Priority.BROADCAST,
        "test.default": Priority.REMINDER,
    }
    assert sending_priority.get() is Priority.REPLY  # outside an item: a reply
