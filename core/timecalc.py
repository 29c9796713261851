"""Pure time arithmetic: stored instants are UTC, people live in their own zone.

Every function takes and returns aware datetimes and converts through zoneinfo (tzdata),
never a fixed offset, so Kazakhstan's move to UTC+5 on 2024-03-01 and other zones' DST
are handled by the zone database. Local times that do not exist (a spring-forward gap)
resolve to the same wall-clock reading after the gap (fold=0, e.g. 02:30 -> 03:30);
repeated local times (fall back) resolve to their first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_or_default(name: str | None, default: str) -> ZoneInfo:
    """The person's zone if it is a known IANA name, else the service default."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def parse_hhmm(text: str) -> time:
    """'08:00' -> time(8, 0); raises ValueError on anything else."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        raise ValueError(f"expected HH:MM, got {text!r}")
    return time(int(hours), int(minutes))


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware datetime")


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone` (gaps and folds as above)."""
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)


def next_local_time(
    after: datetime,
    at: time,
    zone: ZoneInfo,
    weekdays: Iterable[int] | None = None,
) -> datetime:
    """The first instant strictly after `after` when the clock in `zone` shows `at`.

    `weekdays` (Monday=0 ... Sunday=6) restricts the days; None means every day.
    Returns UTC.
    """
    _require_aware(after)
    allowed = set(range(7)) if weekdays is None else set(weekdays)
    if not allowed or not allowed <= set(range(7)):
        raise ValueError("weekdays must be a non-empty subset of 0..6")
    day = after.astimezone(zone).date() - timedelta(days=1)  # a gap may pull today's time back
    for _ in range(10):  # at most 7 days ahead, plus the day before and slack
        if day.weekday() in allowed:
            candidate = local_instant(day, at, zone)
            if candidate > after:
                return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: some allowed weekday lies within 9 days")


def next_every_n_days(after: datetime, at: time, zone: ZoneInfo, anchor: date, n: int) -> datetime:
    """The first instant strictly after `after` showing `at` in `zone` on anchor + k*n days."""
    _require_aware(after)
    if n < 1:
        raise ValueError("n must be at least 1")
    today = after.astimezone(zone).date()
    offset = (today - anchor).days - 1  # start a day early, as in next_local_time
    k = max(0, -(-offset // n))  # ceil(offset / n), never before the anchor
    while True:
        candidate = local_instant(anchor + timedelta(days=k * n), at, zone)
        if candidate > after:
            return candidate
        k += 1


@dataclass(frozen=True)
class QuietHours:
    """A nightly window, e.g. 22:00-08:00, when nothing non-urgent reaches a person."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """'22:00-08:00' -> QuietHours; '' or 'off' -> None (no quiet hours)."""
        text = text.strip()
        if text.lower() in ("", "off", "none"):
            return None
        first, sep, second = text.partition("-")
        if not sep:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        quiet = cls(parse_hhmm(first), parse_hhmm(second))
        if quiet.start == quiet.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return quiet

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        """Is wall-clock `local` inside [start, end)? Handles windows across midnight."""
        local = local.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def in_quiet_hours(moment: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> bool:
    _require_aware(moment)
    return quiet is not None and quiet.contains(moment.astimezone(zone).time())


def outside_quiet_hours(moment: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """`moment` if it is outside quiet hours in `zone`, else the end of that quiet period (UTC).

    22:30 -> 08:00 the next morning; 03:00 -> 08:00 the same morning.
    """
    _require_aware(moment)
    if not in_quiet_hours(moment, zone, quiet):
        return moment.astimezone(UTC)
    assert quiet is not None
    return next_local_time(moment, quiet.end, zone)
