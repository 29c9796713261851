"""The appointment use cases against a real database: the slot arithmetic, booking that the
database decides under contention, moving with the same UID and a higher SEQUENCE, reminders
stored with the booking and dropped with a cancel, a day off cancelling its appointments."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot

from bot.i18n import create_i18n
from core.reception import AppointmentRules, Reception, offered_slots, reminder_plan
from core.timecalc import QuietHours
from db import appointments, clients, invitations, users
from db.appointments import Origin, SlotTakenError, Status
from db.database import Database
from db.staff import add_caseworker
from db.working_hours import WorkingHours
from scheduler.engine import Engine
from scheduler.settings import EngineSettings
from services import appointments as service

ZONE = ZoneInfo("Asia/Almaty")  # UTC+5
T0 = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # Tuesday 09:00 in Almaty
OFFICER = 1
CLIENTS = (11, 12)
RULES = AppointmentRules()
QUIET = QuietHours(time(22, 0), time(8, 0))
RECEPTION = Reception(frozenset({0, 1, 2, 3, 4}), time(10, 0), time(12, 0), 30, "Abai 1")


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    await add_caseworker(db, OFFICER, "Officer", actor_id=None)
    for client in CLIENTS:
        await users.get_or_create(db, client)
        _, invitation = await invitations.create(db, OFFICER, "label")
        await clients.accept_invitation(db, invitation.id, client, "Name")
    await appointments.save_reception(db, OFFICER, RECEPTION)
    bot = Bot("123456:TEST")  # never called: nothing is sent here
    yield Engine(
        db=db, bot=bot, i18n=create_i18n("en"), settings=EngineSettings(), clock=lambda: T0
    )
    await bot.session.close()


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def test_slots_lie_inside_working_hours_and_skip_days_off() -> None:
    week = WorkingHours(frozenset({0, 1, 2, 3}), time(11, 0), time(18, 0))  # no Friday
    slots = offered_slots(
        RECEPTION, week, ZONE, date(2026, 12, 1), date(2026, 12, 4), days_off=[date(2026, 12, 2)]
    )
    assert slots == [local(1, 11), local(1, 11, 30), local(3, 11), local(3, 11, 30)]


def test_reminders_only_when_booked_further_ahead_and_out_of_quiet_hours() -> None:
    starts = local(10, 9)  # Thursday 09:00: the 2-hour reminder is at 07:00, inside quiet hours
    plan = reminder_plan(starts, T0, RULES, ZONE, QUIET)
    assert [r.step for r in plan] == ["m10080", "m4320", "m1440", "m120"]
    assert plan[-1].due == local(10, 7)  # urgent: rings even in quiet hours
    late = reminder_plan(starts, local(8, 10), RULES, ZONE, QUIET)  # booked 47 hours ahead
    assert [r.step for r in late] == ["m1440", "m120"]


async def test_two_clients_pressing_one_slot_at_once_give_one_winner(
    db: Database, engine: Engine
) -> None:
    where = await service.office(db, OFFICER, ZONE)
    slot = local(2, 10)

    async def press(client: int) -> str:
        try:
            await service.book(
                db,
                engine,
                client_id=client,
                where=where,
                starts_at=slot,
                rules=RULES,
                client_zone=ZONE,
                quiet=QUIET,
            )
        except (SlotTakenError, service.BookingError):
            return "lost"
        return "won"

    results = await asyncio.gather(*(press(c) for c in CLIENTS))
    assert sorted(results) == ["lost", "won"]
    assert await appointments.taken_slots(db, OFFICER, slot, slot + timedelta(minutes=1)) == [slot]


async def test_the_database_refuses_a_second_booking_of_a_slot(
    db: Database, engine: Engine
) -> None:
    reception = await appointments.get_reception(db, OFFICER)
    async with db.transaction() as conn:
        await appointments.book_in(
            conn,
            client_id=11,
            caseworker_id=OFFICER,
            starts_at=local(2, 10),
            length=reception.slot,
            reception=reception,
            origin=Origin.BOOKED,
            now=T0,
        )
    with pytest.raises(SlotTakenError):
        async with db.transaction() as conn:
            await appointments.book_in(
                conn,
                client_id=12,
                caseworker_id=OFFICER,
                starts_at=local(2, 10),
                length=reception.slot,
                reception=reception,
                origin=Origin.BOOKED,
                now=T0,
            )


async def pending_keys(db: Database) -> set[str]:
    rows = await db.fetchall(
        "SELECT dedupe_key FROM scheduled_items WHERE status = 'pending' AND kind LIKE 'appointment.%'"
    )
    return {row["dedupe_key"] for row in rows}


async def test_move_keeps_the_uid_raises_the_sequence_and_replans(
    db: Database, engine: Engine
) -> None:
    where = await service.office(db, OFFICER, ZONE)
    booked = await service.book(
        db,
        engine,
        client_id=11,
        where=where,
        starts_at=local(10, 10),
        rules=RULES,
        client_zone=ZONE,
        quiet=QUIET,
    )
    assert len(await pending_keys(db)) == 4
    moved = await service.move(
        db,
        engine,
        appointment=booked,
        where=where,
        starts_at=local(3, 11),
        rules=RULES,
        client_zone=ZONE,
        quiet=QUIET,
    )
    assert (moved.uid, moved.sequence) == (booked.uid, booked.sequence + 1)
    keys = await pending_keys(db)
    assert keys == {f"appointment:11:{booked.id}:1:m1440", f"appointment:11:{booked.id}:1:m120"}
    # The old slot is free again, the new one taken.
    assert local(10, 10) in await service.free_slots(
        db, where, date(2026, 12, 10), date(2026, 12, 10), T0
    )
    cancelled = await service.cancel(
        db, engine, appointment=moved, by="client", rules=RULES, now=T0
    )
    assert cancelled.status is Status.CANCELLED
    assert cancelled.sequence == 2
    assert await pending_keys(db) == set()


async def test_a_day_off_cancels_and_tells_each_client(db: Database, engine: Engine) -> None:
    where = await service.office(db, OFFICER, ZONE)
    for client, hour in zip(CLIENTS, (10, 11), strict=True):
        await service.book(
            db,
            engine,
            client_id=client,
            where=where,
            starts_at=local(4, hour),
            rules=RULES,
            client_zone=ZONE,
            quiet=QUIET,
        )
    cancelled = await service.add_day_off(
        db, engine, caseworker_id=OFFICER, day=date(2026, 12, 4), zone=ZONE
    )
    assert sorted(a.client_id for a in cancelled) == list(CLIENTS)
    news = await db.fetchall(
        "SELECT recipient_id FROM scheduled_items WHERE kind = ? AND status = 'pending'",
        (service.NEWS,),
    )
    assert sorted(row["recipient_id"] for row in news) == list(CLIENTS)
    assert await service.free_slots(db, where, date(2026, 12, 4), date(2026, 12, 4), T0) == []
    assert (await pending_keys(db)) == {
        f"appointment:{a.client_id}:{a.id}:1:news-day_off" for a in cancelled
    }


async def test_a_visit_booked_before_the_slot_length_changed_blocks_the_slots_it_overlaps(
    db: Database, engine: Engine
) -> None:
    where = await service.office(db, OFFICER, ZONE)
    await service.book(
        db,
        engine,
        client_id=11,
        where=where,
        starts_at=local(2, 10),
        rules=RULES,
        client_zone=ZONE,
        quiet=QUIET,
    )  # 10:00-10:30
    await appointments.save_reception(
        db, OFFICER, Reception(RECEPTION.weekdays, time(10, 0), time(11, 0), 20, "Abai 1")
    )
    shorter = await service.office(db, OFFICER, ZONE)
    day = date(2026, 12, 2)
    assert await service.free_slots(db, shorter, day, day, T0) == [local(2, 10, 40)]


async def test_too_close_to_the_cutoff_is_refused(db: Database, engine: Engine) -> None:
    where = await service.office(db, OFFICER, ZONE)
    with pytest.raises(service.BookingError) as refused:
        await service.book(
            db,
            engine,
            client_id=11,
            where=where,
            starts_at=local(1, 10),
            rules=RULES,
            client_zone=ZONE,
            quiet=QUIET,
        )  # one hour ahead, the cutoff is two
    assert refused.value.code == service.NOT_OFFERED
