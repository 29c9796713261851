"""Appointments, the use cases: book, move, cancel, assign a visit, answer a reminder, mark
attendance, add a day off. Each is one transaction that stores the change with its timed
items (reminders, the acknowledgement check, alerts and news to the client), then wakes
the engine. Nothing here renders text or awaits Telegram (handlers/appointments/ do).

Timed items (their handlers: handlers/appointments/timed.py) are keyed
`appointment:<client>:<appointment id>:<sequence>:<step>`, and their payload names the
client under "client" (privacy erasure finds them). Moving or cancelling an appointment
cancels every pending item under `appointment:<client>:<id>:`, so none arrives for a
cancelled or moved appointment; each handler re-reads the appointment as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiosqlite

from core.reception import (
    AppointmentRules,
    Reception,
    in_working_hours,
    offered_slots,
    reminder_plan,
)
from core.reception import free_slots as pick_free
from core.timecalc import QuietHours, local_instant
from db import appointments, scheduled
from db import working_hours as working_hours_db
from db.appointments import Answer, Appointment, Origin, SlotTakenError, Status
from db.database import Database
from scheduler.engine import Engine

__all__ = ["Answer", "Appointment", "SlotTakenError", "Status"]

MIDNIGHT = time(0, 0)

# The engine kinds of appointments.
REMIND = "appointment.remind"  # to the client: N days / hours before (payload "before": minutes)
ACK_CHECK = "appointment.ack_check"  # to the caseworker: an assigned visit not acknowledged
ALERT = "appointment.alert"  # to the caseworker (else admins): the client cannot come as planned
NEWS = "appointment.news"  # to the client: assigned, moved or cancelled by the office, day off
# To the client: their own booking, move or cancellation confirmed (text, map pin, .ics).
CONFIRMATION = "appointment.confirm"

# What a NEWS item reports (payload "event"); a CONFIRMATION item: BOOKED, MOVED or CANCELLED.
ASSIGNED = "assigned"
CANCELLED = "cancelled"
DAY_OFF = "day_off"
BOOKED = "booked"
MOVED = "moved"


class BookingError(Exception):
    """Why a booking or a change was refused (a code the handler translates)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# Codes of BookingError.
NOT_OFFERED = "not_offered"  # the slot is not (or no longer) among the caseworker's free ones
TOO_LATE = "too_late"  # past the cutoff before the appointment
TOO_MANY = "too_many"  # the client already holds the most upcoming appointments allowed
GONE = "gone"  # cancelled, moved or marked meanwhile


def item_prefix(appointment: Appointment) -> str:
    return f"appointment:{appointment.client_id}:{appointment.id}:"


def item_key(appointment: Appointment, step: str) -> str:
    return f"{item_prefix(appointment)}{appointment.sequence}:{step}"


def alert_key(appointment: Appointment, answer: str, recipient: int | None = None) -> str:
    """An ALERT's key: kept apart from the appointment's items (see answer())."""
    key = f"appointment-alert:{appointment.client_id}:{appointment.id}:{appointment.sequence}:{answer}"
    return key if recipient is None else f"{key}:{recipient}"


def confirm_key(appointment: Appointment, event: str) -> str:
    """A CONFIRMATION item's key: under the appointment's prefix, so a move or cancel right after
    replaces a confirmation still waiting for Telegram with its own."""
    return item_key(appointment, f"confirm-{event}")


@dataclass(frozen=True)
class Reply:
    """The client's own press a change answers: its confirmation is a CONFIRMATION item stored
    with the change, sent at once by the handler (`Engine.deliver_now(confirm_key(...))`)
    and retried by the engine when Telegram refuses it."""

    screen: int | None  # the pressed screen's message id: the confirmation replaces it
    language: str  # the screen's language, the confirmation's too


@dataclass(frozen=True)
class Office:
    """What booking needs to know of a caseworker: their week, reception and zone."""

    caseworker_id: int
    reception: Reception
    week: working_hours_db.WorkingHours
    zone: ZoneInfo


async def office(db: Database, caseworker_id: int, zone: ZoneInfo) -> Office:
    return Office(
        caseworker_id,
        await appointments.get_reception(db, caseworker_id),
        await working_hours_db.get(db, caseworker_id),
        zone,
    )


async def free_slots(
    db: Database, where: Office, first_day: date, last_day: date, earliest: datetime
) -> list[datetime]:
    """The caseworker's free slots on local days first_day..last_day, from `earliest` on."""
    since = local_instant(first_day, MIDNIGHT, where.zone)
    until = local_instant(last_day + timedelta(days=1), MIDNIGHT, where.zone)
    offered = offered_slots(
        where.reception,
        where.week,
        where.zone,
        first_day,
        last_day,
        extra=await appointments.extra_slots(db, where.caseworker_id, since),
        days_off=await appointments.days_off(db, where.caseworker_id, first_day),
    )
    busy = await appointments.busy_spans(db, where.caseworker_id, since, until)
    return pick_free(offered, busy, earliest, where.reception.slot)


async def _is_free(db: Database, where: Office, starts_at: datetime, earliest: datetime) -> bool:
    day = starts_at.astimezone(where.zone).date()
    return starts_at in await free_slots(db, where, day, day, earliest)


async def _plan_in(
    conn: aiosqlite.Connection,
    appointment: Appointment,
    rules: AppointmentRules,
    client_zone: ZoneInfo,
    quiet: QuietHours | None,
    now: datetime,
) -> list[datetime]:
    """Stores the reminders of an appointment (and, for an assigned visit not yet
    acknowledged, the acknowledgement check); returns their due times."""
    dues = []
    for reminder in reminder_plan(appointment.starts_at, now, rules, client_zone, quiet):
        await scheduled.schedule_in(
            conn,
            kind=REMIND,
            recipient_id=appointment.client_id,
            due_at=reminder.due,
            now=now,
            payload={
                "appointment": appointment.id,
                "client": appointment.client_id,
                "before": int(reminder.before.total_seconds() // 60),
                "sequence": appointment.sequence,
            },
            dedupe_key=item_key(appointment, reminder.step),
        )
        dues.append(reminder.due)
    if appointment.origin is Origin.ASSIGNED and appointment.acknowledged_at is None:
        due = min(now + rules.ack_within, appointment.starts_at)
        await scheduled.schedule_in(
            conn,
            kind=ACK_CHECK,
            recipient_id=appointment.caseworker_id,
            due_at=due,
            now=now,
            payload={"appointment": appointment.id, "client": appointment.client_id},
            dedupe_key=item_key(appointment, "ack"),
        )
        dues.append(due)
    return dues


async def _forget_in(
    conn: aiosqlite.Connection, appointment: Appointment, now: datetime, reason: str
) -> None:
    await scheduled.cancel_in(conn, now=now, key_prefix=item_prefix(appointment), reason=reason)


def _poke(engine: Engine | None, dues: list[datetime]) -> None:
    if engine is not None and dues:
        engine.poke(min(dues))


async def _news_in(
    conn: aiosqlite.Connection, appointment: Appointment, event: str, now: datetime
) -> datetime:
    await scheduled.schedule_in(
        conn,
        kind=NEWS,
        recipient_id=appointment.client_id,
        due_at=now,
        now=now,
        payload={"appointment": appointment.id, "client": appointment.client_id, "event": event},
        dedupe_key=item_key(appointment, f"news-{event}"),
    )
    return now


async def _confirm_in(
    conn: aiosqlite.Connection,
    appointment: Appointment,
    event: str,
    reply: Reply | None,
    now: datetime,
) -> None:
    """The client's confirmation, due now. Not poked: the handler delivers it at once, and
    the dispatcher takes it up only when that fails (or the process died before)."""
    if reply is None:
        return
    await scheduled.schedule_in(
        conn,
        kind=CONFIRMATION,
        recipient_id=appointment.client_id,
        due_at=now,
        now=now,
        payload={
            "appointment": appointment.id,
            "client": appointment.client_id,
            "sequence": appointment.sequence,
            "event": event,
            "screen": reply.screen,
            "language": reply.language,
        },
        dedupe_key=confirm_key(appointment, event),
    )


async def book(
    db: Database,
    engine: Engine,
    *,
    client_id: int,
    where: Office,
    starts_at: datetime,
    rules: AppointmentRules,
    client_zone: ZoneInfo,
    quiet: QuietHours | None,
    origin: Origin = Origin.BOOKED,
    reply: Reply | None = None,
) -> Appointment:
    """Books a free slot for a client (or assigns a visit: `origin=ASSIGNED`, which also tells
    the client). Raises SlotTakenError when another booking won the slot, BookingError when the
    slot is not offered, too close, or the client holds too many. With `reply` (the client
    booked it), their confirmation is stored with it (CONFIRMATION, `confirm_key(..., BOOKED)`)."""
    now = engine.now()
    earliest = now + rules.cutoff if origin is Origin.BOOKED else now
    if not await _is_free(db, where, starts_at, earliest):
        raise BookingError(NOT_OFFERED)
    async with db.transaction() as conn:
        if origin is Origin.BOOKED:
            held = await appointments.upcoming_for_client_in(conn, client_id)
            if len(held) >= rules.max_upcoming:
                raise BookingError(TOO_MANY)
        appointment_id = await appointments.book_in(
            conn,
            client_id=client_id,
            caseworker_id=where.caseworker_id,
            starts_at=starts_at,
            length=where.reception.slot,
            reception=where.reception,
            origin=origin,
            now=now,
        )
        appointment = await appointments.get_in(conn, appointment_id)
        assert appointment is not None
        dues = await _plan_in(conn, appointment, rules, client_zone, quiet, now)
        if origin is Origin.ASSIGNED:
            dues.append(await _news_in(conn, appointment, ASSIGNED, now))
        await _confirm_in(conn, appointment, BOOKED, reply, now)
    _poke(engine, dues)
    return appointment


async def move(
    db: Database,
    engine: Engine,
    *,
    appointment: Appointment,
    where: Office,
    starts_at: datetime,
    rules: AppointmentRules,
    client_zone: ZoneInfo,
    quiet: QuietHours | None,
    reply: Reply | None = None,
) -> Appointment:
    """Moves an upcoming appointment to another free slot (same UID, SEQUENCE + 1): its
    reminders (and, with `reply`, the client's confirmation) are planned in the same
    transaction. Raises SlotTakenError or BookingError."""
    now = engine.now()
    if appointment.starts_at - now < rules.cutoff:
        raise BookingError(TOO_LATE)
    if not await _is_free(db, where, starts_at, now + rules.cutoff):
        raise BookingError(NOT_OFFERED)
    async with db.transaction() as conn:
        moved = await appointments.move_in(
            conn,
            appointment.id,
            starts_at=starts_at,
            length=where.reception.slot,
            reception=where.reception,
            now=now,
        )
        if not moved:
            raise BookingError(GONE)
        await _forget_in(conn, appointment, now, "rescheduled")
        updated = await appointments.get_in(conn, appointment.id)
        assert updated is not None
        dues = await _plan_in(conn, updated, rules, client_zone, quiet, now)
        await _confirm_in(conn, updated, MOVED, reply, now)
    _poke(engine, dues)
    return updated


async def cancel(
    db: Database,
    engine: Engine | None,
    *,
    appointment: Appointment,
    by: str,
    rules: AppointmentRules | None = None,
    now: datetime,
    reply: Reply | None = None,
) -> Appointment:
    """Cancels an upcoming appointment with its pending items. A client is held to the
    cutoff (`rules` given) and, with `reply`, gets a confirmation (CONFIRMATION) stored with it;
    the office is not, and the client is then told (NEWS)."""
    if rules is not None and appointment.starts_at - now < rules.cutoff:
        raise BookingError(TOO_LATE)
    dues = []
    async with db.transaction() as conn:
        if not await appointments.cancel_in(conn, appointment.id, by, now):
            raise BookingError(GONE)
        await _forget_in(conn, appointment, now, "cancelled")
        updated = await appointments.get_in(conn, appointment.id)
        assert updated is not None
        if by != "client":
            dues.append(await _news_in(conn, updated, CANCELLED, now))
        await _confirm_in(conn, updated, CANCELLED, reply, now)
    _poke(engine, dues)
    return updated


async def cancel_all_for_client_in(
    conn: aiosqlite.Connection, client_id: int, by: str, now: datetime, *, tell: bool
) -> int:
    """Inside the caller's transaction (archiving, reassignment): cancels a client's upcoming
    appointments and their items; with `tell`, the client gets a NEWS item for each."""
    upcoming = await appointments.upcoming_for_client_in(conn, client_id)
    for appointment in upcoming:
        await appointments.cancel_in(conn, appointment.id, by, now)
        await _forget_in(conn, appointment, now, "cancelled")
        if tell:
            updated = await appointments.get_in(conn, appointment.id)
            assert updated is not None
            await _news_in(conn, updated, CANCELLED, now)
    return len(upcoming)


async def cancel_all_with_caseworker_in(
    conn: aiosqlite.Connection, caseworker_id: int, by: str, now: datetime
) -> int:
    """Inside the caller's transaction (a caseworker removed): cancels every appointment still
    ahead with them, their items too, and tells each client (NEWS). Reassigning clients
    cancels theirs first; this catches any left over (a booking racing the reassignment)."""
    ahead = await appointments.booked_between_in(conn, caseworker_id, now, now + _FAR)
    for appointment in ahead:
        await appointments.cancel_in(conn, appointment.id, by, now)
        await _forget_in(conn, appointment, now, "cancelled")
        updated = await appointments.get_in(conn, appointment.id)
        assert updated is not None
        await _news_in(conn, updated, CANCELLED, now)
    return len(ahead)


_FAR = timedelta(days=3650)


async def answer(
    db: Database,
    engine: Engine,
    *,
    appointment: Appointment,
    given: Answer,
    now: datetime,
) -> bool:
    """Records the client's answer to a reminder or an assigned visit (which acknowledges
    it). Any answer but «I'll be there» stores an alert to the caseworker in the same
    transaction. False when the appointment is no longer upcoming."""
    async with db.transaction() as conn:
        if not await appointments.acknowledge_in(conn, appointment.id, given.value, now):
            return False
        if given is not Answer.COMING:
            await scheduled.schedule_in(
                conn,
                kind=ALERT,
                recipient_id=appointment.caseworker_id,
                due_at=now,
                now=now,
                payload={
                    "appointment": appointment.id,
                    "client": appointment.client_id,
                    "answer": given.value,
                },
                # Not under item_prefix: the move or cancel the client asks for right after
                # must not drop the alert about it.
                dedupe_key=alert_key(appointment, given.value),
                replace=True,
            )
    engine.poke(now)
    return True


async def set_outcome(
    db: Database, appointment: Appointment, status: Status, now: datetime
) -> bool:
    """Marks attended or no-show (a started appointment; a mark may be corrected); its
    remaining items are dropped."""
    if status not in (Status.ATTENDED, Status.NO_SHOW):
        raise ValueError(status)
    if appointment.starts_at > now:
        raise BookingError(NOT_OFFERED)  # not begun yet
    async with db.transaction() as conn:
        if not await appointments.set_outcome_in(conn, appointment.id, status, now):
            return False
        await _forget_in(conn, appointment, now, "marked")
    return True


async def add_day_off(
    db: Database, engine: Engine, *, caseworker_id: int, day: date, zone: ZoneInfo
) -> list[Appointment]:
    """Adds a day off (local to the caseworker). Upcoming appointments on it are cancelled
    in the same transaction, and each client is told and offered the next free slots
    (a NEWS item rendered at send time). Returns the cancelled appointments."""
    now = engine.now()
    since = local_instant(day, MIDNIGHT, zone)
    until = since + timedelta(days=1)
    dues = []
    cancelled = []
    async with db.transaction() as conn:
        await appointments.add_day_off_in(conn, caseworker_id, day)
        for appointment in await appointments.booked_between_in(conn, caseworker_id, since, until):
            if appointment.ends_at <= now:
                continue
            await appointments.cancel_in(conn, appointment.id, "day_off", now)
            await _forget_in(conn, appointment, now, "day_off")
            updated = await appointments.get_in(conn, appointment.id)
            assert updated is not None
            dues.append(await _news_in(conn, updated, DAY_OFF, now))
            cancelled.append(updated)
    _poke(engine, dues)
    return cancelled


def valid_extra_slot(where: Office, starts_at: datetime) -> bool:
    """An extra slot lies inside working hours, like every reception slot."""
    return in_working_hours(starts_at, where.week, where.zone, where.reception.slot)
