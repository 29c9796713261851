"""Problem reports on directory entries: a client says what is wrong, admins resolve it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from db import audit
from db.clock import now_db, to_db, utcnow
from db.database import Database
from db.directory import Texts, valid_id

# Stored codes; the bot shows each with its own label.
REASONS = ("closed", "phone", "address", "hours", "refused", "other")
MAX_COMMENT = 500
MAX_REPORTS_PER_DAY = 5


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"  # this person already has an open report on this entry
    LIMITED = "limited"  # too many reports from this person today
    GONE = "gone"  # the entry no longer exists or is hidden


@dataclass(frozen=True)
class Report:
    id: int
    entry_id: int
    entry_external_id: str
    entry_name: Texts
    reason: str
    comment: str
    created_at: str
    resolved_at: str | None


_SELECT = (
    "SELECT r.id, r.entry_id, r.reason, r.comment, r.created_at, r.resolved_at, "
    "e.external_id, e.name_kk, e.name_ru, e.name_en "
    "FROM dir_report r JOIN dir_entry e ON e.id = r.entry_id"
)


def _report(row: sqlite3.Row) -> Report:
    return Report(
        id=row["id"],
        entry_id=row["entry_id"],
        entry_external_id=row["external_id"],
        entry_name=Texts.of(row, "name"),
        reason=row["reason"],
        comment=row["comment"],
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
    )


async def add(
    db: Database, entry_id: int, reporter_id: int, reason: str, comment: str
) -> tuple[Outcome, int | None]:
    """Store a report unless it repeats an open one or the person is over today's limit."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    if not valid_id(entry_id):
        return Outcome.GONE, None
    comment = " ".join(comment.split())[:MAX_COMMENT]
    since = to_db(utcnow() - timedelta(days=1))
    async with db.transaction() as conn:
        visible = await (
            await conn.execute("SELECT 1 FROM dir_entry WHERE id = ? AND hidden = 0", (entry_id,))
        ).fetchone()
        if visible is None:
            return Outcome.GONE, None
        same = await (
            await conn.execute(
                "SELECT id FROM dir_report WHERE entry_id = ? AND reporter_id = ? "
                "AND resolved_at IS NULL",
                (entry_id, reporter_id),
            )
        ).fetchone()
        if same is not None:
            return Outcome.DUPLICATE, int(same[0])
        today = await (
            await conn.execute(
                "SELECT COUNT(*) FROM dir_report WHERE reporter_id = ? AND created_at >= ?",
                (reporter_id, since),
            )
        ).fetchone()
        if today is not None and today[0] >= MAX_REPORTS_PER_DAY:
            return Outcome.LIMITED, None
        cursor = await conn.execute(
            "INSERT INTO dir_report (entry_id, reporter_id, reason, comment, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (entry_id, reporter_id, reason, comment, now_db()),
        )
        row = await cursor.fetchone()
        assert row is not None
        return Outcome.CREATED, int(row[0])


async def get(db: Database, report_id: int) -> Report | None:
    if not valid_id(report_id):
        return None
    row = await db.fetchone(f"{_SELECT} WHERE r.id = ?", (report_id,))
    return None if row is None else _report(row)


async def open_reports(db: Database, limit: int = 10) -> tuple[list[Report], int]:
    """The oldest open reports first (they have waited longest), and how many are open."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE r.resolved_at IS NULL ORDER BY r.id LIMIT ?", (limit,)
    )
    total = await db.fetchval("SELECT COUNT(*) FROM dir_report WHERE resolved_at IS NULL")
    return [_report(r) for r in rows], int(total or 0)


async def resolve(db: Database, report_id: int, *, actor_id: int) -> Report | None:
    """Mark a report resolved; None if there is no such open report."""
    if not valid_id(report_id):
        return None
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE dir_report SET resolved_at = ?, resolved_by = ? "
            "WHERE id = ? AND resolved_at IS NULL RETURNING entry_id",
            (now_db(), actor_id, report_id),
        )
        rows = list(await cursor.fetchall())
        if not rows:
            return None
        row = rows[0]
        await audit.record(
            conn, "directory.report_resolved", actor_id=actor_id, report=report_id, entry=row[0]
        )
    return await get(db, report_id)
