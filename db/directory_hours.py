"""Opening hours: parsing the CSV notation, and "open now" with breaks and overnight hours.

Notation (a small subset of OpenStreetMap's opening_hours, readable in a spreadsheet):

    24/7
    Mo-Fr 09:00-13:00,14:00-18:00; Sa 10:00-14:00
    Mo-Su 08:00-20:00; Su off
    Fr-Sa 22:00-02:00          (closes after midnight, on the next day)

Rules are separated by ";". A rule names days (Mo Tu We Th Fr Sa Su, ranges such as
Mo-Fr or Sa-Mo, lists such as Mo,We) and then time ranges separated by "," (a gap
between two ranges is a break), or "off". A later rule replaces earlier ones for the
days it names. An empty value means the hours are unknown.

Intervals are minutes from the start of their weekday (0 = Monday); an interval that
ends after midnight has closes > 1440 and runs into the next day.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.text import N_

DAY_CODES = ("mo", "tu", "we", "th", "fr", "sa", "su")
MINUTES_PER_DAY = 24 * 60
_TIME_RANGE_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_ALWAYS = "24/7"


class HoursError(ValueError):
    """The hours text cannot be read; `reason` is an N_() msgid, `params` fill it."""

    def __init__(self, reason: str, **params: str) -> None:
        super().__init__(reason.format(**params))
        self.reason = reason
        self.params = params


@dataclass(frozen=True, order=True)
class Interval:
    weekday: int  # 0 = Monday
    opens: int  # minutes after midnight
    closes: int  # minutes after that day's midnight; > 1440 runs into the next day


def _days(spec: str) -> list[int]:
    days: list[int] = []
    for part in spec.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAY_CODES or last not in DAY_CODES:
                raise HoursError(
                    N_("unknown day in “{text}” (use Mo Tu We Th Fr Sa Su)"), text=part
                )
            start, end = DAY_CODES.index(first), DAY_CODES.index(last)
            span = (end - start) % 7 + 1
            days.extend((start + i) % 7 for i in range(span))
        elif part in DAY_CODES:
            days.append(DAY_CODES.index(part))
        else:
            raise HoursError(N_("unknown day in “{text}” (use Mo Tu We Th Fr Sa Su)"), text=part)
    return days


def _time_range(text: str) -> tuple[int, int]:
    match = _TIME_RANGE_RE.match(text.strip())
    if match is None:
        raise HoursError(N_("cannot read the time range “{text}” (write 09:00-18:00)"), text=text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise HoursError(N_("“{text}” is not a time of day"), text=text.strip())
    opens, closes = h1 * 60 + m1, h2 * 60 + m2
    if closes == opens:
        raise HoursError(N_("“{text}” opens and closes at the same time"), text=text.strip())
    if closes < opens:
        closes += MINUTES_PER_DAY  # overnight: closes the next day
    return opens, closes


def normalize_hours(text: str) -> str:
    """The stored form of an hours value: whitespace collapsed, nothing else changed."""
    return " ".join(text.split())


def parse_hours(text: str) -> list[Interval]:
    """Intervals of a week, sorted; [] for an empty value. Raises HoursError."""
    text = normalize_hours(text)
    if not text:
        return []
    if text.lower() == _ALWAYS:
        return [Interval(day, 0, MINUTES_PER_DAY) for day in range(7)]
    week: dict[int, list[tuple[int, int]]] = {}
    for rule in text.split(";"):
        rule = rule.strip()
        if not rule:
            continue
        days_spec, _, times_spec = rule.partition(" ")
        if not times_spec.strip():
            raise HoursError(
                N_("the rule “{text}” needs days and times, e.g. Mo-Fr 09:00-18:00"), text=rule
            )
        days = _days(days_spec)
        if times_spec.strip().lower() == "off":
            ranges: list[tuple[int, int]] = []
        else:
            ranges = sorted(_time_range(part) for part in times_spec.split(","))
            for (_, end), (start, _) in itertools.pairwise(ranges):
                if start < end:
                    raise HoursError(N_("time ranges overlap in “{text}”"), text=rule)
        for day in days:
            week[day] = ranges
    # An overnight interval must not run into the next day's first opening.
    for day, ranges in week.items():
        if ranges and ranges[-1][1] > MINUTES_PER_DAY:
            spill = ranges[-1][1] - MINUTES_PER_DAY
            following = week.get((day + 1) % 7) or []
            if following and following[0][0] < spill:
                raise HoursError(
                    N_("hours after midnight overlap the next day in “{text}”"), text=text
                )
    return sorted(Interval(day, o, c) for day, ranges in week.items() for o, c in ranges)


def always_open(intervals: list[Interval]) -> bool:
    covered = {i.weekday for i in intervals if i.opens == 0 and i.closes >= MINUTES_PER_DAY}
    return len(covered) == 7


@dataclass(frozen=True)
class OpenState:
    is_open: bool
    change_at: datetime | None  # when it closes (if open) or opens (if closed); None: never


def open_state(intervals: list[Interval], now: datetime) -> OpenState | None:
    """Open or closed at the local wall-clock time `now`, and until when. None if hours unknown."""
    if not intervals:
        return None
    if always_open(intervals):
        return OpenState(True, None)
    local = now.replace(tzinfo=None, second=0, microsecond=0)
    today = local.replace(hour=0, minute=0)
    spans: list[tuple[datetime, datetime]] = []
    # Yesterday's overnight hours reach into today; a week ahead finds the next opening.
    for offset in range(-1, 8):
        day = today + timedelta(days=offset)
        for interval in intervals:
            if interval.weekday == day.weekday():
                spans.append(
                    (
                        day + timedelta(minutes=interval.opens),
                        day + timedelta(minutes=interval.closes),
                    )
                )
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    for start, end in merged:
        if start <= local < end:
            return OpenState(True, end)
        if start > local:
            return OpenState(False, start)
    return OpenState(False, None)


def week_table(intervals: list[Interval]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Runs of consecutive weekdays with the same hours: (first day, last day, ranges)."""
    by_day: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
    for interval in intervals:
        by_day[interval.weekday].append((interval.opens, interval.closes))
    runs: list[tuple[int, int, list[tuple[int, int]]]] = []
    for day in range(7):
        ranges = sorted(by_day[day])
        if runs and runs[-1][2] == ranges and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day, ranges)
        else:
            runs.append((day, day, ranges))
    return runs


def clock(minutes: int) -> str:
    """'HH:MM' for minutes after midnight (an overnight close shows the next day's time)."""
    if minutes == MINUTES_PER_DAY:
        return "24:00"
    minutes %= MINUTES_PER_DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
