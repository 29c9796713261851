"""What the engine reads of the bot's settings, as its own small value.

bot/app.py builds it from `bot.config.Settings` (environment and .env), so the engine,
and the services below the features, depend on no way of loading settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from core.reception import AppointmentRules
from core.timecalc import QuietHours, zone_or_default

DEFAULT_QUIET_HOURS = QuietHours(time(22, 0), time(8, 0))


class LocalRules(Protocol):
    """Each person's local time: their zone and the quiet hours in it. `EngineSettings`
    has them, and so has `bot.config.Settings`, which handlers pass to services."""

    @property
    def quiet(self) -> QuietHours | None: ...

    def zone_for(self, name: str | None) -> ZoneInfo: ...


@dataclass(frozen=True)
class EngineSettings:
    # The language of a recipient who has not chosen one (DEFAULT_LANGUAGE).
    default_language: str = "kk"
    # The zone of a recipient without a valid zone of their own (TIMEZONE).
    timezone: str = "Asia/Almaty"
    # Items handled later than this after their time are "late" (SCHEDULER_LATE_AFTER_SECONDS).
    late_after: timedelta = timedelta(seconds=300)
    # Nothing non-urgent reaches a client inside these local hours (QUIET_HOURS); None: off.
    quiet: QuietHours | None = DEFAULT_QUIET_HOURS
    # Appointment reminders, cutoff, acknowledgement window (APPOINTMENT_* settings).
    appointments: AppointmentRules = field(default_factory=AppointmentRules)

    def zone_for(self, name: str | None) -> ZoneInfo:
        """A person's own zone when they have a valid one, else the default."""
        return zone_or_default(name, self.timezone)
