"""Queries on reception hours, extra slots, days off and appointments.

Writes that must go together (an appointment and its reminders) take the caller's
connection inside its transaction (`..._in`); services/appointments.py opens it.
A slot is held by at most one upcoming appointment: the partial unique index
`appointments_one_per_slot` decides between two clients pressing the same slot, and
`book_in` turns its refusal into `SlotTakenError`.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import aiosqlite

from core.reception import Reception
from db.clock import from_db, to_db
from db.database import Database


class Status(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Origin(StrEnum):
    BOOKED = "booked"  # the client chose the slot
    ASSIGNED = "assigned"  # the caseworker set a mandatory visit


class Answer(StrEnum):
    """The client's answer to a reminder (or to an assigned visit)."""

    COMING = "coming"
    RESCHEDULE = "reschedule"
    TRANSPORT = "transport"
    WORK = "work"
    ILLNESS = "illness"
    OTHER = "other"


class SlotTakenError(Exception):
    """Another upcoming appointment holds this caseworker's slot."""


@dataclass(frozen=True)
class Appointment:
    id: int
    uid: str
    client_id: int
    caseworker_id: int
    starts_at: datetime
    ends_at: datetime
    place: str
    latitude: float | None
    longitude: float | None
    origin: Origin
    status: Status
    sequence: int
    acknowledged_at: datetime | None
    answer: str | None
    cancelled_by: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def upcoming(self) -> bool:
        return self.status is Status.BOOKED

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Appointment:
        return cls(
            id=row["id"],
            uid=row["uid"],
            client_id=row["client_id"],
            caseworker_id=row["caseworker_id"],
            starts_at=from_db(row["starts_at"]),
            ends_at=from_db(row["ends_at"]),
            place=row["place"],
            latitude=row["latitude"],
            longitude=row["longitude"],
            origin=Origin(row["origin"]),
            status=Status(row["status"]),
            sequence=row["sequence"],
            acknowledged_at=None
            if row["acknowledged_at"] is None
            else from_db(row["acknowledged_at"]),
            answer=row["answer"],
            cancelled_by=row["cancelled_by"],
            created_at=from_db(row["created_at"]),
            updated_at=from_db(row["updated_at"]),
        )


# -- reception hours ---------------------------------------------------------------------


async def get_reception(db: Database, caseworker_id: int) -> Reception:
    row = await db.fetchone(
        "SELECT weekdays, starts_at, ends_at, slot_minutes, place, latitude, longitude "
        "FROM reception_hours WHERE caseworker_id = ?",
        (caseworker_id,),
    )
    if row is None:
        return Reception()
    return Reception(
        weekdays=frozenset(int(d) for d in row["weekdays"].split(",") if d.strip()),
        starts=time.fromisoformat(row["starts_at"]),
        ends=time.fromisoformat(row["ends_at"]),
        slot_minutes=row["slot_minutes"],
        place=row["place"],
        latitude=row["latitude"],
        longitude=row["longitude"],
    )


async def save_reception(db: Database, caseworker_id: int, reception: Reception) -> None:
    await db.execute(
        "INSERT INTO reception_hours (caseworker_id, weekdays, starts_at, ends_at, slot_minutes, "
        "place, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (caseworker_id) DO UPDATE SET weekdays = excluded.weekdays, "
        "starts_at = excluded.starts_at, ends_at = excluded.ends_at, "
        "slot_minutes = excluded.slot_minutes, place = excluded.place, "
        "latitude = excluded.latitude, longitude = excluded.longitude",
        (
            caseworker_id,
            ",".join(str(d) for d in sorted(reception.weekdays)),
            reception.starts.strftime("%H:%M"),
            reception.ends.strftime("%H:%M"),
            reception.slot_minutes,
            reception.place,
            reception.latitude,
            reception.longitude,
        ),
    )


async def extra_slots(db: Database, caseworker_id: int, since: datetime) -> list[datetime]:
    rows = await db.fetchall(
        "SELECT starts_at FROM reception_extra_slots WHERE caseworker_id = ? AND starts_at >= ? "
        "ORDER BY starts_at",
        (caseworker_id, to_db(since)),
    )
    return [from_db(row["starts_at"]) for row in rows]


async def add_extra_slot(db: Database, caseworker_id: int, starts_at: datetime) -> bool:
    """False when the slot already exists."""
    changed = await db.execute(
        "INSERT INTO reception_extra_slots (caseworker_id, starts_at) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING",
        (caseworker_id, to_db(starts_at)),
    )
    return changed > 0


async def remove_extra_slot(db: Database, caseworker_id: int, starts_at: datetime) -> bool:
    changed = await db.execute(
        "DELETE FROM reception_extra_slots WHERE caseworker_id = ? AND starts_at = ?",
        (caseworker_id, to_db(starts_at)),
    )
    return changed > 0


async def days_off(db: Database, caseworker_id: int, since: date) -> list[date]:
    rows = await db.fetchall(
        "SELECT day FROM reception_days_off WHERE caseworker_id = ? AND day >= ? ORDER BY day",
        (caseworker_id, since.isoformat()),
    )
    return [date.fromisoformat(row["day"]) for row in rows]


async def add_day_off_in(conn: aiosqlite.Connection, caseworker_id: int, day: date) -> bool:
    cursor = await conn.execute(
        "INSERT INTO reception_days_off (caseworker_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (caseworker_id, day.isoformat()),
    )
    return cursor.rowcount > 0


async def remove_day_off(db: Database, caseworker_id: int, day: date) -> bool:
    changed = await db.execute(
        "DELETE FROM reception_days_off WHERE caseworker_id = ? AND day = ?",
        (caseworker_id, day.isoformat()),
    )
    return changed > 0


# -- appointments ------------------------------------------------------------------------

_COLUMNS = (
    "id, uid, client_id, caseworker_id, starts_at, ends_at, place, latitude, longitude, origin, "
    "status, sequence, acknowledged_at, answer, cancelled_by, created_at, updated_at"
)


async def taken_slots(
    db: Database, caseworker_id: int, since: datetime, until: datetime
) -> list[datetime]:
    """Starts of the caseworker's upcoming appointments in [since, until)."""
    rows = await db.fetchall(
        "SELECT starts_at FROM appointments WHERE caseworker_id = ? AND status = 'booked' "
        "AND starts_at >= ? AND starts_at < ?",
        (caseworker_id, to_db(since), to_db(until)),
    )
    return [from_db(row["starts_at"]) for row in rows]


async def busy_spans(
    db: Database, caseworker_id: int, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """(start, end) of the caseworker's upcoming appointments overlapping [since, until)."""
    rows = await db.fetchall(
        "SELECT starts_at, ends_at FROM appointments WHERE caseworker_id = ? "
        "AND status = 'booked' AND starts_at >= ? AND starts_at < ? AND ends_at > ?",
        # Starts from a day before: no appointment is longer than a day.
        (caseworker_id, to_db(since - timedelta(days=1)), to_db(until), to_db(since)),
    )
    return [(from_db(row["starts_at"]), from_db(row["ends_at"])) for row in rows]


async def book_in(
    conn: aiosqlite.Connection,
    *,
    client_id: int,
    caseworker_id: int,
    starts_at: datetime,
    length: timedelta,
    reception: Reception,
    origin: Origin,
    now: datetime,
) -> int:
    """Stores an upcoming appointment; raises SlotTakenError when the slot is held."""
    try:
        cursor = await conn.execute(
            "INSERT INTO appointments (uid, client_id, caseworker_id, starts_at, ends_at, place, "
            "latitude, longitude, origin, acknowledged_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                f"{uuid.uuid4()}@jana-jol",
                client_id,
                caseworker_id,
                to_db(starts_at),
                to_db(starts_at + length),
                reception.place,
                reception.latitude,
                reception.longitude,
                origin.value,
                to_db(now) if origin is Origin.BOOKED else None,
                to_db(now),
                to_db(now),
            ),
        )
    except sqlite3.IntegrityError as error:
        raise SlotTakenError from error
    row = await cursor.fetchone()
    await cursor.close()
    assert row is not None
    return int(row[0])


async def move_in(
    conn: aiosqlite.Connection,
    appointment_id: int,
    *,
    starts_at: datetime,
    length: timedelta,
    reception: Reception,
    now: datetime,
) -> bool:
    """Moves an upcoming appointment to another slot (same UID, SEQUENCE + 1); raises
    SlotTakenError when that slot is held; False when it is no longer upcoming."""
    try:
        cursor = await conn.execute(
            "UPDATE appointments SET starts_at = ?, ends_at = ?, place = ?, latitude = ?, "
            "longitude = ?, sequence = sequence + 1, answer = NULL, updated_at = ? "
            "WHERE id = ? AND status = 'booked'",
            (
                to_db(starts_at),
                to_db(starts_at + length),
                reception.place,
                reception.latitude,
                reception.longitude,
                to_db(now),
                appointment_id,
            ),
        )
    except sqlite3.IntegrityError as error:
        raise SlotTakenError from error
    return cursor.rowcount > 0


async def cancel_in(
    conn: aiosqlite.Connection, appointment_id: int, by: str, now: datetime
) -> bool:
    """False when it was not upcoming."""
    cursor = await conn.execute(
        "UPDATE appointments SET status = 'cancelled', cancelled_by = ?, "
        "sequence = sequence + 1, updated_at = ? WHERE id = ? AND status = 'booked'",
        (by, to_db(now), appointment_id),
    )
    return cursor.rowcount > 0


async def set_outcome_in(
    conn: aiosqlite.Connection, appointment_id: int, status: Status, now: datetime
) -> bool:
    """Attended or no-show (a mark can be corrected); False for a cancelled one."""
    cursor = await conn.execute(
        "UPDATE appointments SET status = ?, updated_at = ? "
        "WHERE id = ? AND status IN ('booked', 'attended', 'no_show')",
        (status.value, to_db(now), appointment_id),
    )
    return cursor.rowcount > 0


async def acknowledge_in(
    conn: aiosqlite.Connection, appointment_id: int, answer: str, now: datetime
) -> bool:
    """Records the client's answer (and the acknowledgement of an assigned visit)."""
    cursor = await conn.execute(
        "UPDATE appointments SET answer = ?, acknowledged_at = coalesce(acknowledged_at, ?), "
        "updated_at = ? WHERE id = ? AND status = 'booked'",
        (answer, to_db(now), to_db(now), appointment_id),
    )
    return cursor.rowcount > 0


async def get(db: Database, appointment_id: int) -> Appointment | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM appointments WHERE id = ?", (appointment_id,))
    return None if row is None else Appointment.from_row(row)


async def get_in(conn: aiosqlite.Connection, appointment_id: int) -> Appointment | None:
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM appointments WHERE id = ?", (appointment_id,)
    )
    row = await cursor.fetchone()
    await cursor.close()
    return None if row is None else Appointment.from_row(row)


async def upcoming_for_client(db: Database, client_id: int, now: datetime) -> list[Appointment]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM appointments WHERE client_id = ? AND status = 'booked' "
        "AND ends_at > ? ORDER BY starts_at",
        (client_id, to_db(now)),
    )
    return [Appointment.from_row(row) for row in rows]


async def booked_between_in(
    conn: aiosqlite.Connection, caseworker_id: int, since: datetime, until: datetime
) -> list[Appointment]:
    """The caseworker's upcoming appointments starting in [since, until) (a day off's)."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM appointments WHERE caseworker_id = ? AND status = 'booked' "
        "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
        (caseworker_id, to_db(since), to_db(until)),
    )
    rows = await cursor.fetchall()
    await cursor.close()
    return [Appointment.from_row(row) for row in rows]


async def agenda(
    db: Database, caseworker_id: int, since: datetime, until: datetime
) -> list[Appointment]:
    """The caseworker's appointments (not cancelled) starting in [since, until), in order."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM appointments WHERE caseworker_id = ? AND status <> 'cancelled' "
        "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
        (caseworker_id, to_db(since), to_db(until)),
    )
    return [Appointment.from_row(row) for row in rows]


async def upcoming_for_client_in(conn: aiosqlite.Connection, client_id: int) -> list[Appointment]:
    """Every upcoming appointment of a client (archiving, reassignment cancel them)."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM appointments WHERE client_id = ? AND status = 'booked' "
        "ORDER BY starts_at",
        (client_id,),
    )
    rows = await cursor.fetchall()
    await cursor.close()
    return [Appointment.from_row(row) for row in rows]


@dataclass(frozen=True)
class Attendance:
    attended: int = 0
    no_shows: int = 0
    last_no_show_at: datetime | None = None


async def attendance(db: Database, client_id: int, since: datetime) -> Attendance:
    """Attended and missed appointments of a client that started since `since`."""
    row = await db.fetchone(
        "SELECT sum(status = 'attended') AS attended, sum(status = 'no_show') AS no_shows, "
        "max(CASE WHEN status = 'no_show' THEN starts_at END) AS last_no_show "
        "FROM appointments WHERE client_id = ? AND starts_at >= ?",
        (client_id, to_db(since)),
    )
    if row is None:
        return Attendance()
    return Attendance(
        attended=row["attended"] or 0,
        no_shows=row["no_shows"] or 0,
        last_no_show_at=None if row["last_no_show"] is None else from_db(row["last_no_show"]),
    )
