"""The caseworker's check-in schedule editor: its callback data, the draft kept between
steps, and its screens (pure functions: text and keyboard from what was read).

Prefixes carry a version: changing a callback's fields bumps it, and buttons sent with the
old one get «This button is no longer active» (see handlers/client_card.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import get_day_names

from bot.config import Settings
from bot.i18n import say_when
from db.checkins import CheckinSchedule
from db.clients import Client
from handlers.checkins.planning import describe
from handlers.client_card import ClientCard


class ScheduleMenu(CallbackData, prefix="sm1"):
    """Opens the client's check-in schedule (from the card: replaces the card)."""

    client_id: int


class ScheduleStep(StrEnum):
    DAILY = "daily"  # pick a time
    WEEKDAYS = "weekdays"  # pick days, then NEXT, then a time
    EVERY_N = "every_n"  # a number of days, then a time
    NEXT = "next"  # the days are chosen: now the time
    WINDOW = "window"  # hours to answer
    LOCATION = "location"  # ask for the location: on/off
    PAUSE = "pause"
    RESUME = "resume"


class ScheduleAction(CallbackData, prefix="sa1"):
    client_id: int
    action: ScheduleStep


class ScheduleDay(CallbackData, prefix="sd1"):
    client_id: int
    day: int  # 0 = Monday


class Pattern(StrEnum):
    """As stored in checkin_schedules.pattern."""

    DAILY = "daily"
    WEEKDAYS = "weekdays"
    EVERY_N_DAYS = "every_n_days"


@dataclass(frozen=True)
class ScheduleDraft:
    """What the editor remembers between a button and the typed answer (the FSM data)."""

    client_id: int
    pattern: Pattern = Pattern.DAILY
    weekdays: frozenset[int] = frozenset()
    every_n: int = 1

    def to_data(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "pattern": self.pattern.value,
            "weekdays": sorted(self.weekdays),
            "every_n": self.every_n,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ScheduleDraft | None:
        """The draft, or None when the data is not one (another conversation's, or none)."""
        try:
            return cls(
                client_id=int(data["client_id"]),
                pattern=Pattern(data.get("pattern", Pattern.DAILY)),
                weekdays=frozenset(int(d) for d in data.get("weekdays", ()) if 0 <= int(d) <= 6),
                every_n=int(data.get("every_n", 1)),
            )
        except (KeyError, TypeError, ValueError):
            return None


def schedule_text(
    client: Client,
    schedule: CheckinSchedule | None,
    upcoming: datetime | None,
    zone: ZoneInfo,
    settings: Settings,
    locale: str,
) -> str:
    lines = [
        _("⏰ <b>Check-ins for {name}</b>").format(name=html.quote(client.name)),
        _("Schedule: {schedule}").format(schedule=describe(schedule, locale)),
    ]
    if schedule is not None:
        lines.append(_("Window to answer: {hours} h").format(hours=schedule.window_hours))
        lines.append(
            _("Location asked: yes") if schedule.request_location else _("Location asked: no")
        )
        if upcoming is not None:
            lines.append(_("Next: {when}.").format(when=say_when(upcoming, zone)))
    lines.append(_("Times are the client's local time."))
    if settings.quiet is not None:
        lines.append(
            _("Nothing is sent between {start} and {end}: a check-in then moves to {end}.").format(
                start=f"{settings.quiet.start:%H:%M}", end=f"{settings.quiet.end:%H:%M}"
            )
        )
    return "\n".join(lines)


def schedule_keyboard(client_id: int, schedule: CheckinSchedule | None) -> InlineKeyboardMarkup:
    def action(step: ScheduleStep) -> ScheduleAction:
        return ScheduleAction(client_id=client_id, action=step)

    builder = InlineKeyboardBuilder()
    builder.button(text=_("📅 Every day"), callback_data=action(ScheduleStep.DAILY))
    builder.button(text=_("🗓 Chosen weekdays"), callback_data=action(ScheduleStep.WEEKDAYS))
    builder.button(text=_("🔁 Every N days"), callback_data=action(ScheduleStep.EVERY_N))
    sizes = [3]
    if schedule is not None:
        builder.button(text=_("⏱ Time to answer"), callback_data=action(ScheduleStep.WINDOW))
        builder.button(
            text=_("📍 Location: on") if schedule.request_location else _("📍 Location: off"),
            callback_data=action(ScheduleStep.LOCATION),
        )
        if schedule.paused:
            builder.button(text=_("▶️ Resume"), callback_data=action(ScheduleStep.RESUME))
        else:
            builder.button(text=_("⏸ Pause"), callback_data=action(ScheduleStep.PAUSE))
        sizes.append(3)
    builder.button(
        text=_("⬅️ Back to card"), callback_data=ClientCard(client_id=client_id, edit=True)
    )
    sizes.append(1)
    builder.adjust(*sizes)
    return builder.as_markup()


def days_keyboard(client_id: int, chosen: frozenset[int], locale: str) -> InlineKeyboardMarkup:
    names = get_day_names("abbreviated", locale=locale)
    builder = InlineKeyboardBuilder()
    for day in range(7):
        mark = "✅" if day in chosen else "▫️"
        builder.button(
            text=f"{mark} {names[day]}", callback_data=ScheduleDay(client_id=client_id, day=day)
        )
    builder.button(
        text=_("Next ▶️"),
        callback_data=ScheduleAction(client_id=client_id, action=ScheduleStep.NEXT),
    )
    builder.adjust(4, 3, 1)
    return builder.as_markup()
