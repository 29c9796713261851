"""Reception hours and appointments, the pure part: which slots a caseworker offers, and when
an appointment's reminders are due. No database, no Telegram: db/appointments.py reads the
inputs, services/appointments.py stores the results.

Reception lies inside working hours (one model of a caseworker's week, db/working_hours.py):
a reception day is offered only when it is also a working day, and only the part of the
reception time inside the working time. Days off remove every slot of that day, extra
slots included. All instants are aware UTC datetimes; days and times are the caseworker's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from core.timecalc import QuietHours, in_quiet_hours, local_instant, outside_quiet_hours

SLOT_LENGTHS = (15, 20, 30, 45, 60)  # minutes a caseworker can choose from


class WorkingWeek(Protocol):
    """A caseworker's working hours (db.working_hours.WorkingHours has these)."""

    @property
    def weekdays(self) -> frozenset[int]: ...

    @property
    def opens(self) -> time: ...

    @property
    def closes(self) -> time: ...


@dataclass(frozen=True)
class Reception:
    weekdays: frozenset[int] = frozenset()  # Monday = 0; empty: no weekly reception
    starts: time = time(10, 0)
    ends: time = time(13, 0)
    slot_minutes: int = 30
    place: str = ""  # the address as the caseworker wrote it
    latitude: float | None = None
    longitude: float | None = None

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def window(self, week: WorkingWeek) -> tuple[time, time] | None:
        """Reception time inside working time, or None if they do not overlap."""
        starts, ends = max(self.starts, week.opens), min(self.ends, week.closes)
        return (starts, ends) if starts < ends else None

    def days(self, week: WorkingWeek) -> frozenset[int]:
        """Weekdays with reception: reception days that are working days."""
        return self.weekdays & week.weekdays


@dataclass(frozen=True)
class AppointmentRules:
    """Per office (settings): reminders before an appointment, the cutoff for cancelling or
    rescheduling, how long an assigned visit may wait for the client's acknowledgement."""

    reminders: tuple[timedelta, ...] = (
        timedelta(days=7),
        timedelta(days=3),
        timedelta(days=1),
        timedelta(hours=2),
    )
    cutoff: timedelta = timedelta(hours=2)
    ack_within: timedelta = timedelta(hours=24)
    # Reminders this close to the appointment ring even in quiet hours (the 2-hour one).
    urgent_within: timedelta = timedelta(hours=2)
    # The reminder this long before carries the address, a plan prompt and what missing means.
    day_before: timedelta = timedelta(days=1)
    horizon_days: int = 60  # how far ahead a client may book
    max_upcoming: int = 3  # upcoming appointments a client may hold at once


def in_working_hours(
    moment: datetime, week: WorkingWeek, zone: ZoneInfo, length: timedelta
) -> bool:
    """Whether [moment, moment + length) lies inside one working day's hours."""
    local = moment.astimezone(zone)
    end = (moment + length).astimezone(zone)
    return (
        local.weekday() in week.weekdays
        and end.date() == local.date()
        and week.opens <= local.time()
        and end.time() <= week.closes
    )


def _weekly(
    reception: Reception, week: WorkingWeek, zone: ZoneInfo, day: date
) -> Iterator[datetime]:
    if day.weekday() not in reception.days(week):
        return
    window = reception.window(week)
    if window is None:
        return
    moment = local_instant(day, window[0], zone)
    end = local_instant(day, window[1], zone)
    while moment + reception.slot <= end:
        yield moment
        moment += reception.slot


def offered_slots(
    reception: Reception,
    week: WorkingWeek,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    *,
    extra: Iterable[datetime] = (),
    days_off: Iterable[date] = (),
) -> list[datetime]:
    """Every slot start (UTC) the caseworker offers on local days first_day..last_day
    (inclusive), taken or not, sorted."""
    off = set(days_off)
    slots: set[datetime] = set()
    day = first_day
    while day <= last_day:
        if day not in off:
            slots.update(_weekly(reception, week, zone, day))
        day += timedelta(days=1)
    for moment in extra:
        local_day = moment.astimezone(zone).date()
        if first_day <= local_day <= last_day and local_day not in off:
            slots.add(moment)
    return sorted(slots)


def free_slots(
    offered: Iterable[datetime],
    busy: Iterable[tuple[datetime, datetime]],
    earliest: datetime,
    length: timedelta,
) -> list[datetime]:
    """The offered slots starting at or after `earliest` (now + the cutoff) that overlap no
    booked appointment (start, end). Overlap, not equal starts: an appointment booked before
    the slot length changed lies across the new grid."""
    spans = sorted(busy)
    free = []
    first = 0  # spans before this index end before every later slot
    for slot in sorted(offered):
        if slot < earliest:
            continue
        end = slot + length
        while first < len(spans) and spans[first][1] <= slot:
            first += 1
        clash = False
        for starts, ends in spans[first:]:
            if starts >= end:
                break
            if ends > slot:
                clash = True
                break
        if not clash:
            free.append(slot)
    return free


@dataclass(frozen=True)
class Reminder:
    before: timedelta  # how long before the appointment it was meant to be
    due: datetime  # when it is stored for (after quiet hours where they apply)

    @property
    def step(self) -> str:
        """A stable name for its dedupe key: minutes before ('m1440')."""
        return f"m{int(self.before.total_seconds() // 60)}"


def reminder_plan(
    starts: datetime,
    booked_at: datetime,
    rules: AppointmentRules,
    zone: ZoneInfo,
    quiet: QuietHours | None,
) -> list[Reminder]:
    """The reminders of an appointment starting at `starts`, booked (or moved) at `booked_at`:
    each only when booked further ahead than it; those not urgent are moved out of the
    client's quiet hours, and dropped if that would bring them to the appointment itself."""
    plan = []
    for before in sorted(set(rules.reminders), reverse=True):
        due = starts - before
        if due <= booked_at:
            continue
        if before > rules.urgent_within and in_quiet_hours(due, zone, quiet):
            due = outside_quiet_hours(due, zone, quiet)
            if due >= starts - rules.urgent_within:
                continue
        plan.append(Reminder(before, due))
    return plan


_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """'7d,3d,1d,2h' → the reminder offsets; '' → none. Raises ValueError with the reason."""
    offsets = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        number, unit = part[:-1], part[-1:]
        if unit not in _UNITS or not number.isdigit() or int(number) == 0:
            raise ValueError(
                f"{part!r}: write each reminder as a number and d, h or m, e.g. 7d,1d,2h"
            )
        offsets.append(int(number) * _UNITS[unit])
    if len(offsets) > 6:
        raise ValueError("at most 6 reminders")
    return tuple(sorted(set(offsets), reverse=True))


def month_days(year: int, month: int) -> tuple[date, date]:
    """The first and last day of a month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)
