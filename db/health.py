"""What GET /health reads from the database (bot/health.py): real queries, cheap ones.

Both counts ride on partial indexes of `scheduled_items` (pending rows only), so their
cost follows what is pending, not the 30 days of finished rows kept beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.clock import from_db, to_db
from db.database import Database


@dataclass(frozen=True)
class TimedItems:
    pending: int  # waiting for their time, or for a retry
    overdue: int  # pending, and due more than `late_after` ago: the engine is behind
    oldest_due: datetime | None  # the earliest due time among the overdue ones
    sending: int  # claimed right now (in flight)


async def timed_items(db: Database, overdue_before: datetime) -> TimedItems:
    row = await db.fetchone(
        "SELECT "
        " (SELECT count(*) FROM scheduled_items WHERE status = 'pending'),"
        " (SELECT count(*) FROM scheduled_items WHERE status = 'pending' AND due_at < :cut),"
        " (SELECT min(due_at) FROM scheduled_items WHERE status = 'pending' AND due_at < :cut),"
        " (SELECT count(*) FROM scheduled_items WHERE status = 'sending')",
        {"cut": to_db(overdue_before)},
    )
    assert row is not None  # an aggregate always returns its row
    return TimedItems(
        pending=int(row[0]),
        overdue=int(row[1]),
        oldest_due=None if row[2] is None else from_db(str(row[2])),
        sending=int(row[3]),
    )


async def inbox_waiting(db: Database) -> int:
    """Updates stored and not yet handled (or handled, not yet deleted: under a second)."""
    return int(await db.fetchval("SELECT count(*) FROM inbox") or 0)
