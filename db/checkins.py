"""Check-ins: each client's schedule and the check-ins it produces (or the client makes)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiosqlite

from core.timecalc import next_every_n_days, next_local_time
from db.clock import from_db, to_db
from db.database import Database

ANSWERED = ("done", "help")


@dataclass(frozen=True)
class CheckinSchedule:
    client_id: int
    pattern: str  # daily | weekdays | every_n_days
    at_time: time
    weekdays: frozenset[int] = frozenset()
    every_n: int = 1
    anchor_date: date | None = None
    window_hours: int = 12
    request_location: bool = False
    paused: bool = False

    def next_planned(self, after: datetime, zone: ZoneInfo) -> datetime:
        """The schedule's next time strictly after `after` (UTC)."""
        if self.pattern == "weekdays":
            return next_local_time(after, self.at_time, zone, self.weekdays or None)
        if self.pattern == "every_n_days":
            anchor = self.anchor_date or after.astimezone(zone).date()
            return next_every_n_days(after, self.at_time, zone, anchor, self.every_n)
        return next_local_time(after, self.at_time, zone)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    def with_changes(self, **changes: object) -> CheckinSchedule:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Checkin:
    id: int
    client_id: int
    planned_at: datetime | None
    opens_at: datetime
    closes_at: datetime
    status: str
    answered_at: datetime | None


def _schedule(row: sqlite3.Row) -> CheckinSchedule:
    return CheckinSchedule(
        client_id=row["client_id"],
        pattern=row["pattern"],
        at_time=time.fromisoformat(row["at_time"]),
        weekdays=frozenset(int(d) for d in row["weekdays"].split(",") if d),
        every_n=row["every_n"],
        anchor_date=date.fromisoformat(row["anchor_date"]) if row["anchor_date"] else None,
        window_hours=row["window_hours"],
        request_location=bool(row["request_location"]),
        paused=bool(row["paused"]),
    )


def _checkin(row: sqlite3.Row) -> Checkin:
    return Checkin(
        id=row["id"],
        client_id=row["client_id"],
        planned_at=from_db(row["planned_at"]) if row["planned_at"] else None,
        opens_at=from_db(row["opens_at"]),
        closes_at=from_db(row["closes_at"]),
        status=row["status"],
        answered_at=from_db(row["answered_at"]) if row["answered_at"] else None,
    )


async def get_schedule(db: Database, client_id: int) -> CheckinSchedule | None:
    row = await db.fetchone("SELECT * FROM checkin_schedules WHERE client_id = ?", (client_id,))
    return None if row is None else _schedule(row)


async def get_schedule_in(conn: aiosqlite.Connection, client_id: int) -> CheckinSchedule | None:
    row = await (
        await conn.execute("SELECT * FROM checkin_schedules WHERE client_id = ?", (client_id,))
    ).fetchone()
    return None if row is None else _schedule(row)


async def save_schedule(
    conn: aiosqlite.Connection, schedule: CheckinSchedule, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO checkin_schedules (client_id, pattern, at_time, weekdays, every_n, anchor_date, "
        "window_hours, request_location, paused, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (client_id) DO UPDATE SET pattern = excluded.pattern, at_time = excluded.at_time, "
        "weekdays = excluded.weekdays, every_n = excluded.every_n, anchor_date = excluded.anchor_date, "
        "window_hours = excluded.window_hours, request_location = excluded.request_location, "
        "paused = excluded.paused, updated_at = excluded.updated_at",
        (
            schedule.client_id,
            schedule.pattern,
            schedule.at_time.strftime("%H:%M"),
            ",".join(str(d) for d in sorted(schedule.weekdays)),
            schedule.every_n,
            schedule.anchor_date.isoformat() if schedule.anchor_date else None,
            schedule.window_hours,
            int(schedule.request_location),
            int(schedule.paused),
            to_db(now),
        ),
    )


async def forget_planned(conn: aiosqlite.Connection, client_id: int) -> list[int]:
    """Check-ins not yet sent stop existing when the schedule changes; returns their ids
    (the caller cancels their timed items, which would drop themselves anyway)."""
    rows = await conn.execute_fetchall(
        "DELETE FROM checkins WHERE client_id = ? AND status = 'scheduled' RETURNING id",
        (client_id,),
    )
    return [int(row[0]) for row in rows]


async def create_planned(
    conn: aiosqlite.Connection,
    client_id: int,
    planned_at: datetime,
    opens_at: datetime,
    closes_at: datetime,
) -> int | None:
    """A planned check-in; None when this one exists already (a retried step, a restart)."""
    cursor = await conn.execute(
        "INSERT INTO checkins (client_id, planned_at, opens_at, closes_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (client_id, planned_at) DO NOTHING",
        (client_id, to_db(planned_at), to_db(opens_at), to_db(closes_at)),
    )
    return cursor.lastrowid if cursor.rowcount else None


async def get(db: Database, checkin_id: int) -> Checkin | None:
    row = await db.fetchone("SELECT * FROM checkins WHERE id = ?", (checkin_id,))
    return None if row is None else _checkin(row)


async def mark_open(db: Database, checkin_id: int) -> None:
    await db.execute(
        "UPDATE checkins SET status = 'open' WHERE id = ? AND status = 'scheduled'", (checkin_id,)
    )


async def mark_missed_in(conn: aiosqlite.Connection, checkin_id: int) -> bool:
    """True when the window closed unanswered after its reminder went out (and this call is
    the one that noticed)."""
    cursor = await conn.execute(
        "UPDATE checkins SET status = 'missed' WHERE id = ? AND status = 'open'", (checkin_id,)
    )
    return cursor.rowcount > 0


async def mark_cancelled_in(conn: aiosqlite.Connection, checkin_id: int) -> bool:
    """A check-in whose reminder never reached the client (archived, unreachable): not a miss."""
    cursor = await conn.execute(
        "UPDATE checkins SET status = 'cancelled' WHERE id = ? AND status IN ('scheduled', 'open')",
        (checkin_id,),
    )
    return cursor.rowcount > 0


async def cancel_open_in(conn: aiosqlite.Connection, client_id: int) -> list[int]:
    """The client's reminded-but-unanswered check-ins end without counting as missed."""
    rows = await conn.execute_fetchall(
        "UPDATE checkins SET status = 'cancelled' WHERE client_id = ? AND status = 'open' "
        "RETURNING id",
        (client_id,),
    )
    return [int(row[0]) for row in rows]


async def answer_in(
    conn: aiosqlite.Connection, client_id: int, status: str, now: datetime, key: str | None = None
) -> Checkin:
    """Inside the caller's transaction: counts for the window open now if there is one (its
    reminder sent or not yet), else records an extra check-in. `key` (the update that
    carried the answer) makes it idempotent: the same key gives back the same check-in."""
    assert status in ANSWERED
    if key is not None:
        found = await (
            await conn.execute("SELECT * FROM checkins WHERE answer_key = ?", (key,))
        ).fetchone()
        if found is not None:
            return _checkin(found)
    row = await (
        await conn.execute(
            "SELECT id FROM checkins WHERE client_id = ? AND status IN ('scheduled', 'open') "
            "AND opens_at <= ? AND closes_at > ? ORDER BY opens_at DESC LIMIT 1",
            (client_id, to_db(now), to_db(now)),
        )
    ).fetchone()
    if row is not None:
        checkin_id = int(row["id"])
        await conn.execute(
            "UPDATE checkins SET status = ?, answered_at = ?, answer_key = ? WHERE id = ?",
            (status, to_db(now), key, checkin_id),
        )
    else:
        cursor = await conn.execute(
            "INSERT INTO checkins (client_id, opens_at, closes_at, status, answered_at, answer_key) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (client_id, to_db(now), to_db(now), status, to_db(now), key),
        )
        assert cursor.lastrowid is not None
        checkin_id = cursor.lastrowid
    found = await (
        await conn.execute("SELECT * FROM checkins WHERE id = ?", (checkin_id,))
    ).fetchone()
    assert found is not None
    return _checkin(found)


async def answer(
    db: Database, client_id: int, status: str, now: datetime, key: str | None = None
) -> Checkin:
    async with db.transaction() as conn:
        return await answer_in(conn, client_id, status, now, key)


async def set_location(db: Database, checkin_id: int, latitude: float, longitude: float) -> None:
    await db.execute(
        "UPDATE checkins SET latitude = ?, longitude = ? WHERE id = ?",
        (latitude, longitude, checkin_id),
    )


async def next_planned(db: Database, client_id: int) -> Checkin | None:
    row = await db.fetchone(
        "SELECT * FROM checkins WHERE client_id = ? AND status = 'scheduled' ORDER BY opens_at LIMIT 1",
        (client_id,),
    )
    return None if row is None else _checkin(row)


@dataclass(frozen=True)
class Record:
    done: int
    missed: int
    last_answered_at: datetime | None


async def record(db: Database, client_id: int, since: datetime) -> Record:
    row = await db.fetchone(
        "SELECT "
        "count(*) FILTER (WHERE status IN ('done', 'help') AND answered_at >= :since) AS done, "
        "count(*) FILTER (WHERE status = 'missed' AND closes_at >= :since) AS missed, "
        "max(answered_at) AS last_answered_at "
        "FROM checkins WHERE client_id = :client",
        {"client": client_id, "since": to_db(since)},
    )
    assert row is not None
    return Record(
        done=row["done"],
        missed=row["missed"],
        last_answered_at=from_db(row["last_answered_at"]) if row["last_answered_at"] else None,
    )


@dataclass(frozen=True)
class Missed:
    """A missed check-in as its caseworker's digest names it."""

    client_id: int
    name: str
    planned_at: datetime  # when it was planned (its opening, for an extra one)


_MISSED = (
    "SELECT c.telegram_id, coalesce(c.label, c.telegram_name, '#' || c.telegram_id) AS name, "
    "coalesce(k.planned_at, k.opens_at) AS planned "
    "FROM checkins k JOIN clients c ON c.telegram_id = k.client_id "
    "WHERE k.status = 'missed' AND c.caseworker_id = ? "
)


def _missed(rows: list[sqlite3.Row]) -> list[Missed]:
    return [Missed(r["telegram_id"], r["name"], from_db(r["planned"])) for r in rows]


async def missed_between(
    db: Database, caseworker_id: int, start: datetime, end: datetime
) -> list[Missed]:
    """This caseworker's clients' check-ins whose window closed missed in [start, end)."""
    rows = await db.fetchall(
        _MISSED + "AND k.closes_at >= ? AND k.closes_at < ? ORDER BY k.closes_at",
        (caseworker_id, to_db(start), to_db(end)),
    )
    return _missed(list(rows))


async def missed_of(db: Database, caseworker_id: int, checkin_ids: list[int]) -> list[Missed]:
    """These check-ins, if still missed and their client still this caseworker's, by planned time."""
    if not checkin_ids:
        return []
    marks = ",".join("?" * len(checkin_ids))
    rows = await db.fetchall(
        _MISSED + f"AND k.id IN ({marks}) ORDER BY planned, k.id",
        (caseworker_id, *checkin_ids),
    )
    return _missed(list(rows))


async def set_location_consent(db: Database, client_id: int, consent: bool) -> None:
    await db.execute(
        "UPDATE clients SET location_consent = ? WHERE telegram_id = ?", (int(consent), client_id)
    )


async def location_consent(db: Database, client_id: int) -> bool | None:
    value = await db.fetchval(
        "SELECT location_consent FROM clients WHERE telegram_id = ?", (client_id,)
    )
    return None if value is None else bool(value)
