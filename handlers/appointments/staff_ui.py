"""What the caseworker's appointment screens share (reception.py, agenda.py, assign.py): the
caseworker's zone, a day's bounds in it, short day labels for buttons, and how one
appointment's state reads in a list or on the client card.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.config import Settings
from bot.i18n import N_
from core.timecalc import local_instant
from db.appointments import Answer, Appointment, Origin, Status
from db.users import User
from services.appointments import MIDNIGHT

# Translators: a Babel/CLDR date pattern, not text: EEE is the weekday's short name, d the
# day, MMM the month's short name. A day on a button: keep it short («сс, 1 жел.»).
SHORT_DAY = N_("EEE d MMM")
# Translators: a Babel/CLDR date pattern, not text: EEEE is the weekday's full name, d the
# day, MMMM the month's name. The heading of a day's agenda.
LONG_DAY = N_("EEEE d MMMM")


def zone_of(settings: Settings, user: User) -> ZoneInfo:
    """The caseworker's zone: their days and reception times are read in it."""
    return settings.zone_for(user.timezone)


def today(zone: ZoneInfo, now: datetime) -> date:
    return now.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day in UTC."""
    start = local_instant(day, MIDNIGHT, zone)
    return start, local_instant(day + timedelta(days=1), MIDNIGHT, zone)


def short_day(day: date, locale: str) -> str:
    return str(format_date(day, _(SHORT_DAY), locale=locale))


def long_day(day: date, locale: str) -> str:
    return str(format_date(day, _(LONG_DAY), locale=locale))


def hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def unacknowledged(appointment: Appointment) -> bool:
    """An assigned visit the client has not acknowledged yet (flagged ⚠️)."""
    return (
        appointment.origin is Origin.ASSIGNED
        and appointment.acknowledged_at is None
        and appointment.status is Status.BOOKED
    )


def state_mark(appointment: Appointment, now: datetime) -> str:
    """How an appointment stands, for the agenda: came, missed, to be marked, not
    acknowledged, a problem reported, or nothing to say."""
    if appointment.status is Status.ATTENDED:
        return _("✅ came")
    if appointment.status is Status.NO_SHOW:
        return _("❌ did not come")
    if appointment.starts_at <= now:
        return _("⏳ mark attendance")
    if unacknowledged(appointment):
        return _("⚠️ not acknowledged")
    if appointment.answer == Answer.RESCHEDULE:
        return _("🔁 asks for another time")
    if appointment.answer not in (None, Answer.COMING):
        return _("❗ reported a problem")
    return ""
