"""Programme statistics: counts over periods, for the whole programme or one caseworker.

Every function takes the periods to count over as `Period`s (UTC instants for the stored
timestamps, local dates for the per-day directory counts) and a scope: `caseworker_id`
None for the whole programme, else only the clients on that caseworker's caseload now
(their history moves with them when an administrator reassigns them). Nothing here reads
a name or a text: ids and counts only.

What counts:
- check-ins: planned ones (not the extra check-ins a client makes) whose outcome is known
  (answered «I'm fine» or «I need help», or missed), by when their window opened;
  answered / due is the compliance. An open window not yet answered is not counted yet;
  one whose reminder never went out (cancelled) is not due.
- appointments: by their start; attended, no-show, cancelled (by anyone).
- broadcasts: recipient rows of broadcasts that started (or were to start) in the period:
  delivered, and unreachable (skipped as known unreachable, or refused by Telegram).
- active clients at a moment: linked before it and not archived by then (the archive time
  is the latest `client.archived` in the audit log; a client archived and restored counts
  as active throughout).
- directory use: `dir_usage`, searches and card views per day (no words, no people).

The reads run on a connection of their own (query-only, opened for the call): a programme's
12 weeks of check-ins are many rows, and the shared reader must not wait behind them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite

from db.clock import to_db
from db.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Period:
    """[start, end) as UTC instants, and the local days it covers ([first_day, end_day))."""

    start: datetime
    end: datetime
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


def _periods_cte(periods: Sequence[Period], now: datetime) -> tuple[str, list[Any]]:
    """`p(i, s, e, d0, d1, at)`: each period's index, bounds, days and its moment for
    "active at" (its end, or now if that is earlier)."""
    rows = ", ".join("(?, ?, ?, ?, ?, ?)" for _ in periods)
    params: list[Any] = []
    for i, p in enumerate(periods):
        params += [
            i,
            to_db(p.start),
            to_db(p.end),
            p.first_day.isoformat(),
            p.end_day.isoformat(),
            to_db(min(p.end, now)),
        ]
    return f"p(i, s, e, d0, d1, at) AS (VALUES {rows})", params


def _scope(column: str, caseworker_id: int | None) -> tuple[str, list[Any]]:
    """A condition keeping the rows whose client (`column`) is on the caseworker's caseload."""
    if caseworker_id is None:
        return "", []
    return (
        f" AND {column} IN (SELECT telegram_id FROM clients WHERE caseworker_id = ?)",
        [caseworker_id],
    )


async def _by_period(
    conn: aiosqlite.Connection, sql: str, params: Sequence[Any]
) -> dict[int, sqlite3.Row]:
    rows = await conn.execute_fetchall(sql, params)
    return {int(r["i"]): r for r in rows}


async def counts(
    db: Database,
    periods: Sequence[Period],
    now: datetime,
    *,
    caseworker_id: int | None,
    directory: bool,
) -> list[Counts]:
    """One `Counts` per period, in order. `directory`: count directory use (programme-wide;
    it belongs to nobody's caseload)."""
    if not periods:
        return []
    cte, p_params = _periods_cte(periods, now)
    first = to_db(min(p.start for p in periods))
    last = to_db(max(p.end for p in periods))
    async with _reading(db) as conn:
        where, s_params = _scope("k.client_id", caseworker_id)
        # CROSS JOIN keeps the check-ins outside (one range scan on their opening), the few
        # periods inside.
        checkins = await _by_period(
            conn,
            f"WITH {cte} SELECT p.i, count(*) AS due, "
            "count(*) FILTER (WHERE k.status IN ('done', 'help')) AS answered "
            "FROM checkins k CROSS JOIN p "
            "WHERE k.opens_at >= ? AND k.opens_at < ? AND k.opens_at >= p.s AND k.opens_at < p.e "
            "AND k.planned_at IS NOT NULL AND k.status IN ('done', 'help', 'missed')"
            f"{where} GROUP BY p.i",
            [*p_params, first, last, *s_params],
        )
        if caseworker_id is None:
            where, s_params = "", []
        else:
            where, s_params = " AND a.caseworker_id = ?", [caseworker_id]
        appointments = await _by_period(
            conn,
            f"WITH {cte} SELECT p.i, "
            "count(*) FILTER (WHERE a.status = 'attended') AS attended, "
            "count(*) FILTER (WHERE a.status = 'no_show') AS no_show, "
            "count(*) FILTER (WHERE a.status = 'cancelled') AS cancelled "
            "FROM appointments a CROSS JOIN p "
            "WHERE a.starts_at >= ? AND a.starts_at < ? AND a.starts_at >= p.s AND a.starts_at < p.e"
            f"{where} GROUP BY p.i",
            [*p_params, first, last, *s_params],
        )
        where, s_params = _scope("r.client_id", caseworker_id)
        reach = await _by_period(
            conn,
            f"WITH {cte}, b AS (SELECT id, coalesce(started_at, send_at) AS at FROM broadcasts "
            "WHERE state <> 'draft' AND coalesce(started_at, send_at) >= ? "
            "AND coalesce(started_at, send_at) < ?) "
            "SELECT p.i, count(DISTINCT b.id) AS broadcasts, count(*) AS recipients, "
            "count(*) FILTER (WHERE r.status = 'sent') AS delivered, "
            "count(*) FILTER (WHERE (r.status = 'skipped' AND r.error = 'unreachable') "
            "OR (r.status = 'failed' AND (r.error LIKE 'forbidden:%' "
            "OR r.error = 'chat_not_found'))) AS unreachable "
            "FROM b CROSS JOIN p JOIN broadcast_recipients r ON r.broadcast_id = b.id "
            f"WHERE b.at >= p.s AND b.at < p.e{where} GROUP BY p.i",
            [*p_params, first, last, *s_params],
        )
        if caseworker_id is None:
            where, s_params = "", []
        else:
            where, s_params = " AND c.caseworker_id = ?", [caseworker_id]
        active = await _by_period(
            conn,
            f"WITH {cte}, archived(id, at) AS (SELECT subject_id, max(at) FROM audit_log "
            "WHERE action = 'client.archived' AND subject_id IS NOT NULL GROUP BY subject_id) "
            "SELECT p.i, count(*) AS active FROM clients c CROSS JOIN p "
            "LEFT JOIN archived a ON a.id = c.telegram_id "
            "WHERE c.linked_at <= p.at AND (c.status = 'active' "
            "OR coalesce(a.at, c.linked_at) >= p.at)"
            f"{where} GROUP BY p.i",
            [*p_params, *s_params],
        )
        usage: dict[int, sqlite3.Row] = {}
        if directory:
            usage = await _by_period(
                conn,
                f"WITH {cte} SELECT p.i, "
                "coalesce(sum(u.count) FILTER (WHERE u.kind = 'search'), 0) AS searches, "
                "coalesce(sum(u.count) FILTER (WHERE u.kind = 'card'), 0) AS cards "
                "FROM dir_usage u CROSS JOIN p WHERE u.day >= p.d0 AND u.day < p.d1 GROUP BY p.i",
                p_params,
            )
    result: list[Counts] = []
    for i in range(len(periods)):
        k, a, r, c, u = (
            checkins.get(i),
            appointments.get(i),
            reach.get(i),
            active.get(i),
            usage.get(i),
        )
        result.append(
            Counts(
                checkins_due=k["due"] if k else 0,
                checkins_answered=k["answered"] if k else 0,
                appointments_attended=a["attended"] if a else 0,
                appointments_no_show=a["no_show"] if a else 0,
                appointments_cancelled=a["cancelled"] if a else 0,
                broadcasts=r["broadcasts"] if r else 0,
                broadcast_recipients=r["recipients"] if r else 0,
                broadcast_delivered=r["delivered"] if r else 0,
                broadcast_unreachable=r["unreachable"] if r else 0,
                directory_searches=u["searches"] if u else 0,
                directory_card_views=u["cards"] if u else 0,
                active_clients=c["active"] if c else 0,
            )
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
