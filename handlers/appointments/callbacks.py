"""Callback data shared by the appointment screens (the client's booking, the reminders'
answers, the caseworker's agenda and assigning). Ids and numbers only: every press
re-reads the appointment and checks that the presser may act on it. A screen used by one
module only keeps its own factories beside it (reception.py).

Days are local dates packed as YYYYMMDD; slot starts are UTC Unix seconds. Prefixes carry
a version (docs/architecture.md, Conventions).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


def pack_day(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def unpack_day(value: int) -> date | None:
    """None for a value that is no date (forged data)."""
    try:
        return date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        return None


def pack_moment(moment: datetime) -> int:
    return int(moment.timestamp())


def unpack_moment(value: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- the client booking (a new appointment, or moving `move`: an appointment id) ----------


class BookMonth(CallbackData, prefix="bm1"):
    """The month calendar: only days with free slots can be pressed."""

    year: int
    month: int
    move: int = 0


class BookDay(CallbackData, prefix="bd1"):
    """The free times of one day."""

    day: int
    move: int = 0


class BookSlot(CallbackData, prefix="bs1"):
    """A free time pressed: the confirmation screen (also the next free slots offered after
    a day off or a lost race)."""

    at: int
    move: int = 0


class BookConfirm(CallbackData, prefix="bk1"):
    at: int
    move: int = 0


class MineAction(StrEnum):
    OPEN = "open"  # the appointment with its buttons
    CANCEL = "cancel"  # asks to confirm
    CANCEL_YES = "cancel_yes"
    MOVE = "move"  # opens the booking calendar for a new time


class Mine(CallbackData, prefix="my1"):
    """The client's own appointment."""

    appointment_id: int
    action: MineAction


class Reply(StrEnum):
    """The answers a reminder (or an assigned visit) takes; any of them acknowledges an
    assigned visit. PROBLEM opens the choice of problem."""

    COMING = "coming"
    RESCHEDULE = "reschedule"
    PROBLEM = "problem"
    TRANSPORT = "transport"
    WORK = "work"
    ILLNESS = "illness"
    OTHER = "other"


class ReminderReply(CallbackData, prefix="rr1"):
    appointment_id: int
    reply: Reply


# -- the caseworker -----------------------------------------------------------------------


class AgendaDay(CallbackData, prefix="ag2"):
    """/today and the day picker: the agenda of one local day, `page` of a long one."""

    day: int
    page: int = 0


class Outcome(StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class MarkAttendance(CallbackData, prefix="mk1"):
    appointment_id: int
    outcome: Outcome


class AssignStep(StrEnum):
    DAYS = "days"  # the days with free slots (from the client card)
    DAY = "day"  # the free times of `day`
    SLOT = "slot"  # confirm `at`
    CONFIRM = "confirm"


class AssignVisit(CallbackData, prefix="av1"):
    """A mandatory visit for a client, assigned from their card."""

    client_id: int
    step: AssignStep
    day: int = 0
    at: int = 0
