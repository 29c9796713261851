"""Appointments: free slots for a month, and booking under contention.

    .venv/bin/python -m bench.appointments_bench [--booked 500] [--runs 300]

- free slots: one caseworker receiving Monday–Friday 09:00–18:00 in 15-minute slots
  (about 790 slots a month) with `--booked` of next month's slots taken (and days off,
  extra slots stored); `services.appointments.free_slots` over the whole month, as the
  booking calendar asks it, `--runs` times (and with `office()`, the reads before it):
  median and p95. Target ≤ 20 ms.
- contention: 50 clients press free slots at the same instant (`services.appointments.
  book` concurrently, each on one of the first 10 free slots): wall time; the winners must
  be exactly the distinct slots pressed, every loser gets SlotTakenError or BookingError
  (the screen tells them). Then 50 clients on ONE slot: exactly one winner.

A script, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot

from bot.i18n import create_i18n
from core.reception import AppointmentRules, Reception, month_days
from core.timecalc import QuietHours, local_instant
from db import appointments, clients, invitations, users
from db.appointments import Origin, SlotTakenError
from db.database import Database
from db.migrate import migrate
from db.staff import add_caseworker
from db.working_hours import WorkingHours
from db.working_hours import save as save_working_hours
from scheduler.engine import Engine
from scheduler.settings import EngineSettings
from services import appointments as service

ZONE = ZoneInfo("Asia/Almaty")
OFFICER = 1
RULES = AppointmentRules(max_upcoming=1_000)  # the bench's clients may hold many
QUIET = QuietHours(clock_time(22, 0), clock_time(8, 0))
RECEPTION = Reception(
    frozenset(range(5)), clock_time(9, 0), clock_time(18, 0), 15, "Abai avenue 10", 43.2, 76.9
)
CONTENDERS = 50


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def add_clients(db: Database, first: int, count: int) -> list[int]:
    ids = list(range(first, first + count))
    for client in ids:
        await users.get_or_create(db, client)
        _, invitation = await invitations.create(db, OFFICER, f"Case {client}")
        await clients.accept_invitation(db, invitation.id, client, "Client")
    return ids


async def fill_month(db: Database, first_day: date, last_day: date, booked: int) -> int:
    """Books `booked` of the month's offered slots (spread at random), straight into the table."""
    where = await service.office(db, OFFICER, ZONE)
    since = local_instant(first_day, clock_time(0, 0), ZONE)
    offered = await service.free_slots(db, where, first_day, last_day, since)
    chosen = sorted(random.Random(11).sample(offered, min(booked, len(offered))))
    owners = await add_clients(db, 10_000, len(chosen))
    async with db.transaction() as conn:
        for client, slot in zip(owners, chosen, strict=True):
            await appointments.book_in(
                conn,
                client_id=client,
                caseworker_id=OFFICER,
                starts_at=slot,
                length=RECEPTION.slot,
                reception=RECEPTION,
                origin=Origin.BOOKED,
                now=since - timedelta(days=30),
            )
    return len(offered)


async def time_free_slots(
    db: Database, first_day: date, last_day: date, earliest: datetime, runs: int
) -> tuple[list[float], list[float], int]:
    where = await service.office(db, OFFICER, ZONE)
    alone, with_office = [], []
    free = 0
    for _ in range(runs):
        started = time.perf_counter()
        free = len(await service.free_slots(db, where, first_day, last_day, earliest))
        alone.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        fresh = await service.office(db, OFFICER, ZONE)
        await service.free_slots(db, fresh, first_day, last_day, earliest)
        with_office.append((time.perf_counter() - started) * 1000)
    return alone, with_office, free


async def press(engine: Engine, client: int, slot: datetime) -> str:
    where = await service.office(engine.db, OFFICER, ZONE)
    try:
        await service.book(
            engine.db,
            engine,
            client_id=client,
            where=where,
            starts_at=slot,
            rules=RULES,
            client_zone=ZONE,
            quiet=QUIET,
        )
    except SlotTakenError:
        return "taken"  # the database's unique index decided
    except service.BookingError as error:
        return error.code  # no longer among the free ones when checked
    return "won"


async def contention(engine: Engine, contenders: list[int], slots: list[datetime]) -> None:
    rng = random.Random(5)
    pressed = [rng.choice(slots) for _ in contenders]
    started = time.perf_counter()
    results = await asyncio.gather(
        *(press(engine, client, slot) for client, slot in zip(contenders, pressed, strict=True))
    )
    wall = (time.perf_counter() - started) * 1000
    winners = [slot for slot, result in zip(pressed, results, strict=True) if result == "won"]
    losers = [result for result in results if result != "won"]
    distinct = len(set(pressed))
    assert len(winners) == len(set(winners)) == distinct, (len(winners), distinct)
    reasons = {reason: losers.count(reason) for reason in sorted(set(losers))}
    print(
        f"{len(contenders)} clients on {len(slots)} slots at once: {wall:.0f} ms wall, "
        f"{len(winners)} winners = {distinct} distinct slots pressed, "
        f"{len(losers)} losers told ({reasons})"
    )


async def main(booked: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.sqlite3")
        await db.connect()
        await migrate(db)
        await add_caseworker(db, OFFICER, "Officer", actor_id=None)
        await save_working_hours(
            db, OFFICER, WorkingHours(frozenset(range(5)), clock_time(9, 0), clock_time(18, 0))
        )
        await appointments.save_reception(db, OFFICER, RECEPTION)
        today = datetime.now(ZONE).date()
        following = today.replace(day=1) + timedelta(days=32)
        first_day, last_day = month_days(following.year, following.month)
        async with db.transaction() as conn:
            for day in (first_day + timedelta(days=9), first_day + timedelta(days=20)):
                await appointments.add_day_off_in(conn, OFFICER, day)
        await appointments.add_extra_slot(
            db, OFFICER, local_instant(first_day, clock_time(19), ZONE)
        )
        offered = await fill_month(db, first_day, last_day, booked)
        taken = await appointments.taken_slots(
            db,
            OFFICER,
            local_instant(first_day, clock_time(0), ZONE),
            local_instant(last_day + timedelta(days=1), clock_time(0), ZONE),
        )
        print(f"month {first_day:%Y-%m}: {offered} slots offered, {len(taken)} booked")

        earliest = local_instant(first_day, clock_time(0), ZONE)
        alone, with_office, free = await time_free_slots(db, first_day, last_day, earliest, runs)
        print(
            f"free_slots for the month ({free} free), {runs} runs: median "
            f"{statistics.median(alone):.2f} ms, p95 {percentile(alone, 0.95):.2f} ms "
            f"(target ≤ 20 ms); with office(): median {statistics.median(with_office):.2f} ms, "
            f"p95 {percentile(with_office, 0.95):.2f} ms"
        )

        now = local_instant(first_day, clock_time(0), ZONE) - timedelta(days=1)
        bot = Bot("123456:BENCH")  # never called: nothing is sent
        engine = Engine(
            db=db,
            bot=bot,
            i18n=create_i18n("en"),
            settings=EngineSettings(),
            clock=lambda: now.astimezone(UTC),
        )
        where = await service.office(db, OFFICER, ZONE)
        free_now = await service.free_slots(db, where, first_day, last_day, now)
        first_group = await add_clients(db, 20_000, CONTENDERS)
        await contention(engine, first_group, free_now[:10])
        second_group = await add_clients(db, 30_000, CONTENDERS)
        free_now = await service.free_slots(db, where, first_day, last_day, now)
        await contention(engine, second_group, free_now[:1])
        await bot.session.close()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booked", type=int, default=500)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.booked, args.runs))
