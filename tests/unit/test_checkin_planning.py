"""Saving a check-in schedule is one transaction: the schedule, forgetting the check-ins not
yet sent, and the next check-in with its timed items, all or nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot

from bot.i18n import create_i18n
from db import checkins, clients, invitations, scheduled, users
from db.checkins import CheckinSchedule
from db.database import Database
from db.staff import add_caseworker
from scheduler.engine import Engine
from scheduler.settings import EngineSettings
from services import checkins as planning

T0 = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)  # 11:00 in Almaty
ZONE = ZoneInfo("Asia/Almaty")
CLIENT = 12


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    bot = Bot("123456:TEST")  # never called: nothing is sent here
    await add_caseworker(db, 1, "Officer", actor_id=None)
    await users.get_or_create(db, CLIENT)
    _, invitation = await invitations.create(db, 1, "label")
    await clients.accept_invitation(db, invitation.id, CLIENT, "Arman")
    yield Engine(
        db=db,
        bot=bot,
        i18n=create_i18n("en"),
        settings=EngineSettings(),
        clock=lambda: T0,
    )
    await bot.session.close()


async def _stored(db: Database) -> tuple[Any, ...]:
    """Everything a schedule change touches: the schedule, check-ins, timed items."""
    schedule = await db.fetchall("SELECT * FROM checkin_schedules")
    rows = await db.fetchall("SELECT * FROM checkins ORDER BY id")
    items = await db.fetchall(
        "SELECT kind, due_at, status, dedupe_key FROM scheduled_items ORDER BY id"
    )
    return tuple(tuple(map(tuple, table)) for table in (schedule, rows, items))


async def test_a_failure_half_way_through_a_schedule_change_keeps_the_old_schedule(
    engine: Engine, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    daily = CheckinSchedule(CLIENT, "daily", time(9, 0))
    await planning.replan(db, engine, engine.settings, daily, ZONE)
    before = await _stored(db)
    assert len(before[1]) == 1  # the next check-in
    assert len(before[2]) == 3  # with its reminder, follow-up and close

    # The new schedule is saved and the old check-in forgotten; then storing the new
    # check-in's second item fails.
    real = scheduled.schedule_in
    calls = 0

    async def fail_second(conn: Any, **kwargs: Any) -> int | None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        return await real(conn, **kwargs)

    monkeypatch.setattr(scheduled, "schedule_in", fail_second)
    weekdays = CheckinSchedule(CLIENT, "weekdays", time(10, 0), weekdays=frozenset({0, 2}))
    with pytest.raises(RuntimeError, match="disk full"):
        await planning.replan(db, engine, engine.settings, weekdays, ZONE)
    assert calls == 2

    assert await _stored(db) == before
    assert await checkins.get_schedule(db, CLIENT) == daily

    monkeypatch.setattr(scheduled, "schedule_in", real)
    await planning.replan(db, engine, engine.settings, weekdays, ZONE)
    assert await checkins.get_schedule(db, CLIENT) == weekdays
    after = await _stored(db)
    assert [row[2] for row in after[2]] == ["dropped"] * 3 + ["pending"] * 3
    assert len(after[1]) == 1  # the old planned check-in is gone, the new one stored
