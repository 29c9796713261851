"""Programme statistics: counts over periods, for the whole programme or one caseworker.

Periods are runs of whole local days (`Period`: [first_day, end_day) in a zone); every
timestamp is put on its local day in SQL, each query groups by that day (a few dozen
groups whatever the number of rows), and Python adds the days up per period. The scope:
`caseworker_id` None for the whole programme, else only the clients on that caseworker's
caseload now (their history moves with them when an administrator reassigns them).
Nothing here reads a name or a text: ids and counts only.

What counts:
- check-ins: planned ones (not the extra check-ins a client makes) whose outcome is known
  (answered «I'm fine» or «I need help», or missed), on the day their window opened;
  answered / due is the compliance. An open window not yet answered is not counted yet;
  one whose reminder never went out (cancelled) is not due.
- appointments: on the day they start (were to start); attended, no-show, cancelled.
- broadcasts: recipient rows of broadcasts on the day they started (or were to start):
  delivered, and unreachable (skipped as known unreachable, or refused by Telegram).
- active clients at a moment: linked by then and not archived by then (the archive time
  is the latest `client.archived` in the audit log; a client archived and restored counts
  as active throughout); the moment is a period's end, or now.
- directory use: `dir_usage`, searches and card views per day (no words, no people).

The reads run on a connection of their own (query-only, opened for the call): a
programme's 12 weeks of check-ins are many rows, and the shared reader must not wait
behind them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from db.clock import to_db
from db.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Period:
    """The local days [first_day, end_day)."""

    first_day: date
    end_day: date


@dataclass(frozen=True)
class Counts:
    """What happened in one period (zeros when nothing did)."""

    checkins_due: int = 0
    checkins_answered: int = 0
    appointments_attended: int = 0
    appointments_no_show: int = 0
    appointments_cancelled: int = 0
    broadcasts: int = 0
    broadcast_recipients: int = 0
    broadcast_delivered: int = 0
    broadcast_unreachable: int = 0
    directory_searches: int = 0
    directory_card_views: int = 0
    active_clients: int = 0  # at the period's end (or now, whichever is earlier)


@dataclass(frozen=True)
class Caseload:
    caseworker_id: int
    name: str  # for the administrator's screen only; never written to a file
    active: int
    unreachable: int


@dataclass(frozen=True)
class Current:
    active: int
    unreachable: int  # active clients Telegram no longer delivers to


@asynccontextmanager
async def _reading(db: Database) -> AsyncIterator[aiosqlite.Connection]:
    conn = await aiosqlite.connect(db.path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        for pragma in ("PRAGMA busy_timeout=5000", "PRAGMA query_only=ON"):
            await conn.execute_fetchall(pragma)
        yield conn
    finally:
        await conn.close()


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


class LocalDay:
    """SQL that puts a stored UTC timestamp on its local day in `zone`, between `first` and
    `end` (local days): `date(column, '+300 minutes')` for each stretch of one UTC offset
    (a zone with daylight saving time has several; Kazakhstan one)."""

    def __init__(self, zone: ZoneInfo, first: date, end: date) -> None:
        self.start, self.end = midnight(first, zone), midnight(end, zone)
        stretches: list[tuple[datetime, int]] = []  # (until, offset in minutes)
        moment, offset = self.start, self._offset(self.start, zone)
        while moment < self.end:
            moment += timedelta(hours=1)
            now_offset = self._offset(moment, zone)
            if now_offset != offset or moment >= self.end:
                stretches.append((min(moment, self.end), offset))
                offset = now_offset
        self.stretches = stretches

    @staticmethod
    def _offset(moment: datetime, zone: ZoneInfo) -> int:
        delta = moment.astimezone(zone).utcoffset()
        assert delta is not None
        return int(delta.total_seconds() // 60)

    def sql(self, column: str) -> tuple[str, list[Any]]:
        """The expression and its parameters (in order of appearance)."""
        *earlier, (_, last) = self.stretches
        if not earlier:
            return f"date({column}, ?)", [f"{last:+d} minutes"]
        parts, params = [], []
        for until, offset in earlier:
            parts.append(f"WHEN {column} < ? THEN date({column}, ?)")
            params += [to_db(until), f"{offset:+d} minutes"]
        return f"(CASE {' '.join(parts)} ELSE date({column}, ?) END)", [
            *params,
            f"{last:+d} minutes",
        ]

    @property
    def range(self) -> list[str]:
        return [to_db(self.start), to_db(self.end)]


def _by_day(rows: Sequence[sqlite3.Row]) -> dict[date, sqlite3.Row]:
    return {date.fromisoformat(r["day"]): r for r in rows}


def _scope(column: str, caseworker_id: int | None) -> tuple[str, list[Any]]:
    """A condition keeping the rows whose client (`column`) is on the caseworker's caseload."""
    if caseworker_id is None:
        return "", []
    return (
        f" AND {column} IN (SELECT telegram_id FROM clients WHERE caseworker_id = ?)",
        [caseworker_id],
    )


async def _daily(
    conn: aiosqlite.Connection,
    zone: ZoneInfo,
    first: date,
    end: date,
    caseworker_id: int | None,
    directory: bool,
) -> dict[date, Counter[str]]:
    """Every count but active clients, per local day in [first, end)."""
    local = LocalDay(zone, first, end)
    days: dict[date, Counter[str]] = {}

    def add(day: date, **values: int) -> None:
        days.setdefault(day, Counter()).update(values)

    day, day_params = local.sql("k.opens_at")
    where, s_params = _scope("k.client_id", caseworker_id)
    rows = await conn.execute_fetchall(
        f"SELECT {day} AS day, count(*) AS due, "
        "count(*) FILTER (WHERE k.status IN ('done', 'help')) AS answered FROM checkins k "
        "WHERE k.opens_at >= ? AND k.opens_at < ? AND k.planned_at IS NOT NULL "
        f"AND k.status IN ('done', 'help', 'missed'){where} GROUP BY 1",
        [*day_params, *local.range, *s_params],
    )
    for d, r in _by_day(list(rows)).items():
        add(d, checkins_due=r["due"], checkins_answered=r["answered"])

    day, day_params = local.sql("a.starts_at")
    where, s_params = (
        ("", []) if caseworker_id is None else (" AND a.caseworker_id = ?", [caseworker_id])
    )
    rows = await conn.execute_fetchall(
        f"SELECT {day} AS day, "
        "count(*) FILTER (WHERE a.status = 'attended') AS attended, "
        "count(*) FILTER (WHERE a.status = 'no_show') AS no_show, "
        "count(*) FILTER (WHERE a.status = 'cancelled') AS cancelled FROM appointments a "
        f"WHERE a.starts_at >= ? AND a.starts_at < ?{where} GROUP BY 1",
        [*day_params, *local.range, *s_params],
    )
    for d, r in _by_day(list(rows)).items():
        add(
            d,
            appointments_attended=r["attended"],
            appointments_no_show=r["no_show"],
            appointments_cancelled=r["cancelled"],
        )

    # Per broadcast first (its rows by primary key), then on the broadcast's day.
    day, day_params = local.sql("coalesce(b.started_at, b.send_at)")
    where, s_params = _scope("r.client_id", caseworker_id)
    rows = await conn.execute_fetchall(
        f"SELECT {day} AS day, count(*) AS recipients, "
        "count(*) FILTER (WHERE r.status = 'sent') AS delivered, "
        "count(*) FILTER (WHERE (r.status = 'skipped' AND r.error = 'unreachable') "
        "OR (r.status = 'failed' AND (r.error LIKE 'forbidden:%' "
        "OR r.error = 'chat_not_found'))) AS unreachable "
        "FROM broadcasts b JOIN broadcast_recipients r ON r.broadcast_id = b.id "
        "WHERE b.state <> 'draft' AND coalesce(b.started_at, b.send_at) >= ? "
        f"AND coalesce(b.started_at, b.send_at) < ?{where} GROUP BY b.id",
        [*day_params, *local.range, *s_params],
    )
    for r in rows:
        add(
            date.fromisoformat(r["day"]),
            broadcasts=1,
            broadcast_recipients=r["recipients"],
            broadcast_delivered=r["delivered"],
            broadcast_unreachable=r["unreachable"],
        )

    if directory:
        rows = await conn.execute_fetchall(
            "SELECT day, kind, count FROM dir_usage WHERE day >= ? AND day < ?",
            (first.isoformat(), end.isoformat()),
        )
        for r in rows:
            kind = "directory_searches" if r["kind"] == "search" else "directory_card_views"
            add(date.fromisoformat(r["day"]), **{kind: r["count"]})
    return days


async def _active_at(
    conn: aiosqlite.Connection, moments: Sequence[datetime], caseworker_id: int | None
) -> list[int]:
    """Active clients at each moment (one pass over the clients)."""
    values = ", ".join("(?, ?)" for _ in moments)
    where, s_params = (
        ("", []) if caseworker_id is None else (" AND c.caseworker_id = ?", [caseworker_id])
    )
    rows = await conn.execute_fetchall(
        f"WITH p(i, at) AS (VALUES {values}), "
        "archived(id, at) AS (SELECT subject_id, max(at) FROM audit_log "
        "WHERE action = 'client.archived' AND subject_id IS NOT NULL GROUP BY subject_id) "
        "SELECT p.i, count(*) AS active FROM clients c CROSS JOIN p "
        "LEFT JOIN archived a ON a.id = c.telegram_id "
        "WHERE c.linked_at <= p.at AND (c.status = 'active' OR coalesce(a.at, c.linked_at) >= p.at)"
        f"{where} GROUP BY p.i",
        [x for i, m in enumerate(moments) for x in (i, to_db(m))] + s_params,
    )
    found = {int(r["i"]): int(r["active"]) for r in rows}
    return [found.get(i, 0) for i in range(len(moments))]


async def counts(
    db: Database,
    periods: Sequence[Period],
    zone: ZoneInfo,
    now: datetime,
    *,
    caseworker_id: int | None,
    directory: bool,
) -> list[Counts]:
    """One `Counts` per period, in order, its days local to `zone`. `directory`: count
    directory use too (programme-wide: it belongs to nobody's caseload)."""
    if not periods:
        return []
    first = min(p.first_day for p in periods)
    end = max(p.end_day for p in periods)
    async with _reading(db) as conn:
        days = await _daily(conn, zone, first, end, caseworker_id, directory)
        active = await _active_at(
            conn, [min(midnight(p.end_day, zone), now) for p in periods], caseworker_id
        )
    names = {f.name for f in fields(Counts)}
    result = []
    for period, clients in zip(periods, active, strict=True):
        total: Counter[str] = Counter()
        for day, values in days.items():
            if period.first_day <= day < period.end_day:
                total.update(values)
        result.append(
            Counts(**{k: v for k, v in total.items() if k in names}, active_clients=clients)
        )
    return result


async def current(db: Database, caseworker_id: int | None) -> Current:
    """Active clients now, and those of them Telegram no longer delivers to."""
    where, params = (
        ("", []) if caseworker_id is None else (" AND caseworker_id = ?", [caseworker_id])
    )
    row = await db.fetchone(
        "SELECT count(*) AS active, count(unreachable_since) AS unreachable FROM clients "
        f"WHERE status = 'active'{where}",
        params,
    )
    assert row is not None
    return Current(active=row["active"], unreachable=row["unreachable"])


async def caseloads(db: Database) -> list[Caseload]:
    """Every caseworker with their active clients (administrators' view), by id."""
    rows = await db.fetchall(
        "SELECT u.telegram_id, u.display_name, "
        "count(c.telegram_id) FILTER (WHERE c.status = 'active') AS active, "
        "count(c.unreachable_since) FILTER (WHERE c.status = 'active') AS unreachable "
        "FROM users u LEFT JOIN clients c ON c.caseworker_id = u.telegram_id "
        "WHERE u.role = 'caseworker' GROUP BY u.telegram_id ORDER BY u.telegram_id"
    )
    return [
        Caseload(
            caseworker_id=r["telegram_id"],
            name=r["display_name"] or f"#{r['telegram_id']}",
            active=r["active"],
            unreachable=r["unreachable"],
        )
        for r in rows
    ]


# -- recording directory use -------------------------------------------------------------------

SEARCH = "search"
CARD = "card"


async def count_directory_use(db: Database, kind: str, day: date) -> None:
    """One more search or card view on `day` (local to the programme). A keyed upsert run at
    once on the loop's thread (`write_now`): tens of microseconds, like storing an update."""
    assert kind in (SEARCH, CARD)
    try:
        await db.write_now(
            "INSERT INTO dir_usage (day, kind, count) VALUES (?, ?, 1) "
            "ON CONFLICT (day, kind) DO UPDATE SET count = count + 1",
            (day.isoformat(), kind),
        )
    except sqlite3.Error as exc:  # a statistic is never worth failing a person's answer
        log.warning("Directory use not counted: %s", type(exc).__name__)
