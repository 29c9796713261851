"""Programme statistics, shared by /stats and `python -m bot stats --csv`.

The periods are whole days local to a zone (the viewer's in the bot, TIMEZONE on the
command line): the last 12 weeks, Monday to Monday (the current week is the last, still
running), and the rolling windows "last 7 days" and "last 28 days" (today and the days
before it). The counting is in `db/stats.py`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from db import stats
from db.database import Database
from db.stats import Caseload, Counts, Current, Period

WEEKS = 12
WINDOWS = (7, 28)  # days


@dataclass(frozen=True)
class Week:
    start: date  # a Monday, local
    counts: Counts


@dataclass(frozen=True)
class Stats:
    caseworker_id: int | None  # None: the whole programme
    now: datetime
    zone: ZoneInfo
    current: Current
    windows: dict[int, Counts]  # by number of days
    weeks: list[Week]  # oldest first, the current week last
    caseloads: list[Caseload] | None  # per caseworker: the whole programme's view only


def week_periods(now: datetime, zone: ZoneInfo, weeks: int = WEEKS) -> list[Period]:
    """The last `weeks` weeks (Monday to Monday, local days), oldest first."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    return [Period(start, start + timedelta(weeks=1)) for start in starts]


def window_period(now: datetime, zone: ZoneInfo, days: int) -> Period:
    """Today and the `days - 1` days before it."""
    today = now.astimezone(zone).date()
    return Period(today - timedelta(days=days - 1), today + timedelta(days=1))


async def collect(
    db: Database, *, caseworker_id: int | None, zone: ZoneInfo, now: datetime
) -> Stats:
    """The figures one person may see: a caseworker's own clients, or (None) the programme."""
    programme = caseworker_id is None
    weeks = week_periods(now, zone)
    windows = [window_period(now, zone, days) for days in WINDOWS]
    counted = await stats.counts(
        db, [*weeks, *windows], zone, now, caseworker_id=caseworker_id, directory=programme
    )
    return Stats(
        caseworker_id=caseworker_id,
        now=now,
        zone=zone,
        current=await stats.current(db, caseworker_id),
        windows=dict(zip(WINDOWS, counted[len(weeks) :], strict=True)),
        weeks=[Week(p.first_day, c) for p, c in zip(weeks, counted[: len(weeks)], strict=True)],
        caseloads=await stats.caseloads(db) if programme else None,
    )


def compliance(counts: Counts) -> float | None:
    """Answered / due, 0..1; None when nothing was due."""
    if not counts.checkins_due:
        return None
    return counts.checkins_answered / counts.checkins_due


# -- CSV --------------------------------------------------------------------------------------

COUNT_COLUMNS = [f.name for f in fields(Counts)]
CSV_COLUMNS = ["period", "start", "end", "caseworker_id", "unreachable_clients", *COUNT_COLUMNS]


def csv_text(result: Stats) -> str:
    """One table, ids and counts only (no names): a row per week (`week`), the rolling
    windows (`last_7_days`, `last_28_days`), the totals now (`now`) and, for the whole
    programme, one `now` row per caseworker. Dates are local to the zone the figures were
    counted in; `end` is exclusive."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    scope = "" if result.caseworker_id is None else result.caseworker_id
    for week in result.weeks:
        writer.writerow(
            {
                "period": "week",
                "start": week.start.isoformat(),
                "end": (week.start + timedelta(weeks=1)).isoformat(),
                "caseworker_id": scope,
                **asdict(week.counts),
            }
        )
    today = result.now.astimezone(result.zone).date()
    for days, counts in result.windows.items():
        writer.writerow(
            {
                "period": f"last_{days}_days",
                "start": (today - timedelta(days=days - 1)).isoformat(),
                "end": (today + timedelta(days=1)).isoformat(),
                "caseworker_id": scope,
                **asdict(counts),
            }
        )
    writer.writerow(
        {
            "period": "now",
            "start": today.isoformat(),
            "caseworker_id": scope,
            "active_clients": result.current.active,
            "unreachable_clients": result.current.unreachable,
        }
    )
    for load in result.caseloads or []:
        writer.writerow(
            {
                "period": "now",
                "start": today.isoformat(),
                "caseworker_id": load.caseworker_id,
                "active_clients": load.active,
                "unreachable_clients": load.unreachable,
            }
        )
    return out.getvalue()
