"""A caseworker's working hours (default Mon–Fri 09:00–18:00 in their zone) and the logic on them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.database import Database

_RANGE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})\s*$")


@dataclass(frozen=True)
class WorkingHours:
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: time = time(9, 0)
    closes: time = time(18, 0)

    def is_open(self, moment: datetime, zone: ZoneInfo) -> bool:
        local = moment.astimezone(zone)
        return local.weekday() in self.weekdays and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """The next start of working time after `moment` (None if no working days are set)."""
        local = moment.astimezone(zone)
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            if day.weekday() not in self.weekdays:
                continue
            start = datetime.combine(day, self.opens, tzinfo=zone)
            if start > local:
                return start
        return None


def parse_range(text: str) -> tuple[time, time] | None:
    """'9:00-18:00' → (09:00, 18:00); None when malformed or not increasing."""
    match = _RANGE.match(text or "")
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    opens = time(h1, m1)
    closes = time(23, 59) if h2 == 24 else time(h2, m2)
    return (opens, closes) if opens < closes else None


async def get(db: Database, caseworker_id: int) -> WorkingHours:
    row = await db.fetchone(
        "SELECT weekdays, opens_at, closes_at FROM working_hours WHERE caseworker_id = ?",
        (caseworker_id,),
    )
    if row is None:
        return WorkingHours()
    days = frozenset(int(d) for d in row["weekdays"].split(",") if d.strip())
    return WorkingHours(
        days, time.fromisoformat(row["opens_at"]), time.fromisoformat(row["closes_at"])
    )


async def save(db: Database, caseworker_id: int, hours: WorkingHours) -> None:
    await db.execute(
        "INSERT INTO working_hours (caseworker_id, weekdays, opens_at, closes_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (caseworker_id) DO UPDATE SET weekdays = excluded.weekdays, "
        "opens_at = excluded.opens_at, closes_at = excluded.closes_at",
        (
            caseworker_id,
            ",".join(str(d) for d in sorted(hours.weekdays)),
            hours.opens.strftime("%H:%M"),
            hours.closes.strftime("%H:%M"),
        ),
    )
